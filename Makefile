# Two commands on a fresh machine (see README):
#   make reproduce   set everything up, then run the main job (hybrid-plugin reproduce --quick)
#   make test        set everything up, then run the whole test suite
PYTHON ?= python3
TORCH_INDEX ?=
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup browser test test-fast reproduce leaderboard clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first. On this project's machines the package index serves the CPU build of torch==2.13.0; on a stock
	# Linux machine PyPI's torch is the CUDA build (several GB): pass TORCH_INDEX=https://download.pytorch.org/whl/cpu
	# (or any index that serves the build you want), e.g. `make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu`.
	$(BIN)/python -m pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(STAMP) browser

# The leaderboard page's browser test (tests/analysis/test_html_browser.py) drives Debian's Chromium through its
# chromedriver (Selenium, in the test extra). Installed here when missing and apt-get can be used as root; else
# that test is skipped and says why.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium and chromium-driver for the browser test"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium chromium-driver fonts-dejavu-core >/dev/null) \
		|| echo "could not install chromium: the browser test will be skipped"; \
	else echo "no chromium and no apt-get as root: the browser test will be skipped"; fi

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

# a local copy of the evaluation sets, where there is one (else they are downloaded from their public release)
DATA ?= $(wildcard ../shared/data)

reproduce: setup
	$(BIN)/hybrid-plugin reproduce --quick $(if $(DATA),--data-root $(DATA))

# the project's leaderboard page and its Markdown / CSV twins, from the committed results
# (benchmarks/leaderboard/README.md says what is on it)
# the recipe study's untuned base is the full study's (the same model and sets): only its debiased twin is added
LEADERBOARD_RESULTS = benchmarks/results/bm25/* $(foreach study,full sweep,\
	benchmarks/reproduce/$(study)/eval/*/base benchmarks/reproduce/$(study)/eval/*/*/seed*) \
	$(wildcard benchmarks/reproduce/recipe/eval/*/base+*) $(wildcard benchmarks/reproduce/recipe/eval/*/*/seed*)

leaderboard: setup
	$(BIN)/hybrid-plugin report $(LEADERBOARD_RESULTS) --out benchmarks/leaderboard \
		--html benchmarks/leaderboard/index.html

clean:
	rm -rf $(VENV) build *.egg-info
