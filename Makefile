# Stapelkit — see README.md
NODE_IMPORT := node --import tsx

.PHONY: all setup deps build typecheck test unit integration example bench clean frontend-image bench-frontend

all: build

# apt packages a fresh machine lacks (dockerd, busybox-static, qemu-user-static, go, …); no-op when present.
setup:
	bash scripts/install-deps.sh

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: setup node_modules/.package-lock.json

# tsc (type check, dist/src for the tests), then the one-file bundles (scripts/bundle.ts: start-up
# cost): the CLI's that bin/stapelkit runs, and the frontend image's (dist/frontend.js).
build: deps
	npx tsc -p tsconfig.json
	$(NODE_IMPORT) scripts/bundle.ts --out-dir dist

typecheck: deps
	npx tsc -p tsconfig.json --noEmit

# All tests (unit + integration against a private dockerd the runner starts itself).
# The build runs first so a type error fails the suite.
test: build
	$(NODE_IMPORT) test/run.ts

# Unit tests need only Node and the npm packages: no root, no apt (a test needing a system tool,
# like docker-registry, skips with the reason when it is missing).
unit: node_modules/.package-lock.json
	$(NODE_IMPORT) test/run.ts unit

integration: deps
	$(NODE_IMPORT) test/run.ts integration

# The main job: build the example project on the embedded default daemon.
example: build
	./bin/stapelkit build --dir examples/hello
	./bin/stapelkit run --dir examples/hello hello

# The frontend image, offline: local node binary + frontend bundle and its code cache, loaded into DOCKER_HOST (else
# the embedded dockerd). The last line is the image reference (use it as `# syntax=<ref>`).
frontend-image: build
	@$(NODE_IMPORT) scripts/frontend-image.ts

bench: build
	$(NODE_IMPORT) bench/context-sync.ts
	$(NODE_IMPORT) bench/build.ts

# Frontend start-up inside BuildKit (solve request → the frontend's first LLB solve) vs dockerfile.v0,
# and the frontend process alone (spawn → first Solve, CPU time).
bench-frontend: build
	$(NODE_IMPORT) bench/frontend-startup.ts
	$(NODE_IMPORT) bench/frontend-process.ts
	$(NODE_IMPORT) bench/frontend-git.ts

clean:
	rm -rf dist
