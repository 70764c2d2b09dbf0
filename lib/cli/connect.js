'use strict';

// `wsrs -c <url>`: connect, then send what is typed (a terminal), piped (a
// file or a pipe) or given with -x, and print what arrives.

const readline = require('readline');

const WebSocket = require('../..');
const { describeError } = require('./errors');
const { createPrompt } = require('./output');
const {
  describeClose,
  isErrorClose,
  parseLine,
  perform
} = require('./session');

// Piped input is read ahead of the socket by at most this many lines.
const HIGH_WATER = 1024;
const LOW_WATER = 64;

/**
 * Run a client session.
 *
 * @param {Object} config What `index.js` resolved from the command line
 * @param {String} config.url The URL to connect to
 * @param {String} config.target `host:port` or the socket path, for errors
 * @param {String[]} config.protocols The subprotocols to offer
 * @param {Object} config.wsOptions Options for the `WebSocket` constructor
 * @param {String[]} config.execute The `-x` messages (empty without -x)
 * @param {Number} config.wait Milliseconds to wait for replies
 * @param {Boolean} config.slash Whether slash commands are on
 * @param {Boolean} config.showPingPong Whether to print pings and pongs
 * @param {Object} io `{ stdin, stdout, printer, signals }`; `signals` is the
 *     emitter of SIGINT (the process)
 * @return {Promise<Number>} The exit status
 */
