'use strict';

// The command line of `wsrs`: the table of options, a small parser for it and
// the `--help` text. The option names follow wscat's.

/**
 * A mistake in the command line. `wsrs` prints its message and exits with
 * status 2.
 */
class UsageError extends Error {
  /**
   * @param {String} message What is wrong, in one line
   */
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

// kind: 'flag' takes no value, 'value' takes one, 'list' takes one and may be
// repeated, 'optional' takes one only in the `--name=value` form or when the
// next argument does not look like an option.
const OPTIONS = [
  {
    key: 'listen',
    short: 'l',
    long: 'listen',
    kind: 'value',
    arg: '<port>',
    section: 'Modes',
    help: 'serve clients on <port>; print what they send'
  },
  {
    key: 'connect',
    short: 'c',
    long: 'connect',
    kind: 'value',
    arg: '<url>',
    section: 'Modes',
    help: 'connect to a ws:, wss: or ws+unix: URL'
  },
  {
    key: 'host',
    long: 'host',
    kind: 'value',
    arg: '<host>',
    section: 'Handshake',
    help: '-l: the address to bind; -c: the Host header'
  },
  {
    key: 'protocol',
    short: 'p',
    long: 'protocol',
    kind: 'value',
    arg: '<8|13>',
    section: 'Handshake',
    help: 'the protocol version to speak (default: 13)'
  },
  {
    key: 'subprotocol',
    short: 's',
    long: 'subprotocol',
    kind: 'list',
    arg: '<name>',
    section: 'Handshake',
    help: 'offer (-c) or accept (-l) a subprotocol; repeatable'
  },
  {
    key: 'header',
    short: 'H',
    long: 'header',
    kind: 'list',
    arg: '<key:value>',
    section: 'Handshake',
    help: 'add a header to the handshake; repeatable'
  },
  {
    key: 'origin',
    short: 'o',
    long: 'origin',
    kind: 'value',
    arg: '<origin>',
    section: 'Handshake',
    help: 'send this Origin header'
  },
  {
    key: 'auth',
    long: 'auth',
    kind: 'value',
    arg: '<user:pass>',
    section: 'Handshake',
    help: 'HTTP basic authentication'
  },
  {
    key: 'location',
    short: 'L',
    long: 'location',
    kind: 'flag',
    section: 'Handshake',
    help: 'follow HTTP redirects'
  },
  {
    key: 'maxRedirects',
    long: 'max-redirects',
    kind: 'value',
    arg: '<n>',
    section: 'Handshake',
    help: 'the most redirects -L follows (default: 10)'
  },
  {
    key: 'proxy',
    long: 'proxy',
    kind: 'value',
    arg: '<url>',
    section: 'Handshake',
    help: 'go through an HTTP CONNECT proxy (http://host:port)'
  },
  {
    key: 'noDeflate',
    long: 'no-deflate',
    kind: 'flag',
    section: 'Handshake',
    help: 'do not negotiate permessage-deflate'
  },
  {
    key: 'ca',
    long: 'ca',
    kind: 'value',
    arg: '<file>',
    section: 'TLS (wss: URLs)',
    help: 'trust the CA certificate(s) in this PEM file'
  },
  {
    key: 'cert',
    long: 'cert',
    kind: 'value',
    arg: '<file>',
    section: 'TLS (wss: URLs)',
    help: 'present this client certificate (PEM)'
  },
  {
    key: 'key',
    long: 'key',
    kind: 'value',
    arg: '<file>',
    section: 'TLS (wss: URLs)',
    help: "the client certificate's private key (PEM)"
  },
  {
    key: 'passphrase',
    long: 'passphrase',
    kind: 'optional',
    arg: '[pass]',
    section: 'TLS (wss: URLs)',
    help: 'passphrase of --key; asked for if no value given'
  },
  {
    key: 'noCheck',
    short: 'n',
    long: 'no-check',
    kind: 'flag',
    section: 'TLS (wss: URLs)',
    help: "do not verify the server's certificate"
  },
  {
    key: 'execute',
    short: 'x',
    long: 'execute',
    kind: 'list',
    arg: '<message>',
    section: 'Session',
    help: 'send <message>, wait, then close; repeatable'
  },
  {
    key: 'wait',
    short: 'w',
    long: 'wait',
    kind: 'value',
    arg: '<seconds>',
    section: 'Session',
    help: 'wait for replies after -x or piped input (default 2)'
  },
  {
    key: 'slash',
    long: 'slash',
    kind: 'flag',
    section: 'Session',
    help: 'enable /ping, /pong [data], /close [code] [reason]'
  },
  {
    key: 'showPingPong',
    short: 'P',
    long: 'show-ping-pong',
    kind: 'flag',
    section: 'Output',
    help: 'print a line for each ping and pong received'
  },
  {
    key: 'binary',
    short: 'b',
    long: 'binary',
    kind: 'flag',
    section: 'Output',
    help: 'print binary messages as hex, not as text'
  },
  {
    key: 'noColor',
    long: 'no-color',
    kind: 'flag',
    section: 'Output',
    help: 'never color the output (also: NO_COLOR=1)'
  },
  {
    key: 'help',
    short: 'h',
    long: 'help',
    kind: 'flag',
    section: 'Other',
    help: 'print this help and exit'
  },
  {
    key: 'version',
    short: 'V',
    long: 'version',
    kind: 'flag',
    section: 'Other',
    help: 'print the version of wsrs and exit'
  }
];

const BY_SHORT = new Map();
const BY_LONG = new Map();

for (const option of OPTIONS) {
  if (option.short) BY_SHORT.set(option.short, option);
  BY_LONG.set(option.long, option);
}

/**
 * Store one option's value in the result of `parseArgs()`.
 *
 * @param {Object} result The options parsed so far
 * @param {Object} option The entry of `OPTIONS`
 * @param {(String|Boolean)} value The value; `true` for flags and for an
 *     `optional` option given without a value
 * @private
 */
function store(result, option, value) {
  if (option.kind === 'list') {
    if (!result[option.key]) result[option.key] = [];
    result[option.key].push(value);
  } else {
    result[option.key] = value;
  }
}

/**
 * Name an option the way the user can look it up in `--help`.
 *
 * @param {Object} option The entry of `OPTIONS`
 * @return {String} E.g. `-c, --connect`
 * @private
 */
function displayName(option) {
  return option.short
    ? `-${option.short}, --${option.long}`
    : `--${option.long}`;
}

/**
 * Parse the arguments of `wsrs` (without `node` and the script path).
 * Accepted forms: `--name value`, `--name=value`, `-x value`, `-xvalue` and
 * clusters of short flags such as `-nP`. Nothing positional is accepted.
 *
 * @param {String[]} argv The arguments
 * @return {Object} The given options by key (see `OPTIONS`); lists are
 *     arrays, flags are `true`
 * @throws {UsageError} For an unknown option, a missing value or a stray
 *     argument
 */
function parseArgs(argv) {
  const result = {};
  let i = 0;

  /**
   * Take the value of `option` from the next argument.
   *
   * @param {Object} option The entry of `OPTIONS`
   * @return {String} The value
   */
  const next = (option) => {
    if (i + 1 >= argv.length) {
      throw new UsageError(
        `option ${displayName(option)} needs a value: ${option.arg}`
      );
    }
    i++;
    return argv[i];
  };

  for (; i < argv.length; i++) {
    const arg = argv[i];

    if (arg === '--') {
      if (i + 1 < argv.length) {
        throw new UsageError(`unexpected argument '${argv[i + 1]}'`);
      }
      break;
    }

    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const option = BY_LONG.get(name);

      if (!option) throw new UsageError(`unknown option '--${name}'`);

      if (option.kind === 'flag') {
        if (eq !== -1) {
          throw new UsageError(`option --${name} does not take a value`);
        }
        store(result, option, true);
      } else if (eq !== -1) {
        store(result, option, arg.slice(eq + 1));
      } else if (option.kind === 'optional') {
        const following = argv[i + 1];

        if (following !== undefined && !following.startsWith('-')) {
          i++;
          store(result, option, following);
        } else {
          store(result, option, true);
        }
      } else {
        store(result, option, next(option));
      }
      continue;
    }

    if (arg.length > 1 && arg[0] === '-') {
      // A cluster of short options; the first one that takes a value eats
      // the rest of the cluster, or the next argument.
      for (let j = 1; j < arg.length; j++) {
        const option = BY_SHORT.get(arg[j]);

        if (!option) throw new UsageError(`unknown option '-${arg[j]}'`);

        if (option.kind === 'flag') {
          store(result, option, true);
          continue;
        }

        const rest = arg.slice(j + 1);

        store(result, option, rest !== '' ? rest : next(option));
        break;
      }
      continue;
    }

    throw new UsageError(
      `unexpected argument '${arg}' (use -c <url> to connect or -l <port> ` +
        'to listen)'
    );
  }

