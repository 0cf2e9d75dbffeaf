# Every target builds what it needs from nothing: a fresh clone needs only Python 3.10+.
PYTHON ?= python3
VENV := .venv
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin

.PHONY: test demo lint typecheck bench checkov-venv venv opa pgbouncer promtool golang clean

$(BIN)/connbudget: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

$(CHECKOV_VENV)/bin/checkov:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov>=3.2,<4'
	@touch $@

venv: $(BIN)/connbudget
checkov-venv: $(CHECKOV_VENV)/bin/checkov

# The real OPA (v1.20, Go) for the Rego tests, embedded as a c-shared library. Its wheel declares
# Python >= 3.14 but runs on 3.10+; it exists for x86_64 Linux with glibc >= 2.34 only, and
# elsewhere the tests say so and run the other two engines.
opa: $(BIN)/connbudget
	@$(BIN)/python -c 'import opa_bindings' 2>/dev/null || \
	  $(BIN)/pip install --quiet --ignore-requires-python 'opa-golib-python-bindings>=0.4.4,<0.5' || \
	  echo 'opa-golib-python-bindings: no wheel for this platform; the real-OPA tests are skipped'

# The live PgBouncer tests need PgBouncer (Debian's package; CI runs as root).
pgbouncer:
	@command -v pgbouncer >/dev/null 2>&1 || test -x /usr/sbin/pgbouncer || \
	  { apt-get update -qq && apt-get install -y -qq pgbouncer >/dev/null; }

# `connbudget alerts` output is checked with promtool (Debian/Ubuntu package prometheus).
promtool:
	@command -v promtool >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends prometheus >/dev/null; \
	  else echo "promtool missing: install the prometheus package (as root)"; exit 1; fi; }

# Terraform's regex functions are Go's regexp: the tests compare connbudget's with it
# (Debian's golang-go).
golang:
	@command -v go >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends golang-go >/dev/null; \
	  else echo "go missing: install the golang-go package (as root)"; exit 1; fi; }

# Two workers (pytest-xdist); the tests of one xdist_group share a worker (one Checkov scan).
test: $(BIN)/connbudget $(CHECKOV_VENV)/bin/checkov opa pgbouncer promtool golang
	$(BIN)/pytest -q -n auto --dist loadgroup

demo: $(BIN)/connbudget
	@echo '$$ connbudget scan examples/incident'
	@$(BIN)/connbudget scan examples/incident; status=$$?; \
	  if [ $$status -ne 1 ]; then echo "demo: expected exit 1 (findings), got $$status"; exit 1; fi
	@echo '(exit 1: the incident is caught)'

lint: $(BIN)/connbudget
	$(BIN)/ruff check src tests checks benchmarks
	$(BIN)/mypy

# lark-cython is measured beside the two parsers (it is no dependency of connbudget).
bench: $(BIN)/connbudget $(CHECKOV_VENV)/bin/checkov
	@$(BIN)/python -c 'import lark_cython' 2>/dev/null || \
	  $(BIN)/pip install --quiet 'lark-cython>=0.0.17,<0.1'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .hypothesis
