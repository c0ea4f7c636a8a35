# The whole set-up: `make run` and `make test` (see README.md).
JOBS ?= $(shell nproc)
DATA ?= ./var
HTTP ?= 127.0.0.1:8080

.PHONY: deps build build-dev run test bench fuzz screenshots clean

deps:
	@scripts/install-deps

# The programs only (make run); `bench` builds everything.
build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target vfaxd vfax vfax-convert

build-dev: deps
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

run: build
	@echo "vfaxd: web/API on http://$(HTTP)/  (CLI: export VFAX_URL=http://$(HTTP) VFAX_TOKEN_FILE=$(DATA)/admin-token; build/release/bin/vfax --help)"
	@echo "vfaxd: log in to the web page as 'admin' after setting its password: VFAX_URL=http://$(HTTP) VFAX_TOKEN_FILE=$(DATA)/admin-token build/release/bin/vfax user passwd admin"
	@build/release/bin/vfaxd --data $(DATA) --http $(HTTP)

test: build-dev
	@ctest --preset dev -j $(JOBS) --timeout 900

# The web page's main pages, desktop and phone, into docs/screenshots/ (a real vfaxd and Chromium).
screenshots: build-dev
	@VFAXD=build/dev/bin/vfaxd VFAX=build/dev/bin/vfax /usr/bin/python3 tests/integration/screenshots.py

bench: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)
	@scripts/run-bench

clean:
	rm -rf build
