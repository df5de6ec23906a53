# Quick start: `make demo` runs the demo center; `make test` installs what the tests need and runs them.
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 5000
HOST ?= 127.0.0.1

.PHONY: demo serve setup setup-test test bench clips

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

setup: $(VENV)/.installed node_modules/.package-lock.json

demo: setup
	$(PY) -m queue_server serve --demo --db instance/demo.db --host $(HOST) --port $(PORT)

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup-test: setup $(VENV)/.installed-dev
	bash scripts/install-test-tools.sh

test: setup-test
	$(PY) -m pytest -q -n 2 --durations=15

bench: setup-test
	$(PY) -m bench.throughput
	$(PY) -m bench.simulate
	$(PY) -m bench.reports_month
	$(PY) -m bench.writes
	$(PY) -m bench.soak
	$(PY) -m bench.load

clips: setup
	bash scripts/make-clips.sh
