# `make run` and `make test` are the two commands of the README: each installs what is missing.
CARGO ?= cargo

.PHONY: run test build deps test-deps lint bench
.DEFAULT_GOAL := run

deps:
	@scripts/install-deps

test-deps:
	@scripts/install-deps test

build: deps
	$(CARGO) build --release --locked

## Demo server on 127.0.0.1:8080 with the bundled samples; prints signed example URLs.
run: build
	$(CARGO) run --release --locked --quiet -- serve

lint: deps
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

## Every test: unit tests, then the real server against real libvips on loopback.
test: test-deps lint
	$(CARGO) test --locked --all-targets

## Criterion benchmarks (signature, option parsing, in-process transforms).
bench: deps
	$(CARGO) bench --locked
