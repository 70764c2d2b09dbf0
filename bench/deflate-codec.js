'use strict';

/*
 * The compressor's cost per message as connections grow (issue 18).
 *
 *   node bench/deflate-codec.js [--messages N] [--conns 10,200,2000]
 *
 * For each count of connections, that many server-side PerMessageDeflate
 * instances (ws's default negotiation, then with server_no_context_takeover)
 * compress 1 KiB JSON messages in turn, in this thread. More connections
 * than the thread's stream cache holds make each message prime a stream
 * from its history. Prints microseconds per message; compare two checkouts
 * in one run by passing `--root <checkout>`.
 */

const path = require('path');

const { JSON_MESSAGE, option } = require('./deflate-common');

const root = path.resolve(option('root', path.join(__dirname, '..')));
const PerMessageDeflate = require(path.join(root, 'lib', 'permessage-deflate'));
const MESSAGES = Number(option('messages', '100000'));
const COUNTS = option('conns', '10,200,2000').split(',').map(Number);
const MESSAGE = Buffer.from(JSON_MESSAGE);

/**
 * Microseconds per message for `conns` connections.
 *
 * @param {Number} conns How many
 * @param {Boolean} nct Whether the server resets its context
 * @return {Number}
 */
function run(conns, nct) {
  const list = [];
  for (let i = 0; i < conns; i++) {
    const pmd = new PerMessageDeflate({
      isServer: true,
      serverNoContextTakeover: nct
    });
    pmd.accept([{}]);
    list.push(pmd);
  }
  const start = process.hrtime.bigint();
  for (let k = 0; k < MESSAGES; k++) {
    list[k % conns]._deflater().engine.compress(MESSAGE, true);
  }
  return Number(process.hrtime.bigint() - start) / MESSAGES / 1000;
}

console.log(`${root}: compress, 1 KiB JSON, us per message`);
for (const conns of COUNTS) {
  console.log(
    `${String(conns).padStart(6)} connections: context takeover ` +
      `${run(conns, false).toFixed(2)}, no context takeover ${run(conns, true).toFixed(2)}`
  );
}
