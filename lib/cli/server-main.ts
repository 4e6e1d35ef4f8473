// Entry point of bin/server.
import { serverMain } from './server-cli.js';

process.exitCode = await serverMain(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  logStream: process.stderr,
});
