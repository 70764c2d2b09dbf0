'use strict';

// What both modes share: turning a typed (or piped) line into an action, and
// describing close codes.

/**
 * Interpret one line of input.
 *
 * Without `--slash` every line is a text message. With it, `/ping [data]`,
 * `/pong [data]` and `/close [code] [reason]` are control commands (wscat's
 * `/close code, reason` form works too), `//text` sends `/text`, and any
 * other `/word` is an unknown command.
 *
 * @param {String} line The line, without its newline
 * @param {Boolean} slash Whether `--slash` was given
 * @return {Object} `{ type: 'text', data }`, `{ type: 'ping' | 'pong', data }`,
 *     `{ type: 'close', code, reason }` or `{ type: 'unknown', name }`
 */
function parseLine(line, slash) {
  if (!slash || line[0] !== '/') return { type: 'text', data: line };
  if (line[1] === '/') return { type: 'text', data: line.slice(1) };

  const match = /^\/(\S*)\s?([\s\S]*)$/.exec(line);
  const name = match[1];
  const rest = match[2];

  if (name === 'ping' || name === 'pong') return { type: name, data: rest };

  if (name === 'close') {
    const args = /^\s*(\S+)?\s*,?\s*([\s\S]*)$/.exec(rest);
    const result = { type: 'close', code: undefined, reason: '' };

    if (args[1] !== undefined) {
      const code = args[1].replace(/,$/, '');

      result.code = /^\d+$/.test(code) ? Number(code) : NaN;
      result.codeText = code;
      result.reason = args[2];
    }

    return result;
  }

  return { type: 'unknown', name };
}

/**
 * Carry out a parsed line on one WebSocket.
 *
 * @param {WebSocket} ws An open WebSocket
 * @param {Object} action What `parseLine()` returned
 * @param {Function} [sent] Called (without arguments) when a message or a
 *     control frame has been written, or failed to be
 * @return {(String|undefined)} A problem to report, if the action could not
 *     be carried out
 */
function perform(ws, action, sent) {
  const done = sent || (() => {});

  try {
    switch (action.type) {
      case 'text':
        ws.send(action.data, done);
        return undefined;
      case 'ping':
        ws.ping(action.data, undefined, done);
        return undefined;
      case 'pong':
        ws.pong(action.data, undefined, done);
        return undefined;
      case 'close':
        // Checked here because a WebSocket that throws from `close()` is
        // already left in the CLOSING state.
        if (action.code !== undefined && !isSendableCode(action.code)) {
          return (
            `invalid close code '${action.codeText}' ` +
            '(use 1000-1003, 1007-1014 or 3000-4999)'
          );
        }
        if (Buffer.byteLength(action.reason) > 123) {
          return 'the close reason is longer than 123 bytes';
        }
        ws.close(action.code, action.reason);
        return undefined;
      default:
        return (
          `unknown command /${action.name} ` +
          '(known: /ping, /pong, /close; "//" sends a "/")'
        );
    }
  } catch (err) {
    return err.message;
  }
}

/**
 * Tell whether a close code may be put in a close frame.
 *
 * @param {Number} code The code
 * @return {Boolean} `true` when RFC 6455 allows sending it
 */
function isSendableCode(code) {
  if (code >= 3000) return code <= 4999;
  // 1004 is reserved, 1005 and 1006 are only ever reported, never sent.
  return code >= 1000 && code <= 1014 && (code < 1004 || code > 1006);
}

/**
 * Tell whether a close code reports a failure: an abnormal end (1006) or one
 * of the error codes of RFC 6455 (1002, 1003, 1007 and up). Normal closes
 * (1000, 1001, none) and application codes (3000-4999) are not failures.
 *
 * @param {Number} code The code received in (or assumed for) the close frame
 * @return {Boolean} `true` for a failure
 */
function isErrorClose(code) {
  return code >= 1002 && code <= 2999 && code !== 1005;
}

/**
 * Describe a close code and reason for a status line.
 *
 * @param {Number} code The close code
 * @param {(Buffer|String)} reason The close reason
 * @return {String} E.g. `code 1000, reason "bye"`
 */
function describeClose(code, reason) {
  const text = String(reason || '');

  if (code === 1005) return 'no close code';
  if (code === 1006) return 'code 1006, closed abnormally';
  return text ? `code ${code}, reason ${JSON.stringify(text)}` : `code ${code}`;
}

module.exports = { describeClose, isErrorClose, parseLine, perform };
