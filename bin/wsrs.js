#!/usr/bin/env node
'use strict';

// `wsrs`: a wscat-compatible WebSocket client and server for the terminal.
// See `wsrs --help`, or the "Command line" section of the README.

const { main } = require('../lib/cli');

/**
 * Exit with a status once what was written to stdout and stderr is out.
 *
 * @param {Number} status The exit status
 */
function exit(status) {
  process.stdout.write('', () => {
    process.stderr.write('', () => process.exit(status));
  });
}

// A reader that went away (`wsrs ... | head`) is not an error of ours.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signals: process
}).then(exit, (err) => {
  process.stderr.write(`error: ${(err && err.stack) || err}\n`);
  exit(1);
});
