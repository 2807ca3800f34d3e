# Two commands set everything up: `make demo` and `make test`. Both create .venv when
# missing and install the project into it (torch pinned first: an unpinned torch pulls a
# multi-GB CUDA build).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.sophia-installed
HOST ?= 127.0.0.1
PORT ?= 3000
export SOPHIA_DATA_DIR ?= $(CURDIR)/.sophia
export DAGSTER_HOME ?= $(SOPHIA_DATA_DIR)/dagster_home
export HF_HUB_OFFLINE := 1

.PHONY: install home demo test test-fast lint ui bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The Dagster instance that `sophia-pipeline run`, `dagster dev` and CLI backfills share.
home:
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: $(STAMP) home
	$(VENV)/bin/sophia-pipeline sample
	$(VENV)/bin/sophia-pipeline run

test: $(STAMP) home
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/dagster definitions validate -w workspace.yaml
	$(VENV)/bin/pytest

# The inner loop: everything but the tests marked slow (model loads, subprocess CLIs,
# crash tests, long hypothesis runs), which `make test` still runs.
test-fast: $(STAMP) home
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The bench suite (bench/run_all.py; figures in bench/RESULTS.md): `make bench ARGS=--quick`
# for the short version. Installs the peer it measures against (LlamaIndex) first.
bench: $(STAMP)
	$(PY) -c "import llama_index.core, llama_index.embeddings.huggingface" 2>/dev/null \
		|| $(PY) -m pip install -q -e ".[bench]"
	PYTHONPATH=$(CURDIR) $(PY) bench/run_all.py $(ARGS)

ui: $(STAMP) home
	$(VENV)/bin/dagster dev -w workspace.yaml -h $(HOST) -p $(PORT)

clean:
	rm -rf $(SOPHIA_DATA_DIR)
