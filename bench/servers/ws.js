'use strict';

// ws 8 as a benchmark server. The orchestrator runs it twice: as is (with
// bufferutil and utf-8-validate, which ws loads when installed) and with
// WS_NO_BUFFER_UTIL=1 WS_NO_UTF_8_VALIDATE=1. See ./common.js.

const { start } = require('./common');
const { runWsLike } = require('./ws-like');

start((opts) => {
  const WebSocket = require('ws');
  runWsLike(
    WebSocket,
    { impl: 'ws', version: require('ws/package.json').version },
    opts
  );
});
