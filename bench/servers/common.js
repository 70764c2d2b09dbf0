'use strict';

/*
 * What every benchmark server shares: its command line, the line it prints
 * when it listens, a gc hook for the idle-memory scenario, and the guards
 * that make it stop by itself.
 *
 * Command line: node bench/servers/<name>.js [--mode echo|broadcast]
 *   [--deflate] [--max-seconds N]
 *
 * Every server listens on 127.0.0.1 on a free port and prints one JSON line
 * to stdout: {"port":N,"pid":P,"threads":T,"impl":"...",...} (`threads`:
 * the process's thread count when it became ready, from /proc/self/task),
 * or {"error":"..."} when it cannot run. It exits when its stdin
 * ends (the orchestrator went away), on SIGTERM/SIGINT, or after
 * --max-seconds (default 300) whatever happens. With `node --expose-gc`,
 * SIGUSR2 runs a full garbage collection (the loadgen sends it before
 * reading RSS).
 */

const fs = require('fs');

/**
 * @typedef {Object} ServerOptions
 * @property {String} mode `echo` (send every message back) or `broadcast`
 *     (send every message to every client)
 * @property {Boolean} deflate Whether to enable permessage-deflate
 * @property {Number} maxSeconds The lifetime limit
 */

/**
 * Parses the server command line.
 *
 * @param {String[]} argv The arguments after the script name
 * @return {ServerOptions} The options
 */
function parseServerArgs(argv) {
  const opts = { mode: 'echo', deflate: false, maxSeconds: 300 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--mode') {
      opts.mode = argv[++i];
    } else if (arg === '--deflate') {
      opts.deflate = true;
    } else if (arg === '--max-seconds') {
      opts.maxSeconds = Number(argv[++i]);
    } else {
      throw new Error(`unknown argument: ${arg}`);
    }
  }
  if (opts.mode !== 'echo' && opts.mode !== 'broadcast') {
    throw new Error(`bad --mode: ${opts.mode}`);
  }
  if (!(opts.maxSeconds > 0)) throw new Error('bad --max-seconds');
  return opts;
}

/**
 * Installs the lifetime guards and the gc hook.
 *
 * @param {ServerOptions} opts The options
 */
function installGuards(opts) {
  const quit = () => process.exit(0);
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
  process.on('SIGUSR2', () => {
    if (typeof global.gc === 'function') global.gc();
  });
  setTimeout(() => {
    console.error(`server: --max-seconds ${opts.maxSeconds} reached, exiting`);
    process.exit(0);
  }, opts.maxSeconds * 1000).unref();
  if (!process.stdin.isTTY) {
    process.stdin.on('end', quit);
    process.stdin.on('error', quit);
    process.stdin.resume();
  }
}

/**
 * Whether a module whose path contains `fragment` has been loaded.
 *
 * @param {String} fragment A path fragment, e.g. `/node_modules/bufferutil/`
 * @return {Boolean} `true` if loaded
 */
function loaded(fragment) {
  return Object.keys(require.cache).some((file) => file.includes(fragment));
}

/**
 * Prints the ready line.
 *
 * @param {Number} port The port listened on
 * @param {Object} info More fields (impl, versions, what was loaded)
 */
function announce(port, info) {
  process.stdout.write(
    JSON.stringify({
      port,
      pid: process.pid,
      threads: threadCount(),
      ...info
    }) + '\n'
  );
}

/**
 * The number of threads of this process.
 *
 * @return {(Number|null)} The count, or `null` without /proc
 */
function threadCount() {
  try {
    return fs.readdirSync('/proc/self/task').length;
  } catch {
    return null;
  }
}

/**
 * Prints an error line in place of the ready line and exits with code 1.
 *
 * @param {String} message What went wrong
 */
function fail(message) {
  process.stdout.write(JSON.stringify({ error: message }) + '\n');
  process.exit(1);
}

/**
 * Runs `main(opts)`, turning a startup failure into an error line and exit
 * code 1.
 *
 * @param {function(ServerOptions): void} main The server body
 */
function start(main) {
  let opts;
  try {
    opts = parseServerArgs(process.argv.slice(2));
    installGuards(opts);
    main(opts);
  } catch (err) {
    fail(String(err.stack || err));
  }
}

module.exports = { announce, fail, loaded, start };
