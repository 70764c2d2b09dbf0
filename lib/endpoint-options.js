'use strict';

// What every endpoint, client or server side, takes from its options.

const { initFlow } = require('./flow/flow');

/**
 * Take over the per-connection settings of the (server or merged client)
 * options: the keepalive replies and the closing timeout, then the send flow
 * control.
 *
 * @param {WebSocket} ws The endpoint
 * @param {Object} options The options
 * @public
 */
function adoptOptions(ws, options) {
  ws._autoPong = options.autoPong;
  ws._closeTimeout = options.closeTimeout;
  ws._maxPendingAutoPongs = options.maxPendingAutoPongs | 0;
  initFlow(ws, options);
}

module.exports = { adoptOptions };
