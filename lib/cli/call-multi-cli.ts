// `slowlane-call-multi` (slowlane-call-multi in a checkout): parses arguments and runs the prototype's client.
import { parseArgs } from 'node:util';
import { callMulti, SCENARIOS, summaryLine, type Scenario } from '../demo/call-multi.js';
import { CALL_MULTI_DEFAULTS } from '../defaults.js';
import { packageVersion } from '../package-info.js';
import type { HttpGet } from '../client/http-get.js';
import { UsageError, usageMessage, wholeNumber, type Io } from './flags.js';

export const CALL_MULTI_USAGE = `Usage: slowlane-call-multi ${SCENARIOS.join('|')} [options]
       (from a checkout: bin/call-multi instead of slowlane-call-multi)

Sends a burst like the prototype's client: the slow requests first, then the
fast ones, all at once, and prints each answer as it arrives. With slow_threaded
and slow_pool every fast answer should arrive before the first slow one; with
slow they wait behind it.

Options:
  --url URL      the server (default ${CALL_MULTI_DEFAULTS.url})
  --slow N       slow requests (default ${CALL_MULTI_DEFAULTS.slow})
  --fast N       fast requests (default ${CALL_MULTI_DEFAULTS.fast})
  -h, --help     show this help
  -v, --version  print slowlane's version

Exit status: 0 all answered 200; 1 the server is unreachable or a request failed; 2 bad arguments.`;

interface CallMultiCommand {
  baseUrl: string;
  scenario: Scenario;
  slow: number;
  fast: number;
}

export function parseCallMultiArgs(argv: readonly string[]): CallMultiCommand | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        slow: { type: 'string' },
        fast: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    throw new UsageError(usageMessage(error, 'slowlane-call-multi'));
  }
  const { values: v, positionals } = parsed;
  if (v.help) return 'help';
  if (v.version) return 'version';
  const [scenario, ...extra] = positionals;
  if (scenario === undefined) throw new UsageError(`missing scenario: use one of ${SCENARIOS.join(', ')} (see "slowlane-call-multi --help")`);
  if (!(SCENARIOS as readonly string[]).includes(scenario) || extra.length > 0) {
    throw new UsageError(`unknown scenario "${positionals.join(' ')}": use one of ${SCENARIOS.join(', ')}`);
  }
  const baseUrl = v.url ?? CALL_MULTI_DEFAULTS.url;
  let protocol: string;
  try {
    protocol = new URL(baseUrl).protocol;
  } catch {
    protocol = '';
  }
  if (protocol !== 'http:') throw new UsageError(`--url must be an http:// URL such as http://localhost:8888, got "${baseUrl}"`);
  return {
    baseUrl,
    scenario: scenario as Scenario,
    slow: wholeNumber('slow', v.slow, 0, 1000) ?? CALL_MULTI_DEFAULTS.slow,
    fast: wholeNumber('fast', v.fast, 0, 10000) ?? CALL_MULTI_DEFAULTS.fast,
  };
}

export async function callMultiMain(argv: readonly string[], io: Io, get?: HttpGet): Promise<number> {
  let command;
  try {
    command = parseCallMultiArgs(argv);
  } catch (error) {
    io.err(`slowlane-call-multi: ${(error as Error).message}`);
    io.err(CALL_MULTI_USAGE);
    return 2;
  }
  if (command === 'help') {
    io.out(CALL_MULTI_USAGE);
    return 0;
  }
  if (command === 'version') {
    io.out(packageVersion());
    return 0;
  }
  const report = await callMulti({ ...command, print: io.out, get });
  if (report.unreachable) {
    io.err(`slowlane-call-multi: cannot connect to ${command.baseUrl} - is "slowlane start" running?`);
    return 1;
  }
  io.out('');
  io.out(summaryLine(report));
  return report.fast.failed + report.slow.failed === 0 ? 0 : 1;
}
