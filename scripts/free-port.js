'use strict';

const net = require('net');

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it).
 *
 * @return {Promise<Number>} The port
 */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();

    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();

      server.close(() => resolve(port));
    });
  });
}

module.exports = freePort;
