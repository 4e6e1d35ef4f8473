// Entry point of bin/call-multi.
import { callMultiMain } from './call-multi-cli.js';

process.exitCode = await callMultiMain(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
