# Grapevine: `make run` serves the app on SQLite with the demo network; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATABASE ?= var/grapevine.db

.PHONY: install run test lint format bench bench-instructions bench-client bench-walk bench-engine bench-live bench-import bench-search lighthouse cassettes bench-vault bench-load fuzz bench-crash clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/grapevine serve --demo --database $(DATABASE)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install lint
	$(BIN)/pytest -q
	node --test tests/js/
	$(BIN)/python tools/fuzz.py --quick

# schemathesis over the whole OpenAPI document, push included, on SQLite and PostgreSQL.
fuzz: install
	$(BIN)/python tools/fuzz.py --examples $(or $(EXAMPLES),100)

bench: install
	$(BIN)/python -m bench $(ARGS)

bench-instructions: install
	$(BIN)/python -m bench.instructions $(ARGS)

bench-client: install
	$(BIN)/python -m bench.client $(ARGS)

# The user's loop at 10,000 people, phone (4x) and desktop, each step timed and photographed.
bench-walk: install
	$(BIN)/python -m bench.walk $(ARGS)

# The merge engine's time per push before and under the store's lock (no storage).
bench-engine: install
	$(BIN)/python -m bench.engine $(ARGS)

# Live sync: poke-to-visible latency in Chromium, idle streams and their memory (PostgreSQL too).
bench-live: install
	$(BIN)/python -m bench.live $(ARGS)

bench-import: install
	$(BIN)/python -m bench.imports --rows 10000

bench-search:
	node bench/search.mjs

# Hostile load: bad sign-ins and pairing guesses while devices sync (bench/load.py).
bench-load: install
	$(BIN)/python -m bench.load

# kill -9 the server while it takes pushes: nothing acknowledged lost, replays all duplicate.
bench-crash: install
	$(BIN)/python -m bench.crash --engine sqlite
	$(BIN)/python -m bench.crash --engine postgres

lighthouse: install
	$(BIN)/python tools/lighthouse.py

bench-vault: install
	$(BIN)/python -m bench.vault

# Re-record the companion's HTTP exchanges (the protocol's golden files) against a live server.
cassettes: install
	$(BIN)/python -m tests.test_remote_cassettes

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
