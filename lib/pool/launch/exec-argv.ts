// The Node flags a child inherits from its parent when the caller sets none:
// only those that change how modules load, so a `.ts` tasks module works in a
// child of `node --import tsx`, while flags such as --inspect or
// --max-old-space-size (which would clash or mislead) stay with the parent.

/** Flags that take a value, alone or as the next argument. */
const LOADER_FLAGS = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r', '--conditions', '-C']);

/** Boolean flags and prefixes that decide whether a module may load at all (the permission model). */
const PERMISSION_PREFIXES = ['--experimental-', '--no-experimental-', '--allow-', '--permission'];

export function loaderFlags(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i += 1) {
    const arg = execArgv[i]!;
    const name = arg.split('=', 1)[0]!;
    if (LOADER_FLAGS.has(name)) {
      kept.push(arg);
      // `--import tsx` carries its value in the next argument.
      if (!arg.includes('=') && i + 1 < execArgv.length) kept.push(execArgv[(i += 1)]!);
    } else if (PERMISSION_PREFIXES.some((prefix) => name.startsWith(prefix))) {
      kept.push(arg);
    }
  }
  return kept;
}
