# Two commands do everything on a fresh machine that has python3:
#   make conformance   create .venv, install, start the mocks and the reference gateway, run the suites, write the report
#   make test          the project's own tests (and ruff)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
REPORT_DIR ?= reports

.PHONY: install test test-fast lint conformance clean soak test-reliability fuzz-ci wheel

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The project's own tests, slow ones included. pytest's exit code passes through unchanged
# (5 = nothing collected is a failure here too).
test: lint
	$(BIN)/python -m pytest -p no:cacheprovider

# Quick loop while developing: no lint, no slow tests.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider -m "not slow" -x -q

# Runs the suites against the embedded reference gateway and mocks (or TARGET_URL when set).
conformance: $(STAMP)
	$(BIN)/auriko-conformance run --report-dir $(REPORT_DIR) $(if $(TARGET_URL),--target-url $(TARGET_URL))

# The wheel a gateway team installs (docs/ci.md, "Building the wheel"): dist/auriko_conformance-*.whl.
wheel: $(STAMP)
	$(BIN)/python -m pip wheel --quiet --no-deps -w dist .

clean:
	rm -rf $(VENV) $(REPORT_DIR) .pytest_cache .ruff_cache dist build

# The short, seeded, deterministic schemathesis run CI does (docs/fuzzing.md): ~1,450 requests, ~20 s.
fuzz-ci: $(STAMP)
	$(BIN)/auriko-conformance fuzz --max-examples 25 --report-dir $(REPORT_DIR)

# Reliability (docs/reliability.md): 10,000 requests, half streaming, concurrency 64, with a fault mix.
soak: $(STAMP)
	$(BIN)/python bench/soak.py --json $(REPORT_DIR)/soak.json

test-reliability: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider tests/reliability -m "not slow"

# LiteLLM's proxy as a third-party target (docs/litellm.md): litellm[proxy] in its own venv
# (.venv-litellm), our mocks as its upstreams, report in reports/litellm. Exits 0 when the report
# was written, whatever LiteLLM's verdicts; non-zero only for a harness failure.
.PHONY: conformance-litellm
conformance-litellm: $(STAMP)
	PYTHON=$(PYTHON) REPORT_DIR=$(REPORT_DIR)/litellm bash bench/litellm/run.sh run

# Portkey's open-source gateway as a second third-party target (docs/portkey.md): installed with npm into
# .portkey, routed by header through bench/portkey/profile.yaml, our mocks as its upstreams, report in
# reports/portkey. Exits 0 when the report was written, whatever Portkey's verdicts.
.PHONY: conformance-portkey
conformance-portkey: $(STAMP)
	REPORT_DIR=$(REPORT_DIR)/portkey bash bench/portkey/run.sh run

# Benchmarks (docs/performance.md): the mocks, the reference gateway and, when .venv-litellm exists,
# LiteLLM's proxy, each in its own process on the same mocks; writes $(REPORT_DIR)/bench/bench.json,
# bench.md and bench.png. Installs wrk (Debian) and the pinned matplotlib + locust into .venv on demand.
# Options through BENCH_ARGS, e.g. BENCH_ARGS="--quick" or "--no-suites --long --write-docs".
.PHONY: bench
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } \
	  || { echo "make bench needs wrk: apt-get install -y wrk" >&2; exit 1; }
	@$(BIN)/python -c "import matplotlib, locust" 2>/dev/null || $(BIN)/python -m pip install --quiet \
	  --disable-pip-version-check 'matplotlib==3.11.2' 'locust==2.47.0' 2>&1 | grep -v '^WARNING: Location' >&2 || true
	$(BIN)/auriko-conformance bench --out $(REPORT_DIR)/bench $(BENCH_ARGS)
