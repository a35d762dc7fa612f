# The two commands (see README): `make run` and `make test`.
.PHONY: run run-release test check build-site load

run:
	bash scripts/run.sh

run-release:
	bash scripts/run.sh --release

test:
	bash scripts/test.sh

# The load test (README "Performance"): `make load ARGS="--scenarios flash --shoppers 10000"`.
load:
	bash scripts/load.sh $(ARGS)

# Fast compile checks for development (server and wasm builds).
check:
	. scripts/env.sh && cargo check -p app --features ssr && cargo check -p frontend --target wasm32-unknown-unknown

build-site:
	bash scripts/build-site.sh
