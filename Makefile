# The two commands of the README. Each creates .venv and installs vim from this repository's own files.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= data

.PHONY: demo test lint venv clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

venv: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"

# Main job. Until the demo lands: build the shapes world, train its text tokenizer, write a preview grid.
demo: venv
	$(BIN)/vim data build shapes --data-dir $(DATA)
	$(BIN)/vim data text-tokenizer --data-dir $(DATA)
	$(BIN)/vim data preview --data-dir $(DATA) -n 16 -o preview.png

test: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check vim tests
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check vim tests

clean:
	rm -rf $(VENV) $(DATA) preview.png .pytest_cache .ruff_cache
