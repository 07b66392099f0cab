# payops: `make run` serves everything on a bare machine; `make test` runs the whole suite.
# Python 3.11 (or 3.12): the first found on PATH.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || echo python3.11)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PORT ?= 8000

.PHONY: run test install lint format check-deploy schema clean bench reliability

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "payops needs Python 3.11 or 3.12 (python3.11) on PATH."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "Creating .venv failed: install your Python's venv module (Debian/Ubuntu: apt install python3.11-venv)."; exit 1; }
	$(BIN)/python -m pip install -q --upgrade pip || { rm -rf $(VENV); exit 1; }

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

.env:
	@printf 'DEBUG=1\nSECRET_KEY=%s\n' "$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > .env
	@echo "Wrote .env (DEBUG=1 and a fresh SECRET_KEY) for local development."

run: export PAYOPS_BASE_URL ?= http://127.0.0.1:$(PORT)
run: install .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "payops: http://127.0.0.1:$(PORT)/admin/ and the accountants' desk http://127.0.0.1:$(PORT)/desk/ (logins above) · API docs http://127.0.0.1:$(PORT)/api/docs/ · health http://127.0.0.1:$(PORT)/healthz"
	PAYOPS_PORT=$(PORT) $(BIN)/honcho -f Procfile.dev start

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks against their floors on a scratch PostgreSQL database (BENCHMARKS.md):
# SIZE=large (10k, 100k and 1M payments, the default), SIZE=small (10k: CI), or e.g. SIZE=100k,1m.
SIZE ?= large
bench: install
	$(BIN)/python -m benchmarks --sizes $(SIZE) $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: install
	DEBUG=1 $(BIN)/python manage.py spectacular --validate --fail-on-warn --file var/openapi.yaml

clean:
	rm -rf $(VENV) var

# The long reliability checks on the real services (gunicorn, Celery workers, a second Redis):
# storms, faults, schemathesis with more examples. CI runs it after `make test` (~10 minutes).
reliability: install
	PAYOPS_RELIABILITY=1 PAYOPS_FUZZ_EXAMPLES=$${PAYOPS_FUZZ_EXAMPLES:-60} \
		$(BIN)/python -m pytest -m long tests/reliability $(PYTEST_ARGS)
	PAYOPS_RELIABILITY=1 PAYOPS_MONEY_EXAMPLES=$${PAYOPS_MONEY_EXAMPLES:-400} \
		$(BIN)/python -m pytest tests/reliability/test_money_properties.py $(PYTEST_ARGS)
