/** Whether `buffer` is valid UTF-8; utf-8-validate 6's export. */
declare function isValidUTF8(buffer: ArrayBufferView): boolean;
export = isValidUTF8;
