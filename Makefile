# Reslot: `make run` starts everything on a local broker and plays the demo;
# `make test` installs what it needs and runs lint, types and every test layer.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.PHONY: run test lint typecheck unit integration schemas bench chaos clean tools any-hour

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Reslot needs Python 3.11 or newer (PYTHON=$(PYTHON))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

# Debian's tools some tests run, installed once, only where we are root with apt-get:
# headless Chromium (the page tests fail and say why without it), promtool from
# `prometheus` (without it the alert rules are checked in Python only) and faketime (the
# any-hour step below).
DEBIAN_TOOLS := chromium prometheus faketime
tools:
	@command -v chromium >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 && \
		command -v faketime >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && \
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
					--no-install-recommends $(DEBIAN_TOOLS) >/dev/null || \
				echo "could not install $(DEBIAN_TOOLS): some tests will fail"; \
		else \
			echo "chromium, promtool or faketime is missing and cannot be installed here (needs root)"; \
		fi; }

run: $(STAMP)
	$(BIN)/reslot dev --demo

# The integration tests mostly wait (group joins, sessions, sends): three workers, one test
# file each at a time, keep CI under ten minutes on two cores.
PARALLEL := -n 3 --dist loadfile
test: lint typecheck tools
	$(BIN)/pytest -q $(PARALLEL)
	$(MAKE) --no-print-directory any-hour

# Green at any hour: the tests whose outcome could depend on the time of day (the unit
# tests and the notifier's, which hold SMS for the night) run again at 02:00 and at 14:00
# Algiers time (01:00 / 13:00 UTC), whatever the hour CI runs at. libfaketime's clock keeps
# running from that instant, child processes (the local broker) included.
HOUR_TESTS := tests/unit $(wildcard tests/integration/test_notifier_*.py)
# Both hours run side by side (they mostly wait); each must pass.
any-hour: $(STAMP) tools
	@faketime "$$(date -u +%F) 01:00:00 UTC" $(BIN)/pytest -q -n 2 --dist loadfile \
		-p no:cacheprovider $(HOUR_TESTS) > .any-hour-night.log 2>&1 & night=$$!; \
	faketime "$$(date -u +%F) 13:00:00 UTC" $(BIN)/pytest -q -n 2 --dist loadfile \
		-p no:cacheprovider $(HOUR_TESTS) > .any-hour-day.log 2>&1; day=$$?; \
	wait $$night; night=$$?; \
	echo "at 02:00 Algiers:"; tail -n 40 .any-hour-night.log; \
	echo "at 14:00 Algiers:"; tail -n 40 .any-hour-day.log; \
	rm -f .any-hour-night.log .any-hour-day.log; \
	test $$night = 0 && test $$day = 0

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy services schemas bench examples tests

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP) tools
	$(BIN)/pytest -q tests/integration

schemas: $(STAMP)
	$(BIN)/python -m schemas.export

bench: $(STAMP)
	$(BIN)/python -m bench.run

chaos: $(STAMP)
	RESLOT_CHAOS=full $(BIN)/pytest -q -m chaos tests/integration

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
