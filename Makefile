# The two entry points: `make test` (every check) and `make demo` (the main job).
# Both bootstrap .venv on a fresh machine with the pinned versions in constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# mermaid.js for the docs' diagrams, vendored at build time from npm (not committed):
# the site renders them offline. mkdocs-material 9.x expects mermaid 11.
MERMAID_VERSION := 11.17.2
MERMAID_JS := docs/js/mermaid.min.js
# Other Pythons `make test-pythons` runs the test suite on (pyproject's classifiers list them).
PYTHONS := 3.12 3.13

.PHONY: test demo fullstack browser-deps lint typecheck contracts verifytypes pytest docs bench bench-charts test-pythons clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=24'
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

contracts: $(STAMP)
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy --strict stytch_rbac tests examples scripts benchmarks

# The public API's type completeness as pyright sees it (a user's editor, not our mypy).
verifytypes: $(STAMP)
	$(BIN)/python scripts/verifytypes.py --minimum 98

# Debian's chromium and chromedriver (tests/browser) and node/npm (the page's bundle, the Node
# SDK conformance test): installed when missing, as root with apt-get. Elsewhere this says
# what is missing, and tests/browser skips with that reason (-rs prints it in the summary).
BROWSER_DEPS := chromium:chromium chromedriver:chromium-driver node:nodejs npm:npm
browser-deps:
	@missing=; for pair in $(BROWSER_DEPS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian packages:$$missing"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } \
	    || echo "apt-get install$$missing failed: tests/browser will skip, saying why"; \
	else \
	  echo "not installed:$$missing (needs root and apt-get): tests/browser will skip, saying why"; \
	fi

# The suite under branch coverage; `coverage report` fails below fail_under (pyproject.toml).
pytest: $(STAMP) browser-deps
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest -q -rs
	$(BIN)/coverage combine -q
	$(BIN)/coverage report

docs: $(STAMP) $(MERMAID_JS)
	@if [ -f mkdocs.yml ]; then NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site; fi

$(MERMAID_JS): Makefile
	@mkdir -p $(@D)
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent mermaid@$(MERMAID_VERSION) >/dev/null \
	  && tar xzf mermaid-$(MERMAID_VERSION).tgz package/dist/mermaid.min.js) \
	  && mv $$tmp/package/dist/mermaid.min.js $@ && rm -rf $$tmp
	@echo "vendored mermaid $(MERMAID_VERSION) into $@"

test: lint typecheck contracts verifytypes pytest docs

demo: $(STAMP)
	$(BIN)/stytch-rbac demo

# The full-stack example: the page (Stytch's frontend SDK), the FastAPI backend, one emulator.
fullstack: $(STAMP) browser-deps
	$(BIN)/python -m examples.fullstack

# Each benchmark runs BENCH_RUNS times (results/runs/); run_all.py publishes the median and
# spread in README.md and docs/benchmarks.md; charts.py draws docs/img/bench-*.svg from the
# last run. wrk is the guard benchmark's load generator: installed here when root.
BENCH_RUNS ?= 3
bench: $(STAMP)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >/dev/null; } \
	  || echo "wrk not installed: bench_guard.py uses its Python load generator"
	$(BIN)/python benchmarks/run_all.py --runs $(BENCH_RUNS)
	$(BIN)/python benchmarks/charts.py

bench-charts: $(STAMP)
	$(BIN)/python benchmarks/charts.py

# The test suite on the other Pythons of the classifiers, each in its own venv.
test-pythons:
	@for v in $(PYTHONS); do \
	  py=; for c in $$(command -v python$$v) $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$$v*/bin/python$$v; do \
	    if [ -x "$$c" ] && "$$c" -c '' 2>/dev/null; then py=$$c; break; fi; \
	  done; \
	  test -n "$$py" || { echo "python$$v not found"; exit 1; }; \
	  echo "== Python $$v ($$py)"; \
	  test -x .venv-$$v/bin/python || $$py -m venv .venv-$$v || exit 1; \
	  .venv-$$v/bin/python -m pip install --quiet --upgrade 'pip>=24' || exit 1; \
	  .venv-$$v/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]' || exit 1; \
	  .venv-$$v/bin/pytest -q -p no:cacheprovider || exit 1; \
	done

clean:
	rm -rf $(VENV) .venv-3.* site .mypy_cache .ruff_cache .hypothesis .coverage .coverage.* $(MERMAID_JS)
