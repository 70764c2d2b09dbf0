'use strict';

// What the deflate benchmarks (deflate-memory.js, deflate-codec.js,
// deflate-stall.js) share: their `--name value` arguments and the 1 KiB
// JSON message they send.

/**
 * The value of a `--name value` argument.
 *
 * @param {String} name The option
 * @param {String} fallback Its default
 * @return {String}
 */
function option(name, fallback) {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
}

// 1 KiB of JSON (1,064 bytes), over ws's default compression threshold.
const JSON_MESSAGE = JSON.stringify({
  id: 1,
  type: 'update',
  items: Array.from({ length: 18 }, (_, i) => ({
    key: `item-${i}`,
    value: i * 37,
    label: 'lorem ipsum dolor'
  }))
});

module.exports = { JSON_MESSAGE, option };
