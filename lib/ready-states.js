'use strict';

// `WebSocket#readyState` values, defined once for every module that checks
// them (EventSource numbers its states the same way, as faye-websocket
// does). They live apart from lib/constants.js, whose exports are exactly
// ws's.

module.exports = Object.freeze({
  /** The handshake is in progress. */
  CONNECTING: 0,
  /** Messages can be sent and received. */
  OPEN: 1,
  /** The closing handshake is in progress. */
  CLOSING: 2,
  /** The connection is closed. */
  CLOSED: 3
});
