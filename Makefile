# Lanes: a thin, readable wrapper over `uv run`. README and CI call these targets.
#   make run    start Kafka, FerretDB, auth, gateway and processors (PROCESSORS=3 for three)
#   make test   the whole suite on real servers, provisioned on first use
#   make bench  accept, drain, scaling, head-of-line and memory (bench/results/<timestamp>/)

# Use the uv on PATH, or install a private copy under the git-ignored .lanes folder.
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.lanes/tools/bin/uv)
PYTEST_ARGS ?=

.PHONY: all run test test-unit lint typecheck format provision bench bench-processor clean

all: lint typecheck test

$(CURDIR)/.lanes/tools/bin/uv:
	@command -v python3 >/dev/null || { echo "make: python3 (3.11+) is required to install uv"; exit 1; }
	python3 -m pip install --quiet --disable-pip-version-check --target $(CURDIR)/.lanes/tools uv

.venv/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --all-packages
	@touch $@

run: .venv/.synced
	$(UV) run lanes-dev run

provision: .venv/.synced
	$(UV) run lanes-dev provision

test: provision
	$(UV) run pytest $(PYTEST_ARGS)

test-unit: .venv/.synced
	$(UV) run pytest -m "not integration" $(PYTEST_ARGS)

lint: .venv/.synced
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck: .venv/.synced
	$(UV) run mypy

format: .venv/.synced
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

bench: provision
	$(UV) run python -m bench

bench-processor: provision
	$(UV) run python -m bench.processor

clean:
	rm -rf .lanes/run .venv
