#!/usr/bin/env bash
# LiteLLM's proxy as a conformance target, with our mock providers as its upstreams (docs/litellm.md).
#
#   bench/litellm/run.sh [run ARGS]  install (once), start mocks + proxy, run the suites, stop both
#   bench/litellm/run.sh serve      install (once), start mocks + proxy, print their URLs, wait for Ctrl-C
#   bench/litellm/run.sh install    only create/refresh .venv-litellm
#   bench/litellm/run.sh fuzz [ARGS] install (once), start mocks + proxy, run `auriko-conformance fuzz`
#                                   against the proxy (report in reports/litellm-fuzz), stop both
#
# LiteLLM lives in its own venv (.venv-litellm): installing it into .venv would move shared
# dependency versions (openai, httpx, pydantic, fastapi ...). The mocks and the suite run from .venv.
# Extra arguments go to `auriko-conformance run` (e.g. `run -k test_models`, `run -- -p myplugin`).
#
# Exit status: 0 when the suite ran and wrote its report (whatever LiteLLM's verdicts are: the report
# is the product); non-zero when the harness itself failed: 3 install, 4 start-up, 6 the proxy crashed
# mid-run twice, else the runner's own code (no report).
# Only 127.0.0.1 is used.
set -euo pipefail
cd "$(dirname "$0")/../.."

LITELLM_VERSION="${LITELLM_VERSION:-1.108.7}"
PYTHON="${PYTHON:-python3}"
VENV="${LITELLM_VENV:-.venv-litellm}"
PY=".venv/bin/python"
REPORT_DIR="${REPORT_DIR:-reports/litellm}"
API_KEY="ak_test_litellm"          # general_settings.master_key in bench/litellm/config.yaml
PROFILE="fixtures/profiles/litellm.yaml"
# Both runs carry this label (the proxy's port changes from run to run), so the fuzz results can join
# the suites' report.
LABEL="litellm-proxy $LITELLM_VERSION"
CONFIG_TEMPLATE="bench/litellm/config.yaml"
START_TIMEOUT_S="${START_TIMEOUT_S:-90}"

