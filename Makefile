# The two commands a newcomer needs:  `make demo` (the whole pipeline locally)  and  `make test`.
# Both set up what is missing first (npm packages, the Pub/Sub emulator, the default model).
SHELL := /bin/bash
export ONNXRUNTIME_NODE_INSTALL := skip
export METADATA_SERVER_DETECTION := none

.PHONY: setup deps system-deps model test lint fmt typecheck schemas demo bench localcloud clean

setup: deps system-deps model

# npm ci only when the lock file changed since the last install.
deps: node_modules/.installed
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The official Pub/Sub emulator (Java 17) from Debian packages, when not already there.
system-deps:
	@bash scripts/ensure-system-deps.sh

# The embedded default model (ISNet, AGPL-3.0) into .cache/models, verified by sha256.
model: deps
	@if [ -f scripts/fetch-model.ts ]; then npx tsx scripts/fetch-model.ts; else echo "model: no fetch step yet (issue 5)"; fi

test: setup
	npm test

typecheck: deps
	npx tsc --noEmit

lint: deps
	npx eslint . --max-warnings=0
	@if command -v terraform >/dev/null; then terraform fmt -check -recursive terraform; fi

fmt: deps
	npx eslint . --fix
	@if command -v terraform >/dev/null; then terraform fmt -recursive terraform; fi

schemas: deps
	npm run schemas

demo: setup
	@if [ -f scripts/demo.ts ]; then npx tsx scripts/demo.ts; else echo "demo: not there yet: the end-to-end demo arrives with issue 6"; exit 2; fi

bench: setup
	@if [ -f scripts/bench.ts ]; then npx tsx scripts/bench.ts $(BENCH); else echo "bench: not there yet: benchmarks arrive with issues 3-6"; exit 2; fi

localcloud: setup
	@if [ -f test/localcloud/cli.ts ]; then npx tsx test/localcloud/cli.ts; else echo "localcloud: not there yet (issue 3)"; exit 2; fi

clean:
	rm -rf dist demo-output bench-output .localcloud
