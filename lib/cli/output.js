'use strict';

// Everything `wsrs` prints goes through a `Printer`: messages and ping/pong
// lines to stdout, notices and errors to stderr. While a readline prompt is on
// screen the printer writes above it and then redraws it, so that what the
// user is typing is not mixed with what arrives.

const readline = require('readline');

const STYLES = {
  received: '\x1b[36m', // cyan
  sent: '\x1b[34m', // blue
  control: '\x1b[35m', // magenta
  notice: '\x1b[32m', // green
  warning: '\x1b[33m', // yellow
  error: '\x1b[31m' // red
};
const RESET = '\x1b[39m';

/**
 * Decide whether to color what goes to a stream.
 *
 * @param {Object} stream The output stream
 * @param {Object} env The environment variables
 * @param {Boolean} noColor Whether `--no-color` was given
 * @return {Boolean} `true` to color
 */
function wantsColor(stream, env, noColor) {
  if (noColor) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') {
    return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  }
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

/**
 * Render a binary payload as space-separated hex bytes.
 *
 * @param {Buffer} data The payload
 * @return {String} E.g. `68 69`, or `(empty)`
 */
function hex(data) {
  if (data.length === 0) return '(empty)';
  return data.toString('hex').replace(/(..)(?!$)/g, '$1 ');
}

/**
 * Writes the lines of a session, with or without colors, around an optional
 * readline prompt.
 */
class Printer {
  /**
   * @param {Object} options
   * @param {stream.Writable} options.stdout Where messages go
   * @param {stream.Writable} options.stderr Where notices and errors go
   * @param {Object} options.env The environment variables
   * @param {Boolean} [options.noColor=false] Whether `--no-color` was given
   * @param {Boolean} [options.binaryAsHex=false] Whether `--binary` was given
   */
  constructor({ stdout, stderr, env, noColor = false, binaryAsHex = false }) {
    this.stdout = stdout;
    this.stderr = stderr;
    this.binaryAsHex = binaryAsHex;
    this.rl = null;
    this.colorOut = wantsColor(stdout, env, noColor);
    this.colorErr = wantsColor(stderr, env, noColor);
  }

  /**
   * Route output around a terminal readline interface (or stop doing so).
   *
   * @param {(readline.Interface|null)} rl The interface showing a prompt
   */
  attach(rl) {
    this.rl = rl;
  }

  /**
   * Write one line, keeping the prompt (if any) below it.
   *
   * @param {stream.Writable} stream `this.stdout` or `this.stderr`
   * @param {String} line The line, without the newline
   * @private
   */
  write(stream, line) {
    const rl = this.rl;

    if (rl && rl.terminal && !rl.closed) {
      readline.clearLine(rl.output, 0);
      readline.cursorTo(rl.output, 0);
      stream.write(line + '\n');
      rl.prompt(true);
      return;
    }

    stream.write(line + '\n');
  }

  /**
   * Color a piece of text when colors are on for the stream.
   *
   * @param {String} style A key of `STYLES`
   * @param {String} text The text
   * @param {Boolean} on Whether colors are on
   * @return {String} The text, colored or not
   * @private
   */
  paint(style, text, on) {
    return on ? STYLES[style] + text + RESET : text;
  }

  /**
   * Print a received message.
   *
   * @param {Buffer} data The payload
   * @param {Boolean} isBinary Whether it came in binary frames
   * @param {String} [tag] Names the peer when there are several
   */
  received(data, isBinary, tag) {
    const prefix = this.paint('received', '<', this.colorOut);
    const who = tag ? `${tag} ` : '';
    let body;

    if (isBinary && this.binaryAsHex) {
      const unit = data.length === 1 ? 'byte' : 'bytes';
      const size = `(binary, ${data.length} ${unit})`;

      body = `${this.paint('control', size, this.colorOut)} ${hex(data)}`;
    } else {
      body = data.toString('utf8');
    }

    this.write(this.stdout, `${prefix} ${who}${body}`);
  }

  /**
   * Print a message that was sent (only used where the prompt does not
   * already show it).
   *
   * @param {String} text The message
   */
  sent(text) {
    const prefix = this.paint('sent', '>', this.colorOut);

    this.write(this.stdout, `${prefix} ${text}`);
  }

  /**
   * Print a received ping or pong (`--show-ping-pong`).
   *
   * @param {String} kind `'ping'` or `'pong'`
   * @param {Buffer} data The payload
   * @param {String} [tag] Names the peer when there are several
   */
  control(kind, data, tag) {
    const prefix = this.paint('received', '<', this.colorOut);
    const who = tag ? `${tag} ` : '';
    const what = this.paint('control', kind, this.colorOut);
    const payload =
      data.length > 0
        ? ` (data: ${JSON.stringify(data.toString('utf8'))})`
        : '';

    this.write(this.stdout, `${prefix} ${who}${what}${payload}`);
  }

  /**
   * Print a status line (connected, disconnected, listening...).
   *
   * @param {String} text The line
   */
  notice(text) {
    this.write(this.stderr, this.paint('notice', text, this.colorErr));
  }

  /**
   * Print a problem that does not end the session.
   *
   * @param {String} text The line
   */
  warning(text) {
    this.write(this.stderr, this.paint('warning', text, this.colorErr));
  }

  /**
   * Print the error that ends the session.
   *
   * @param {String} text The line, without the `error:` label
   */
  error(text) {
    const line = this.paint('error', `error: ${text}`, this.colorErr);

    this.write(this.stderr, line);
  }
}

/**
 * The interactive prompt both modes use on a terminal: line editing and
 * history, with output printed above the prompt.
 *
 * @param {Object} options Options object
 * @param {Readable} options.input The terminal's input
 * @param {Writable} options.output The terminal's output
 * @param {Printer} options.printer The printer to attach
 * @param {Function} options.onLine Called with each non-empty line
 * @param {Function} options.onInterrupt Called on Ctrl+C
 * @param {Function} options.isFinished Whether the session has ended
 * @return {readline.Interface} The prompt
 */
function createPrompt({
  input,
  output,
  printer,
  onLine,
  onInterrupt,
  isFinished
}) {
  const rl = readline.createInterface({
    input,
    output,
    terminal: true,
    historySize: 1000,
    prompt: '> '
  });

  printer.attach(rl);
  rl.on('line', (line) => {
    if (line !== '') onLine(line);
    if (!isFinished()) rl.prompt();
  });
  rl.on('SIGINT', onInterrupt);
  return rl;
}

module.exports = { Printer, createPrompt, hex, wantsColor };
