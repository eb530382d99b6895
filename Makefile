# Forge: the template's own tasks. `make demo` runs a generated service; `make test` proves the template.
SHELL := /bin/bash
# uv from PATH, else the one the generated projects' bootstrap script puts in .forge/bin (no pip needed).
UV ?= $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.forge/bin/uv)
RUN := $(UV) run --frozen
# The tests run `uv` by name in rendered projects: a uv in .forge/bin must be on PATH.
export PATH := $(dir $(UV)):$(PATH)
DEMO ?= demo

.PHONY: help install test lint demo relock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(UV):
	python3 -I 'template/<<project_slug>>/app/bootstrap_uv.py' $(dir $(UV))

install: $(UV)  ## the template's tooling (Copier, pytest, ruff, mypy) from uv.lock
	$(UV) sync --frozen --quiet

test: install  ## every template test: validators, render matrix, generated suites, update lifecycle (2 workers)
	bash scripts/install_chromium.sh  # Debian's chromium for tests/test_browser*.py (installs it when missing)
	$(RUN) pytest -n 2 --dist loadgroup --no-loadscope-reorder  # the order: tests/conftest.py

lint: install  ## ruff and mypy on the template's own code
	$(RUN) ruff check tests scripts hooks
	$(RUN) ruff format --check tests scripts hooks
	$(RUN) mypy tests scripts hooks
	$(RUN) python scripts/generated_headers.py --check

demo: install  ## render the default answers into ./demo and run it (embedded PostgreSQL, Ctrl-C stops)
	$(RUN) python scripts/demo.py $(DEMO)
	$(MAKE) -C $(DEMO) dev

relock: install  ## regenerate template/uv.lock.jinja after changing template/pyproject.toml.jinja
	$(RUN) python scripts/relock.py

clean:  ## remove the demo project
	rm -rf $(DEMO)
