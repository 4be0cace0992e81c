# The two commands a newcomer needs:  `make demo` (the whole pipeline locally)  and  `make test`;
# `make up` keeps the whole system running until Ctrl-C. All of them set up what is missing
# first (npm packages, the Pub/Sub emulator, the default model). Setup writes to stderr only:
# the stdout of `make up` and `make localcloud` is the export lines and nothing else.
SHELL := /bin/bash
export ONNXRUNTIME_NODE_INSTALL := skip
export METADATA_SERVER_DETECTION := none

.PHONY: setup deps system-deps model test lint fmt typecheck schemas demo up bench localcloud clean

setup: deps system-deps model

# npm ci only when the lock file changed since the last install.
deps: node_modules/.installed
node_modules/.installed: package-lock.json
	@npm ci --no-audit --no-fund >&2
	@touch $@

# The official Pub/Sub emulator (Java 17) from Debian packages, when not already there.
system-deps:
	@bash scripts/ensure-system-deps.sh >&2

# The embedded default model (ISNet, AGPL-3.0) into .cache/models, verified by sha256.
model: deps
	@npx tsx scripts/fetch-model.ts

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
	@npx tsx scripts/demo.ts

# The whole system until Ctrl-C: localcloud, the four functions, the worker (ISNet), the shop
# page on its own origin. stdout: the export lines another shell needs; the rest on stderr.
# Plain node (no npx/tsx wrapper), so one Ctrl-C reaches it once.
up: setup
	@node --import tsx scripts/up.ts $(UP)

bench: setup
	@npx tsx scripts/bench.ts $(BENCH)

localcloud: setup
	@node --import tsx test/localcloud/cli.ts

clean:
	rm -rf dist demo-output bench-output .localcloud