  return result;
}

/**
 * Build the `--help` text.
 *
 * @param {String} version The version of wsrs
 * @return {String} The text, ending with a newline
 */
function helpText(version) {
  const lines = [
    `wsrs ${version}: talk WebSocket from the command line`,
    '',
    'Usage:',
    '  wsrs -c <url> [options]     connect; type lines to send them',
    '  wsrs -l <port> [options]    listen; print what clients send',
    '',
    'Received messages are printed after "< ", sent ones after "> ". Piped',
    'input is sent line by line; wsrs closes after the last line and',
    '--wait seconds. With --slash, a line starting with "//" sends one "/".'
  ];
  // Long-only options line up under the long names of the others.
  const labels = OPTIONS.map((o) => {
    const name = o.short ? `  -${o.short}, --${o.long}` : `      --${o.long}`;

    return o.arg ? `${name} ${o.arg}` : name;
  });
  const column = Math.max(...labels.map((l) => l.length)) + 2;
  let section;

  OPTIONS.forEach((option, index) => {
    if (option.section !== section) {
      section = option.section;
      lines.push('', `${section}:`);
    }

    lines.push(labels[index].padEnd(column) + option.help);
  });

  lines.push(
    '',
    'Exit status: 0 after a clean close, 1 when the connection fails, ends',
    'abnormally or with an error code (1002-2999), 2 for a bad command line.',
    ''
  );

  return lines.join('\n');
}

module.exports = { OPTIONS, UsageError, helpText, parseArgs };
