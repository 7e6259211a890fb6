# The two commands a new user needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
export SMART101_DATA_DIR ?= $(CURDIR)/data/demo

.PHONY: run test lint validate demo bench load clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: requirements-test.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

run: $(VENV)/.runtime  ## install and open the dashboard on $(SMART101_DATA_DIR)
	@echo "Smart-101 dashboard on http://localhost:$(PORT) (export: $(SMART101_DATA_DIR))"
	$(BIN)/streamlit run app.py --server.port $(PORT)

# Three workers on two cores: the browser tests spend about a third of their time waiting on
# Chromium and the server (the suite took 12.5 min so, 13.9 min on two workers).
test: $(VENV)/.test  ## lint, then the whole suite (unit, AppTest, browser) on three workers
	$(BIN)/ruff check .
	$(BIN)/pytest -n 3 --dist loadfile

validate: $(VENV)/.runtime  ## check $(SMART101_DATA_DIR) against the contract
	$(BIN)/python -m smart101_dash validate "$(SMART101_DATA_DIR)"

demo: $(VENV)/.runtime  ## regenerate the committed demo export (two cuts of the same trial)
	rm -rf data/demo.new
	$(BIN)/python -m smart101_dash demo data/demo.new/2026-06-30 --cutoff 2026-06-30
	$(BIN)/python -m smart101_dash demo data/demo.new/2026-10-31
	rm -rf data/demo && mv data/demo.new data/demo

bench: $(VENV)/.test  ## timing and memory figures, written to docs/performance.md
	$(BIN)/python bench/bench_stats.py
	$(BIN)/python bench/bench_demo.py --controls 100000 --runs 3
	$(BIN)/python bench/bench_pages.py --controls 10000 100000 --write docs/performance.md

load: $(VENV)/.test  ## ten browser sessions changing pages and filters for a minute (docs/load-test.md)
	$(BIN)/python bench/load_test.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
