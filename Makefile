# Reslot: `make run` starts everything on a local broker and plays the demo;
# `make test` installs what it needs and runs lint, types and every test layer.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.PHONY: run test lint typecheck unit integration schemas bench chaos clean browser

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Reslot needs Python 3.11 or newer (PYTHON=$(PYTHON))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

# Debian's tools some tests run, installed once, only where we are root with apt-get:
# headless Chromium (the status page test fails and says why without it) and promtool from
# `prometheus` (without it the alert rules are checked in Python only).
browser:
	@command -v chromium >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && \
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
					--no-install-recommends chromium prometheus >/dev/null || \
				echo "could not install chromium and prometheus: some tests will fail or skip"; \
		else \
			echo "chromium or promtool is missing and cannot be installed here (needs root)"; \
		fi; }

run: $(STAMP)
	$(BIN)/reslot dev --demo

test: lint typecheck browser
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy services schemas

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP) browser
	$(BIN)/pytest -q tests/integration

schemas: $(STAMP)
	$(BIN)/python -m schemas.export

bench: $(STAMP)
	$(BIN)/python -m bench.run

chaos: $(STAMP)
	RESLOT_CHAOS=full $(BIN)/pytest -q -m chaos tests/integration

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
