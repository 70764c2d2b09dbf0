'use strict';

// `wsrs -l <port>`: serve WebSocket clients, print what each one sends, and
// send typed (or piped) lines to every connected client.

const net = require('net');
const readline = require('readline');

const { WebSocketServer } = require('../..');
const { createPrompt } = require('./output');
const { describeClose, parseLine, perform } = require('./session');

// How long shutting down waits for clients to finish their closing handshake.
const SHUTDOWN_GRACE = 2000;

/**
 * Describe why the server could not listen.
 *
 * @param {Error} err The `'error'` of the server
 * @param {String} where The address and port asked for
 * @return {String} One line
 */
function describeListenError(err, where) {
  switch (err.code) {
    case 'EADDRINUSE':
      return `${where} is already in use`;
    case 'EACCES':
      return `permission denied to listen on ${where}`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: no such local address`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host ${err.hostname || where}`;
    default:
      return `cannot listen on ${where}: ${err.message}`;
  }
}

/**
 * Format an address and port for display.
 *
 * @param {String} address An IP address
 * @param {Number} port The port
 * @return {String} E.g. `127.0.0.1:8080` or `[::1]:8080`
 */
function hostPort(address, port) {
  return net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Run a server session until Ctrl+C, SIGTERM, or Ctrl+D on a terminal.
 *
 * @param {Object} config What `index.js` resolved from the command line
 * @param {Number} config.port The port (0 picks a free one)
 * @param {String} [config.host] The address to bind
 * @param {String[]} config.protocols The subprotocols to accept
 * @param {Boolean} config.deflate Whether to accept permessage-deflate
 * @param {Boolean} config.slash Whether slash commands are on
 * @param {Boolean} config.showPingPong Whether to print pings and pongs
 * @param {Object} io `{ stdin, stdout, printer, signals }`
 * @return {Promise<Number>} The exit status
 */
function runListen(config, io) {
  const { stdin, stdout, printer, signals } = io;
  const terminal = Boolean(stdin.isTTY && stdout.isTTY);
  const echo = !terminal && Boolean(stdout.isTTY);

  return new Promise((resolve) => {
    const clients = new Map();
    let listening = false;
    let stopping = false;
    let serverClosed = false;
    let stopTimer = null;
    let finished = false;
    let rl = null;
    let count = 0;

    const options = {
      port: config.port,
      host: config.host,
      perMessageDeflate: config.deflate,
      closeTimeout: SHUTDOWN_GRACE
    };

    if (config.protocols.length > 0) {
      options.handleProtocols = (offered) => {
        for (const name of offered) {
          if (config.protocols.includes(name)) return name;
        }
        return false;
      };
    }

    const wss = new WebSocketServer(options);

    /**
     * End the session with an exit status (once).
     *
     * @param {Number} status The exit status
     */
    const finish = (status) => {
      if (finished) return;
      finished = true;
      clearTimeout(stopTimer);
      signals.removeListener('SIGINT', onInterrupt);
      signals.removeListener('SIGTERM', stop);
      printer.attach(null);
      if (rl) rl.close();
      resolve(status);
    };

    /**
     * Finish once stopping, the server is closed and every client has
     * reported its close.
     */
    const maybeStopped = () => {
      if (stopping && serverClosed && clients.size === 0) {
        clearTimeout(stopTimer);
        finish(0);
      }
    };

    /**
     * Close every client (1001), stop the server, then finish.
     */
    function stop() {
      if (stopping) return;
      stopping = true;

      for (const ws of clients.keys()) ws.close(1001, 'server shutting down');

      // Clients that do not answer in time are cut off.
      stopTimer = setTimeout(() => {
        for (const ws of clients.keys()) ws.terminate();
        finish(0);
      }, SHUTDOWN_GRACE + 500);

      wss.close(() => {
        serverClosed = true;
        maybeStopped();
      });
    }

    /**
     * Ctrl+C: stop politely the first time, at once the second time.
     */
    function onInterrupt() {
      if (!stopping) {
        stop();
        return;
      }
      for (const ws of clients.keys()) ws.terminate();
      finish(130);
    }

    /**
     * Name a client in a message line when several are connected.
     *
     * @param {Number} id The client's number
     * @return {(String|undefined)} E.g. `[#2]`
     */
    const tagFor = (id) => (clients.size > 1 ? `[#${id}]` : undefined);

    /**
     * Send (or carry out) one line of input on every connected client.
     *
     * @param {String} line The line
     */
    const handleLine = (line) => {
      const action = parseLine(line, config.slash);
      const open = [...clients.keys()].filter(
        (ws) => ws.readyState === ws.OPEN
      );

      if (open.length === 0) {
        printer.warning(`no client is connected; not sent: ${line}`);
        return;
      }

      for (const ws of open) {
        const problem = perform(ws, action);

        if (problem) {
          printer.warning(problem);
          return;
        }
      }

      if (echo && action.type === 'text') printer.sent(action.data);
    };

    signals.on('SIGINT', onInterrupt);
    signals.on('SIGTERM', stop);

    wss.on('error', (err) => {
      if (listening) {
        printer.warning(err.message);
        return;
      }
      const where = hostPort(config.host || '*', config.port);

      printer.error(describeListenError(err, where));
      finish(1);
    });

    wss.on('listening', () => {
      listening = true;

      const { address, port } = wss.address();
      const hint = stdin.isTTY ? ' (press CTRL+C to quit)' : '';

      printer.notice(`listening on ws://${hostPort(address, port)}${hint}`);

      if (terminal) {
        rl = createPrompt({
          input: stdin,
          output: stdout,
          printer,
          onLine: handleLine,
          onInterrupt,
          isFinished: () => finished
        });
        // Ctrl+D stops the server; the end of piped input does not.
        rl.on('close', () => {
          printer.attach(null);
          if (!finished) stop();
        });
        rl.prompt();
      } else {
        rl = readline.createInterface({
          input: stdin,
          terminal: false,
          crlfDelay: Infinity
        });
        rl.on('line', handleLine);
      }
    });

    wss.on('connection', (ws, req) => {
      const id = ++count;
      const from = hostPort(req.socket.remoteAddress, req.socket.remotePort);
      const details = [`from ${from}`];

      if (req.url && req.url !== '/') details.push(`path ${req.url}`);
      if (ws.protocol) details.push(`subprotocol ${ws.protocol}`);

      clients.set(ws, id);
      printer.notice(`client #${id} connected (${details.join(', ')})`);

      if (stopping) ws.close(1001, 'server shutting down');

      ws.on('message', (data, isBinary) => {
        printer.received(data, isBinary, tagFor(id));
      });
      ws.on('ping', (data) => {
        if (config.showPingPong) printer.control('ping', data, tagFor(id));
      });
      ws.on('pong', (data) => {
        if (config.showPingPong) printer.control('pong', data, tagFor(id));
      });
      ws.on('error', (err) => {
        printer.warning(`client #${id}: ${err.message}`);
      });
      ws.on('close', (code, reason) => {
        clients.delete(ws);
        printer.notice(
          `client #${id} disconnected (${describeClose(code, reason)})`
        );
        maybeStopped();
      });
    });
  });
}

module.exports = { runListen };
