# newswatch: every target installs what it needs first, so each works on a fresh clone.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := .tools/bin/uv
endif
VENV := .venv
export UV_COMPILE_BYTECODE := 1

.PHONY: install demo test bench lint format clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --all-extras -q
	@# our own modules' bytecode, as an installed wheel has it (uv compiles only the libraries)
	$(VENV)/bin/python -m compileall -q newswatch parsers flows
	@touch $@

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install -q --disable-pip-version-check uv

demo: install
	$(VENV)/bin/newswatch demo

test: install
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

bench: install
	$(VENV)/bin/python -m benchmarks.run

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .tools state/demo .pytest_cache
