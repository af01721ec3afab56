# OpsLink developer commands. Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SAM_VENV ?= .venv-sam
CHECKOV_VENV ?= .venv-checkov
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format typecheck validate sam-validate bench clean \
	sam-local-invoke sam-local-start-lambda

# uv (pinned, in its own tool environment) installs the pinned set in seconds; pip is
# the fallback where uv cannot reach the index.
UV_VENV ?= .venv-uv
UV := $(UV_VENV)/bin/uv
UV_VERSION := 0.13.9
UV_INSTALL = $(UV) pip install --quiet --native-tls --python

$(UV):
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(STAMP): pyproject.toml package-lock.json | $(UV)
	$(PYTHON) -m venv $(VENV)
	$(UV_INSTALL) $(BIN)/python -e '.[dev]' || $(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Vendor API descriptions the tests validate against (GitHub OpenAPI, webhook schemas).
	npm ci --no-audit --no-fund --loglevel=error
	@# Debian's chromium and the CJK fonts: the report's browser test and Chinese labels.
	bash scripts/browser-deps.sh
	touch $(STAMP)

# aws-sam-cli (the SAM translator the least-privilege test reviews) and checkov pin
# their own pydantic: each lives in its own tool environment.
install: $(STAMP) $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed

# The SAM tool environment too (seconds with uv): `opslink doctor --local` right after
# the demo reviews template.yaml with its translator.
demo: $(STAMP) $(SAM_VENV)/.installed
	$(BIN)/opslink demo

test: $(STAMP) $(SAM_VENV)/.installed
	$(BIN)/python -m pytest -q -n 2 --dist worksteal

lint: $(STAMP) $(CHECKOV_VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml forwarder.yaml
	@# An independent IaC scanner: 0 failed checks; every skip is declared, with its
	@# reason, in the resource's Metadata.
	BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --skip-download --quiet --compact --framework cloudformation -f template.yaml -f forwarder.yaml
	$(BIN)/python -m opslink_cli.asl_check statemachine/*.asl.json

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

# aws-sam-cli pins older boto3/pydantic: it lives in its own tool environment.
$(SAM_VENV)/.installed: | $(UV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(UV_INSTALL) $(SAM_VENV)/bin/python "aws-sam-cli==1.170.0" \
		|| $(SAM_VENV)/bin/python -m pip install --quiet "aws-sam-cli==1.170.0"
	touch $@

$(CHECKOV_VENV)/.installed: | $(UV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(UV_INSTALL) $(CHECKOV_VENV)/bin/python "checkov==3.3.30" \
		|| $(CHECKOV_VENV)/bin/python -m pip install --quiet "checkov==3.3.30"
	touch $@

# No telemetry from the SAM CLI (and no other off-box traffic than the package index).
export SAM_CLI_TELEMETRY := 0

sam-validate: $(SAM_VENV)/.installed
	AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1 \
		$(SAM_VENV)/bin/sam validate --lint --template template.yaml

# sam local runs the functions in Docker against a running `opslink local serve`
# (events/local-env.json points them at host.docker.internal:5055).
SAM_LOCAL_EVENT ?= events/sns-metric-alarm.json
SAM_LOCAL_FUNCTION ?= IngestFunction
DOCKER_HOST_IP ?= 172.17.0.1
DOCKER_CHECK = docker info >/dev/null 2>&1 || { echo "sam local needs a running Docker engine (none here): use 'opslink local run $(SAM_LOCAL_EVENT)' instead"; exit 2; }

sam-local-invoke:
	@$(DOCKER_CHECK)
	@$(MAKE) --no-print-directory $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/sam build
	$(SAM_VENV)/bin/sam local invoke $(SAM_LOCAL_FUNCTION) -e $(SAM_LOCAL_EVENT) \
		--env-vars events/local-env.json --region us-east-1 \
		--add-host host.docker.internal:$(DOCKER_HOST_IP)

sam-local-start-lambda:
	@$(DOCKER_CHECK)
	@$(MAKE) --no-print-directory $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/sam build
	$(SAM_VENV)/bin/sam local start-lambda --env-vars events/local-env.json --region us-east-1 \
		--add-host host.docker.internal:$(DOCKER_HOST_IP)

bench: $(STAMP)
	$(BIN)/python bench/external_calls.py
	$(BIN)/python bench/import_time.py 15
	$(BIN)/python bench/layer_cold_start.py 9
	$(BIN)/python bench/selection_simulation.py 100 100
	$(BIN)/python bench/state_transitions.py 100
	$(BIN)/python bench/faults.py 300
	$(BIN)/python bench/cost.py
	$(BIN)/python bench/kpi_cost.py 5
	$(BIN)/python bench/safety.py
	$(BIN)/python bench/correlation.py 20

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) $(UV_VENV) .opslink .pytest_cache .mypy_cache .ruff_cache
