# PartnerLift: `make demo` installs and serves the demo (web app and messaging worker); `make test` installs and runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install catalogs demo outbox test test-quick lint browser lock durations

# Every package at the version and hash requirements.lock names (the app, the tests and the
# benchmark), then PartnerLift itself without resolving anything again: the same build tomorrow.
$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# After changing a dependency in pyproject.toml: pins stay where they are unless they must
# move (`make lock UPGRADE=--upgrade` moves them all, `UPGRADE="-P flask"` one package).
PIP_TOOLS := pip-tools==7.7.0
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIP_TOOLS)
	$(BIN)/pip-compile --quiet --extra test --extra bench --extra demo --generate-hashes --strip-extras \
		--allow-unsafe --no-emit-find-links --no-emit-index-url --no-emit-trusted-host \
		$(UPGRADE) --output-file requirements.lock pyproject.toml

install: $(VENV)/.installed catalogs

catalogs: $(VENV)/.installed
	$(BIN)/python -m babel.messages.frontend compile -d translations

# Debian's Chromium for the browser tests (Playwright drives it; no browser is downloaded),
# and the DejaVu fonts that rebate statements are written in as PDF (Latin, Cyrillic, Hebrew,
# Arabic script).
PDF_FONT = /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -f $(PDF_FONT) ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	fi
	@test -x /usr/bin/chromium || { echo "Chromium is missing: install Debian's chromium package" >&2; exit 1; }
	@test -f $(PDF_FONT) || { echo "DejaVu fonts are missing: install Debian's fonts-dejavu-core" >&2; exit 1; }

instance/secret_key:
	mkdir -p instance
	$(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(48))' > $@

# Plain HTTP on localhost, so the session cookie is not marked Secure here. Links in messages
# point at PUBLIC_URL, and only these host names are served (a forged Host header gets 400).
DEMO_ENV = SECRET_KEY="$$(cat instance/secret_key)" PUBLIC_URL=http://$(HOST):$(PORT) \
	TRUSTED_HOSTS=$(HOST),localhost
# The web app and the messaging worker together (the Procfile, run by honcho), so the
# messages the demo sends arrive in the inbox and the outbox.
demo: install instance/secret_key
	export $(DEMO_ENV) SESSION_COOKIE_SECURE=0 HOST=$(HOST) PATH="$(CURDIR)/$(BIN):$$PATH"; \
	flask --app app db upgrade && \
	flask --app app seed-demo && \
	exec honcho start --port $(PORT)

# The newest messages, e.g. the sign-in code the demo just "sent" by SMS.
outbox: install instance/secret_key
	@$(DEMO_ENV) $(BIN)/flask --app app messaging outbox --last 5

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# One process per core (at most four), each with its own databases; a test file (or a part of a
# long one) stays in one process, longest first, so the run ends on short files
# (tests/scheduling.py).
test: install browser lint
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile

# The same run, storing each test file's seconds in tests/durations.json, which `make test`
# reads to start the longest files first: after adding a long test file, run it and commit.
durations: install browser
	PARTNERLIFT_STORE_DURATIONS=1 $(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile

# The tests to run every few minutes: everything not marked slow (no browser, servers, fault
# injection, races on committed databases, Hypothesis through the database or sweeps over every
# route; markers set in tests/conftest.py), on SQLite. `make test-quick TESTS=tests/roles`
# narrows it further. `make test` runs everything.
TESTS ?=
test-quick: $(VENV)/.installed  # the catalogs: compiled by the tests' session start
	PARTNERLIFT_TEST_DATABASES=sqlite $(BIN)/python -m pytest -m "not slow" -x -q \
		-p no:cacheprovider $(TESTS)
