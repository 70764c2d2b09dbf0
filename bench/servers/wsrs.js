'use strict';

// wsrs (this repository) as a benchmark server. See ./common.js.

const { start } = require('./common');
const { runWsLike } = require('./ws-like');

start((opts) => {
  const WebSocket = require('../..');
  runWsLike(
    WebSocket,
    { impl: 'wsrs', version: require('../../package.json').version },
    opts
  );
});
