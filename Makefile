# `make run` and `make test` are the two commands of the README: each installs what is missing.
CARGO ?= cargo

.PHONY: run test build deps test-deps lint bench fuzz
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
	$(CARGO) test --locked --doc

## Criterion benchmarks (signature, option parsing, in-process transforms).
bench: deps
	$(CARGO) bench --locked

## Fuzz the parsers of untrusted input for FUZZ_SECONDS each (default 600): URL → canonical
## form → options, imgproxy's paths and signatures, and the page, ICC and EXIF parsers of /info.
# cargo-fuzz wants nightly flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them, and
# without a sanitizer runtime (none ships with stable) libFuzzer still finds panics.
# FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 600
FUZZ_TARGET_DIR ?= $(CURDIR)/fuzz/target
fuzz: deps
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	for t in url_options metadata imgproxy_path; do \
	  mkdir -p fuzz/corpus/$$t fuzz/seeds/$$t && \
	  (cd fuzz && CARGO_TARGET_DIR=$(FUZZ_TARGET_DIR) RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --sanitizer none -O $$t \
		corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536) || exit 1; \
	done
