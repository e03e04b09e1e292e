# Lanes: a thin, readable wrapper over `uv run`. README and CI call these targets.
#   make run        start Kafka, a MongoDB-wire server, auth, gateway and processors (PROCESSORS=3)
#   make test       the whole suite on real servers, provisioned on first use
#                   (with the container stack test; LANES_TEST_CONTAINERS=0 skips it)
#   make test-unit  the pure tests only: no network, no servers, no compiler
#   make provision  fetch and build everything the suite uses; ends with what each took
#   make image      build the Lanes container image here; prints its size and build time
#   make bench      accept, drain, scaling, head-of-line and memory (bench/results/<timestamp>/)

# Everything the project installs itself lives under LANES_HOME (git-ignored),
# and is resolved there by lanes_devstack.tools, never on PATH.
LANES_HOME ?= $(CURDIR)/.lanes
# Always the project's own uv, never one on PATH: a hand-installed uv would
# hide a missing install step. The Dockerfile's uv image pins the same version.
UV_VERSION := 0.13.9
UV := $(LANES_HOME)/tools/bin/uv
UV_INSTALLED := $(LANES_HOME)/tools/uv-$(UV_VERSION).dist-info
# `lanes-dev provision` shows these notes (name, action, source, seconds) in its summary.
TIMES := $(LANES_HOME)/provision-times.tsv
MEMBER_MANIFESTS := $(wildcard libs/*/pyproject.toml services/*/pyproject.toml tools/*/pyproject.toml)
PYTEST_ARGS ?=

.PHONY: all run test test-unit lint typecheck format provision image bench bench-processor clean

all: lint typecheck test

$(UV_INSTALLED):
	@command -v python3 >/dev/null || { echo "make: python3 (3.11+) is required to install uv"; exit 1; }
	@mkdir -p $(LANES_HOME)
	@echo "make: installing uv $(UV_VERSION) from PyPI into $(LANES_HOME)/tools"
	@start=$$(date +%s) && \
	python3 -m pip install --quiet --disable-pip-version-check --upgrade \
		--target $(LANES_HOME)/tools uv==$(UV_VERSION) && \
	printf 'uv %s\tinstalled\tPyPI\t%s\n' $(UV_VERSION) $$(( $$(date +%s) - start )) >> $(TIMES)

.venv/.synced: $(UV_INSTALLED) uv.lock pyproject.toml $(MEMBER_MANIFESTS)
	@start=$$(date +%s) && \
	$(UV) sync --frozen --all-packages && \
	printf 'Python packages\tsynced\tPyPI (uv sync)\t%s\n' $$(( $$(date +%s) - start )) >> $(TIMES)
	@touch $@

run: .venv/.synced
	$(UV) run lanes-dev run

provision: .venv/.synced
	$(UV) run lanes-dev provision

image: .venv/.synced
	$(UV) run lanes-dev image

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
	rm -rf $(LANES_HOME)/run .venv
