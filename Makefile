# `make run` installs what the product needs and starts it; `make test` installs everything
# (apt packages included) and runs the whole suite. Both are safe to repeat.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: run test install install-test vendor lint bench clean

run: install
	$(BIN)/orderflow dev

test: install-test
	$(BIN)/ruff check builder runtime nodes tests bench
	$(BIN)/lint-imports
	$(BIN)/pytest -q $(PYTEST_ARGS)

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed vendor
	scripts/apt.sh run

install-test: $(VENV)/.installed
	scripts/apt.sh test
	scripts/vendor.sh

vendor:
	scripts/apt.sh run
	scripts/vendor.sh

bench: install
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) static/vendor frontend/node_modules .orderflow
