# Two commands on a fresh machine (see README):
#   make reproduce   set everything up, then run the main job (hybrid-plugin reproduce --quick)
#   make test        set everything up, then run the whole test suite
PYTHON ?= python3
TORCH_INDEX ?=
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test test-fast reproduce clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first. On this project's machines the package index serves the CPU build of torch==2.13.0; on a stock
	# Linux machine PyPI's torch is the CUDA build (several GB): pass TORCH_INDEX=https://download.pytorch.org/whl/cpu
	# (or any index that serves the build you want), e.g. `make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu`.
	$(BIN)/python -m pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(STAMP)

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

# a local copy of the evaluation sets, where there is one (else they are downloaded from their public release)
DATA ?= $(wildcard ../shared/data)

reproduce: setup
	$(BIN)/hybrid-plugin reproduce --quick $(if $(DATA),--data-root $(DATA))

clean:
	rm -rf $(VENV) build *.egg-info
