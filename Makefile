# The commands a person types. Every install step lives here, so a fresh machine needs only
# Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SDK_VENV := .venv-sdk
STAMP := $(VENV)/.installed

.PHONY: install run test lint migrate bench eval load up down sdk prometheus browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(STAMP)

# The official MemOS SDK has heavy dependencies: it gets its own environment, for the e2e test.
$(SDK_VENV)/.installed:
	$(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install -q "MemoryOS==2.0.33"
	touch $@

sdk: $(SDK_VENV)/.installed

# prometheus and promtool, for the alert unit tests and the test that runs the dashboard's
# queries against a real Prometheus (Debian/Ubuntu; skipped when both are already there).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
prometheus:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || \
		{ $(SUDO) apt-get update && \
		  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus; }

# Chromium, its driver and a Chinese font, for the web console's tests in a real headless
# browser and their screenshots (Debian/Ubuntu; skipped when all are already there).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && \
		fc-list :lang=zh | grep -q . || \
		{ $(SUDO) apt-get update && \
		  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver \
		  fonts-wqy-microhei; }

run: install
	$(BIN)/memos serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install sdk prometheus browser lint
	$(BIN)/pytest

migrate: install
	$(BIN)/memos migrate

bench: install
	$(BIN)/pip install -q -e ".[test,bench]"
	$(BIN)/python -m tests.bench

# 200 concurrent clients for 60 s against memos serve, on localhost.
load: install
	$(BIN)/python -m tests.load

# Retrieval quality: ARGS="--suite ours|preferences|locomo|all" (default all: our dialogues,
# the preference requests, then LoCoMo
# beside its BM25 floor), "--conversations 41" for a quick LoCoMo run, "--bm25-only",
# "--env LLM_BASE_URL=… --llm-judge" (ours).
eval: install
	$(BIN)/python -m tests.eval $(ARGS)

up:
	docker compose up -d --build

down:
	docker compose down

clean:
	rm -rf $(VENV) $(SDK_VENV) data
