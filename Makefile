# Every target installs and builds what it needs first, so each one works on a fresh clone.
.PHONY: install build typecheck start test test-node-versions bench cluster-demo clean

NPM_STAMP := node_modules/.install-stamp

install: $(NPM_STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

build: install
	npx tsc -p tsconfig.json

start: build
	bin/server start --port 8888

# The type test: lines marked @ts-expect-error in spec/types must not compile.
typecheck: install
	npx tsc -p spec/types/tsconfig.json

test: build typecheck
	npx c8 mocha

# The library, framework and queue specs on Node 22, 24 and 26 (each brought
# from the npm registry into .cache/node/ on first use); NODES="24" for some.
test-node-versions: build
	tools/node-versions.sh $(NODES)

# QUICK=1: one short smoke run (about 1.5 min); otherwise the full run (about 4 minutes). NICENESS=1 adds the niceness sweep.
bench: build
	QUICK=$(QUICK) node dist/bench/run.js

# 2 fast + 2 slow instances behind nginx on loopback, the seed scenario through it, then all stopped.
cluster-demo: build
	node dist/deploy/cluster-demo.js

clean:
	rm -rf dist coverage .cache
