# The two commands (see README): `make run` and `make test`. Both set themselves up.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DB      ?= indicators.duckdb
DATA    := data/indicators.toml $(wildcard data/indicators.d/*.toml) $(wildcard data/demo/*)

.PHONY: setup run test browser-deps bench clean

setup: $(STAMP)

# A virtual environment with the package and its test tools, rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,distributed]'
	touch $@

# The demo store, rebuilt (in place, keeping annotations) when the catalogue or demo data change.
$(DB): $(STAMP) $(DATA)
	$(BIN)/spc db init --db $@
	touch $@

run: $(DB)
	SPC_DB=$(DB) $(BIN)/streamlit run app.py --server.headless true --browser.gatherUsageStats false

# Debian's Chromium and ChromeDriver for the browser tests, poppler for checking PDFs.
browser-deps:
	@if ! command -v chromium >/dev/null || ! command -v pdftoppm >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver poppler-utils fonts-dejavu-core >/dev/null; \
	fi

test: $(STAMP) browser-deps
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) $(DB) $(DB).wal tests/artifacts