MODE="${1:-run}"
[[ $# -gt 0 ]] && shift

log() { printf '[conformance-litellm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

install_litellm() {
  local stamp="$VENV/.installed-litellm-$LITELLM_VERSION-extra_proxy"
  if [[ -f "$stamp" ]]; then
    return
  fi
  local started=$SECONDS
  log "installing litellm[proxy,extra_proxy]==$LITELLM_VERSION into $VENV (first time: about a minute)"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 \
    | grep -v '^WARNING: Location' >&2 || true
  # extra_proxy as well: it brings `prisma`, which the proxy imports in its unhandled-error path; without
  # it a request with no API key crashes that handler into a plain-text 500 (a broken install, not
  # LiteLLM's behaviour: its Docker image ships prisma).
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "litellm[proxy,extra_proxy]==$LITELLM_VERSION" 2>&1 \
    | grep -v '^WARNING: Location' >&2 || true
  "$VENV/bin/python" -c "import litellm.proxy.proxy_server, prisma.errors" >/dev/null 2>&1 \
    || { log "litellm[proxy,extra_proxy]==$LITELLM_VERSION did not install"; exit 3; }
  touch "$stamp"
  log "installed in $((SECONDS - started)) s"
}

# shellcheck source=../thirdparty.sh
source "bench/thirdparty.sh"

MOCKS_PID=""
PROXY_PID=""
WORK_DIR=""
stop_all() {
  stop_pid "$PROXY_PID"
  stop_pid "$MOCKS_PID"
  [[ -n "$WORK_DIR" ]] && rm -rf "$WORK_DIR"
  PROXY_PID="" MOCKS_PID="" WORK_DIR=""
  return 0
}

start_servers() {
  mkdir -p "$REPORT_DIR"
  WORK_DIR="$(mktemp -d)"
  trap stop_all EXIT
  trap 'exit 130' INT TERM

  local proxy_port
  start_mocks "$REPORT_DIR"

  sed "s#__MOCK_URL__#$MOCK_URL#g" "$CONFIG_TEMPLATE" >"$WORK_DIR/config.yaml"
  cp "$WORK_DIR/config.yaml" "$REPORT_DIR/litellm-config.yaml"
  proxy_port="$(free_port)"
  TARGET_URL="http://127.0.0.1:$proxy_port"
  local started=$SECONDS
  # No network but the package registries: use the cost map bundled with the package instead of
  # fetching it at start-up. No DATABASE_URL: the master key is the only key.
  env -u DATABASE_URL LITELLM_LOCAL_MODEL_COST_MAP=True \
    "$VENV/bin/litellm" --config "$WORK_DIR/config.yaml" --host 127.0.0.1 --port "$proxy_port" \
    >"$REPORT_DIR/litellm.log" 2>&1 &
  PROXY_PID=$!
  wait_for "$TARGET_URL/health/liveliness" "$PROXY_PID" "litellm proxy" "$REPORT_DIR/litellm.log"
  log "litellm proxy $LITELLM_VERSION ready at $TARGET_URL after $((SECONDS - started)) s"
}

case "$MODE" in
  install)
    install_litellm
    ;;
  serve)
    install_litellm
    start_servers
    log "serving: target $TARGET_URL (key $API_KEY), mocks $MOCK_URL; Ctrl-C stops both"
    wait "$PROXY_PID"
    ;;
  run)
    total_started=$SECONDS
    install_litellm
    mkdir -p "$REPORT_DIR"
    rm -f "$REPORT_DIR"/litellm-crash-*.log
    # LiteLLM 1.108.7 on CPython 3.11 sometimes dies mid-run with a segfault in libpython
    # (docs/litellm.md); every later test then fails to connect, which says nothing about the contract.
    # Such a run is repeated once on a fresh proxy; a second crash is reported as a harness failure.
    crash_retries="${CRASH_RETRIES:-1}"
    for ((attempt = 0; attempt <= crash_retries; attempt++)); do
      start_servers
      rm -f "$REPORT_DIR/results.json"
      suite_started=$SECONDS
      set +e
      # --fail-on never: exit 0 whenever the run completed and wrote its report, whatever the verdicts.
      .venv/bin/auriko-conformance run --target-url "$TARGET_URL" --api-key "$API_KEY" \
        --mock-url "$MOCK_URL" --target-profile "$PROFILE" --target-label "$LABEL" \
        --report-dir "$REPORT_DIR" --fail-on never "$@"
      code=$?
      crashed=0
      if ! kill -0 "$PROXY_PID" 2>/dev/null; then
        wait "$PROXY_PID"
        status=$?
        crashed=1
      fi
      set -e
      log "suite finished in $((SECONDS - suite_started)) s (exit $code); total $((SECONDS - total_started)) s"
      if ((crashed)); then
        cp "$REPORT_DIR/litellm.log" "$REPORT_DIR/litellm-crash-$((attempt + 1)).log"
        log "the LiteLLM proxy died during the run (exit status $status; 139 = SIGSEGV); the tests after" \
          "the crash failed to connect: that report is not a verdict"
      fi
      stop_all
      ((crashed)) || break
      ((attempt < crash_retries)) && log "running the suite again on a fresh proxy"
    done
    if ((crashed)); then
      log "the proxy crashed in every attempt; see $REPORT_DIR/litellm-crash-*.log"
      exit 6
    fi
    if [[ $code -eq 0 && -s "$REPORT_DIR/results.json" ]]; then
      log "report: $REPORT_DIR/report.html (LiteLLM's failures are findings, not a harness error)"
      exit 0
    fi
    log "the suite did not complete (exit $code); see $REPORT_DIR/litellm.log and mocks.log"
    exit "$((code == 0 ? 2 : code))"  # 0 without results.json is still a harness failure
    ;;
  fuzz)
    # schemathesis over openapi.yaml against the proxy (docs/fuzzing.md, docs/litellm.md "Fuzzing").
    # Bounded: --max-examples 20 by default (the coverage phase is ~1,200 requests whatever it says),
    # and the whole fuzz run is cut after FUZZ_TIMEOUT_S. Extra arguments go to `auriko-conformance fuzz`
    # after the defaults, so `fuzz --max-examples 50` overrides.
    # Exit status: 0 when fuzz.json was written (LiteLLM's failures are findings), else a harness failure.
    REPORT_DIR="${FUZZ_REPORT_DIR:-reports/litellm-fuzz}"
    FUZZ_TIMEOUT_S="${FUZZ_TIMEOUT_S:-540}"
    total_started=$SECONDS
    install_litellm
    start_servers
    rm -f "$REPORT_DIR/fuzz.json"
    set +e
    timeout --signal=INT --kill-after=20 "$FUZZ_TIMEOUT_S" \
      .venv/bin/auriko-conformance fuzz --target-url "$TARGET_URL" --api-key "$API_KEY" \
        --target-profile "$PROFILE" --target-label "$LABEL" --report-dir "$REPORT_DIR" --max-examples 20 "$@"
    code=$?
    set -e
    log "fuzz finished (exit $code; 1 = findings); total $((SECONDS - total_started)) s"
    kill -0 "$PROXY_PID" 2>/dev/null || log "the LiteLLM proxy died during the fuzz run; see $REPORT_DIR/litellm.log"
    stop_all
    if [[ -s "$REPORT_DIR/fuzz.json" ]] && ((code <= 1)); then
      log "report: $REPORT_DIR/fuzz.json (LiteLLM's failures are findings, not a harness error)"
      suite_results="${SUITE_REPORT_DIR:-reports/litellm}/results.json"
      if [[ -s "$suite_results" ]]; then  # the suites' last run and this fuzz run in one page
        .venv/bin/auriko-conformance report "$suite_results" --fuzz "$REPORT_DIR/fuzz.json" \
          --label "$LABEL" -o "$REPORT_DIR/report.html" >/dev/null \
          && log "with the suites' results of $suite_results: $REPORT_DIR/report.html"
      fi
      exit 0
    fi
    log "the fuzz run did not complete (exit $code); see $REPORT_DIR/litellm.log and mocks.log"
    exit "$((code == 0 ? 2 : code))"
    ;;
  *)
    echo "usage: $0 [run|serve|install|fuzz] [-- extra auriko-conformance run/fuzz args]" >&2
    exit 2
    ;;
esac
