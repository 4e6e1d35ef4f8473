// Entry point of bin/server.
import { serverMain } from './server-cli.js';

// A reader of our output that exits (a log shipper restarting, `| head`)
// must not end the server: what it would have read is dropped (EPIPE).
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

process.exitCode = await serverMain(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  logStream: process.stderr,
});
