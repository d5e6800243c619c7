# The single entry point for people: `make demo` and `make test` set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint fixtures bench bench-scale clean

# The local virtual environment, its progress told in French (scripts/install_env.py).
$(STAMP): pyproject.toml scripts/install_env.py
	@$(PYTHON) scripts/install_env.py $(VENV) test
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cia-workbook --dir . demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check cia_workbook tests benchmarks scripts
	$(BIN)/ruff format --check cia_workbook tests benchmarks scripts

# Regenerate the committed fixtures (LibreOffice needed for the round-trip files).
fixtures: $(STAMP)
	$(BIN)/python scripts/make_corpus.py
	$(BIN)/python scripts/make_lo_fixtures.py
	$(BIN)/python scripts/make_docx_template.py

# Benchmarks of the Alès-size stages (figures recorded in benchmarks/README.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_templates.py
	$(BIN)/python benchmarks/bench_intake.py
	time $(BIN)/python benchmarks/bench_bilan.py

# National-size campaign (1,000 returns, 500,000 rows; generated once into benchmarks/work/).
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/bench_scale.py

clean:
	rm -rf $(VENV) templates/[0-9]* forms/[0-9]* outputs/[0-9]*