function runConnect(config, io) {
  const { stdin, stdout, printer, signals } = io;
  const interactive = Boolean(stdin.isTTY) && config.execute.length === 0;
  const terminal = interactive && Boolean(stdout.isTTY);
  const piped = !interactive && config.execute.length === 0;
  // Where the prompt does not show what was sent, echo it on a terminal.
  const echo = !terminal && Boolean(stdout.isTTY);

  return new Promise((resolve) => {
    const queue = [];
    let ws;
    let rl = null;
    let opened = false;
    let finished = false;
    let failure = null;
    let closingByUs = false;
    let inputEnded = false;
    let pending = 0;
    let waitTimer = null;
    let interrupts = 0;

    /**
     * End the session with an exit status (once).
     *
     * @param {Number} status The exit status
     */
    const finish = (status) => {
      if (finished) return;
      finished = true;
      clearTimeout(waitTimer);
      signals.removeListener('SIGINT', onInterrupt);
      printer.attach(null);
      if (rl) rl.close();
      resolve(status);
    };

    /**
     * Start our side of the closing handshake, if it is not under way.
     */
    const closeNow = () => {
      clearTimeout(waitTimer);
      if (ws.readyState === WebSocket.OPEN) {
        closingByUs = true;
        ws.close(1000);
      }
    };

    /**
     * Ctrl+C: close politely the first time, give up the second time.
     */
    function onInterrupt() {
      interrupts++;
      if (!opened || interrupts > 1 || ws.readyState !== WebSocket.OPEN) {
        ws.terminate();
        finish(130);
        return;
      }
      closeNow();
    }

    /**
     * Called whenever a send completes: resume the input, and start the final
     * wait once everything has gone out.
     */
    const drained = () => {
      pending--;
      if (rl && piped && pending < LOW_WATER) rl.resume();
      maybeWindDown();
    };

    /**
     * Send (or carry out) one line of input.
     *
     * @param {String} line The line
     */
    const handleLine = (line) => {
      if (ws.readyState !== WebSocket.OPEN) {
        printer.warning(`not connected; not sent: ${line}`);
        return;
      }

      const action = parseLine(line, config.slash);

      pending++;
      const problem = perform(ws, action, drained);

      if (problem) {
        pending--;
        printer.warning(problem);
        return;
      }

      if (action.type === 'close') {
        pending--;
        closingByUs = true;
        return;
      }

      if (echo && action.type === 'text') printer.sent(action.data);
      if (rl && piped && pending > HIGH_WATER) rl.pause();
    };

    /**
     * After -x, or at the end of piped input: once every message is out, wait
     * `config.wait` ms for replies, then close.
     */
    const maybeWindDown = () => {
      if (finished || !opened || !inputEnded || pending > 0) return;
      if (waitTimer !== null) return;
      waitTimer = setTimeout(closeNow, config.wait);
    };

    try {
      ws = new WebSocket(config.url, config.protocols, config.wsOptions);
    } catch (err) {
      printer.error(`bad URL or option: ${err.message}`);
      resolve(2);
      return;
    }

    signals.on('SIGINT', onInterrupt);

    ws.on('unexpected-response', (req, res) => {
      const status = res.statusCode;
      let text = `server rejected the handshake: ${status}`;

      if (res.statusMessage) text += ` ${res.statusMessage}`;
      if (res.headers.location && status >= 300 && status < 400) {
        text += ` (redirect to ${res.headers.location}; -L follows it)`;
      }

      failure = text;
      res.resume();
      printer.error(failure);
      ws.terminate();
      finish(1);
    });

    ws.on('error', (err) => {
      if (failure === null) failure = describeError(err, config.target, opened);
    });

    ws.on('open', () => {
      opened = true;

      const extras = [];

      if (ws.protocol) extras.push(`subprotocol ${ws.protocol}`);
      if (interactive) extras.push('press CTRL+C to quit');
      printer.notice(
        `connected to ${ws.url}` +
          (extras.length ? ` (${extras.join(', ')})` : '')
      );

      if (config.execute.length > 0) {
        for (const line of config.execute) handleLine(line);
        inputEnded = true;
        maybeWindDown();
        return;
      }

      if (terminal) {
        rl = createPrompt({
          input: stdin,
          output: stdout,
          printer,
          onLine: handleLine,
          onInterrupt,
          isFinished: () => finished
        });
        rl.on('close', () => {
          // Ctrl+D: close, without waiting.
          if (finished) return;
          printer.attach(null);
          closeNow();
        });
        rl.prompt();
        return;
      }

      if (!interactive) {
        for (const line of queue.splice(0)) handleLine(line);
        maybeWindDown();
        return;
      }

      // stdin is a terminal but stdout is not: read lines without editing.
      rl = readline.createInterface({ input: stdin, terminal: false });
      rl.on('line', handleLine);
      rl.on('close', () => {
        if (!finished) closeNow();
      });
    });

    ws.on('message', (data, isBinary) => printer.received(data, isBinary));
    ws.on('ping', (data) => {
      if (config.showPingPong) printer.control('ping', data);
    });
    ws.on('pong', (data) => {
      if (config.showPingPong) printer.control('pong', data);
    });

    ws.on('close', (code, reason) => {
      if (finished) return;

      const how = describeClose(code, reason);

      if (!opened) {
        printer.error(failure || 'the connection closed during the handshake');
        finish(1);
      } else if (failure !== null) {
        printer.error(`${failure} (${how})`);
        finish(1);
      } else if (closingByUs) {
        if (code === 1006) {
          printer.error(`the server did not complete the closing handshake`);
          finish(1);
        } else {
          printer.notice(`disconnected (${how})`);
          finish(0);
        }
      } else if (isErrorClose(code)) {
        printer.error(`connection closed by the server (${how})`);
        finish(1);
      } else {
        printer.notice(`disconnected by the server (${how})`);
        finish(0);
      }
    });

    if (piped) {
      // Read right away; lines that arrive before the handshake wait in
      // `queue`.
      rl = readline.createInterface({
        input: stdin,
        terminal: false,
        crlfDelay: Infinity
      });
      rl.on('line', (line) => {
        if (!opened) {
          queue.push(line);
          if (queue.length > HIGH_WATER) rl.pause();
          return;
        }
        handleLine(line);
      });
      rl.on('close', () => {
        inputEnded = true;
        maybeWindDown();
      });
    }
  });
}

module.exports = { runConnect };
