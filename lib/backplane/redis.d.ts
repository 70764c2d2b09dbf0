// Types of `require('wsrs/redis')`; the declarations are in index.d.ts.
import WebSocket = require('../../index');

export import RedisBackplane = WebSocket.RedisBackplane;
export type RedisBackplaneOptions = WebSocket.RedisBackplaneOptions;
