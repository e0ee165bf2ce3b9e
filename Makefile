# The two commands of the README: `make run` and `make test`. Both install what they need.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: install run test test-compiled lint node-deps bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

install: $(BIN)/.installed

# The log in text form, for people (EXTAPI_LOG_FORMAT=json make run for JSON lines).
run: install
	EXTAPI_LOG_FORMAT=$${EXTAPI_LOG_FORMAT:-text} $(BIN)/extapi serve --demo $(ARGS)

# Node packages for the GraphQL-over-HTTP conformance audit (skipped without npm).
node-deps:
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --silent --no-audit --no-fund --prefix tests/conformance; \
	else echo "npm not found: the conformance audit will be skipped"; fi

lint: install
	$(BIN)/ruff check extapi tests bench
	$(BIN)/ruff format --check extapi tests bench
	$(BIN)/mypy

test: install node-deps lint
	$(BIN)/pytest $(ARGS)
	$(MAKE) test-compiled

# The suite runs documents through graphql-core until they are sent again (the production
# default); the GraphQL tests run once more with every document compiled (on SQLite only:
# plans do not depend on the database), so both paths pass them.
test-compiled: install
	EXTAPI_TEST_COMPILED_EXECUTION=always EXTAPI_TEST_BACKENDS=sqlite \
		$(BIN)/pytest -q tests/graphql tests/fidelity

bench: install
	$(BIN)/python bench/run.py $(ARGS)
