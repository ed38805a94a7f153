# Two commands do all the set-up: `make demo` and `make test`.
# Each creates .venv if it is missing, installs minigrad with what it needs,
# makes sure graphviz's `dot` is there (scripts/ensure-graphviz.sh), then runs;
# `make test` also makes sure headless Chromium and its driver are there for
# the browser tests of `minigrad.explore` (scripts/ensure-browser.sh).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= out

.PHONY: demo test bench fuzz graphviz browser clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[examples]"
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[test,examples,digits]"
	touch $@ $(VENV)/.demo-installed

graphviz:
	@sh scripts/ensure-graphviz.sh

browser:
	@sh scripts/ensure-browser.sh

demo: $(VENV)/.demo-installed graphviz
	$(PY) examples/demo.py $(OUT)

test: $(VENV)/.test-installed graphviz browser
	$(PY) -m pytest -q

bench: $(VENV)/.test-installed
	$(PY) -m pip install -q micrograd
	$(PY) benchmarks/run_all.py

fuzz: $(VENV)/.test-installed
	$(PY) tests/fuzz.py --examples 5000 --seed 0

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info .pytest_cache .hypothesis
