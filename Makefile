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

# Headless Chromium (Debian's package) for the status page test; installed once, only where
# we are root with apt-get. Without it that test fails and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && \
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || \
				echo "could not install chromium: the status page test will fail"; \
		else \
			echo "chromium is missing and cannot be installed here (needs root and apt-get)"; \
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
