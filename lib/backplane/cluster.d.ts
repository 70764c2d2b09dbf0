// Types of `require('wsrs/cluster')`; the declarations are in index.d.ts.
import WebSocket = require('../../index');

export import ClusterBackplane = WebSocket.ClusterBackplane;
