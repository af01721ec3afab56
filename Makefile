# OpsLink developer commands. Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SAM_VENV ?= .venv-sam
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format typecheck validate sam-validate bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/opslink demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml
	$(BIN)/python -m opslink_cli.asl_check statemachine/*.asl.json

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

# aws-sam-cli pins older boto3/pydantic: it lives in its own tool environment.
$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet "aws-sam-cli==1.170.0"
	touch $@

sam-validate: $(SAM_VENV)/.installed
	AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1 \
		$(SAM_VENV)/bin/sam validate --lint --template template.yaml

bench: $(STAMP)
	$(BIN)/python bench/external_calls.py
	$(BIN)/python bench/import_time.py 15
	$(BIN)/python bench/selection_simulation.py 400 30
	$(BIN)/python bench/state_transitions.py 100

clean:
	rm -rf $(VENV) $(SAM_VENV) .opslink .pytest_cache .mypy_cache .ruff_cache
