'use strict';

// wsrs with `engine: 'native'` as a benchmark server: the same server body
// as wsrs.js (./ws-like.js), but Rust (tokio) owns the listening socket and
// the connections, on an I/O thread of its own inside this process. The
// orchestrator pins the whole process, that thread included, to the server's
// CPU, and reads CPU time and RSS for the whole process.
//
// A wsrs without the native engine would ignore the `engine` option and
// serve from a Node socket, so once the server listens this script checks
// that Node holds no listening TCP socket of its own (nothing else in this
// process listens), and refuses to run if it does. See ./common.js.

const { start } = require('./common');
const { runWsLike } = require('./ws-like');

/**
 * Why the server is not the native engine, or `null` if it is.
 *
 * @param {Object} wss The server
 * @return {(String|null)} The problem
 */
function notNative(wss) {
  if (typeof process.getActiveResourcesInfo !== 'function') return null;
  if (process.getActiveResourcesInfo().includes('TCPServerWrap')) {
    return (
      "engine: 'native' was not honoured: the listening socket is a Node " +
      'one (TCPServerWrap), so this build of wsrs has no native engine'
    );
  }
  const address = wss.address();
  if (!address || typeof address.port !== 'number' || address.port === 0) {
    return `engine: 'native': wss.address() gave no port (${JSON.stringify(address)})`;
  }
  return null;
}

start((opts) => {
  const WebSocket = require('../..');
  runWsLike(
    WebSocket,
    {
      impl: 'wsrs',
      engine: 'native',
      version: require('../../package.json').version
    },
    opts,
    { serverOptions: { engine: 'native' }, check: notNative }
  );
});
