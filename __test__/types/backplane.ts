// The backplanes (wsrs/redis, wsrs/cluster) as applications use them.
// Compiled by __test__/types.test.js, never run.

import WebSocket = require('wsrs');
import { RedisBackplane } from 'wsrs/redis';
import { ClusterBackplane } from 'wsrs/cluster';

const backplane = new RedisBackplane({
  url: 'redis://127.0.0.1:6379',
  prefix: 'chat',
  nodeTimeout: 5000
});
const wss = new WebSocket.WebSocketServer({ port: 0, backplane });

backplane.on('down', () => {});
backplane.on('error', (err: Error) => void err.message);

async function presence(): Promise<void> {
  const count: number = await backplane.count('room');
  const nodes = await backplane.nodes();
  const pid: number = nodes[0].pid;
  const dropped: number = backplane.stats.dropped;

  void [count, pid, dropped];
}

const sent: number = wss.publish('room', 'hi', { local: true });
const all: number = wss.broadcast(Buffer.from([1]), { binary: true });
const same: WebSocket.Backplane | null = wss.backplane;

ClusterBackplane.setupPrimary();
const worker = new ClusterBackplane({ prefix: 'chat' });
const other = new WebSocket.WebSocketServer({
  noServer: true,
  backplane: worker
});

// @ts-expect-error: a backplane takes a url or a client, not a number
new RedisBackplane({ url: 6379 });

void [presence, sent, all, same, other];
