# The two commands a fresh machine needs: `make sandbox` and `make test` (python3 and make only).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: sandbox test lint unit features clean wheel examples

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## Run the sandbox until Ctrl+C (extra options: make sandbox ARGS="--no-tdc").
sandbox: $(STAMP)
	$(BIN)/tdcsim sandbox $(ARGS)

## Lint, type-check, then every unit test and Gherkin feature on two workers.
test: $(STAMP) lint
	$(BIN)/pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check simulator fixtures tests bench fuzz conftest.py
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests -n 2 --ignore=tests/test_acceptance.py

features: $(STAMP)
	$(BIN)/pytest tests/test_acceptance.py -n 2

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache sandbox-data *.egg-info build dist

## The distribution as a user gets it: a wheel in dist/ that installs nothing but the simulator package.
wheel: $(STAMP)
	rm -rf dist build
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .
	$(BIN)/python -c "import sys, zipfile, glob; wheel = glob.glob('dist/*.whl')[0]; \
	tops = {name.split('/')[0] for name in zipfile.ZipFile(wheel).namelist()}; \
	extra = sorted(t for t in tops if not t.endswith('.dist-info') and t != 'simulator'); \
	sys.exit(f'{wheel} installs {extra} besides simulator' if extra else 0)"

## The examples/ project (an outside suite: its own feature, our steps), run from the built wheel in a
## separate virtual environment: what `pip install tdc-simulator` really gives.
EXAMPLES_VENV := build/examples-venv
examples: wheel
	$(PYTHON) -m venv $(EXAMPLES_VENV)
	$(EXAMPLES_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(EXAMPLES_VENV)/bin/python -m pip install --quiet dist/*.whl
	cd examples && ../$(EXAMPLES_VENV)/bin/python -m pytest

## Benchmark (issue 5): baseline vs sandbox throughput, journal latency, soak memory; writes
## bench/results/latest.json. Options: make bench ARGS="--smoke" or ARGS="--messages 3000 --soak 20000 --profile".
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m bench.run $(ARGS)

## Fuzz (issue 9): N seeded SMTP sessions against a `tdcsim sandbox` child; exits 1 on an internal-error
## reply, a dead worker, a lost legitimate message or a crash. make fuzz N=10000 SEED=7 ARGS="--only 512".
N    ?= 1000
SEED ?= 1
.PHONY: fuzz
fuzz: $(STAMP)
	$(BIN)/python -m fuzz.run --sessions $(N) --seed $(SEED) $(ARGS)
