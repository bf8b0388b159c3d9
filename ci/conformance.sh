#!/usr/bin/env bash
# Run the Auriko conformance suite against YOUR gateway, in any CI.
#
#   GATEWAY_CMD   command that starts your gateway in the foreground, configured to use the mock
#                 providers at $MOCK_URL as its upstreams (the script exports MOCK_URL before running it)
#   GATEWAY_URL   base URL of your gateway once started (e.g. http://127.0.0.1:8080)
#   API_KEY       a key your gateway accepts
# optional:
#   SUITE_SPEC    what pip installs (default: auriko-conformance; a wheel path or a git URL works:
#                 "auriko-conformance @ git+https://github.com/ORG/auriko-conformance@v0.1.0")
#   PROFILE       target profile YAML (model names, claimed features, prices) -- see fixtures/profiles/
#   FAIL_ON       must (default) | any | never
#   REPORT_DIR    default ./conformance-report
#   VENV          where to install the suite (default ./.conformance-venv)
#   MOCK_PORT     default 8900
#   LEVEL         core | auriko | full (default full)
#   FUZZ_MAX_EXAMPLES  when set (25 is a CI-sized run), also fuzz the gateway from openapi.yaml with
#                 schemathesis; its results join the same report.html and junit.xml (Fuzzing section)
#   FUZZ_SEED     with FUZZ_MAX_EXAMPLES: random generation with this seed instead of deterministic
#
#   HEADERS       extra request headers, one 'Name: value' per line (gateways that route by header)
#
# Exit status: 0 when the run passes under FAIL_ON (and the fuzz run, when asked, found nothing),
# 1 when either fails, 2+ when the harness could not judge the gateway: 2 bad option or profile,
# 3 preflight failed (gateway or mocks unreachable, key refused), 4 stopped early (the gateway kept
# timing out), 5 the harness broke (docs/ci.md, "Exit codes").
# The report (report.html, results.json, junit.xml) is in REPORT_DIR either way.
set -euo pipefail

: "${GATEWAY_CMD:?set GATEWAY_CMD to the command that starts your gateway}"
: "${GATEWAY_URL:?set GATEWAY_URL to your gateway base URL}"
: "${API_KEY:?set API_KEY to a key your gateway accepts}"
SUITE_SPEC="${SUITE_SPEC:-auriko-conformance}"
FAIL_ON="${FAIL_ON:-must}"
REPORT_DIR="${REPORT_DIR:-conformance-report}"
VENV="${VENV:-.conformance-venv}"
MOCK_PORT="${MOCK_PORT:-8900}"
LEVEL="${LEVEL:-full}"
export MOCK_URL="http://127.0.0.1:${MOCK_PORT}"

log() { echo "[conformance] $*" >&2; }

wait_for() {  # url, what, seconds
    local deadline=$((SECONDS + $3))
    until curl -s -o /dev/null "$1"; do
        if ((SECONDS > deadline)); then log "$2 did not come up at $1"; return 1; fi
        sleep 0.2
    done
}

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

if [[ ! -x "$VENV/bin/auriko-conformance" ]]; then
    log "installing $SUITE_SPEC into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$SUITE_SPEC"
fi

log "starting the mock providers at $MOCK_URL"
"$VENV/bin/auriko-conformance" mocks --host 127.0.0.1 --port "$MOCK_PORT" &
pids+=($!)
wait_for "$MOCK_URL/__mock/health" "the mock providers" 30

log "starting the gateway: $GATEWAY_CMD"
bash -c "$GATEWAY_CMD" &
pids+=($!)
wait_for "$GATEWAY_URL" "the gateway" "${GATEWAY_START_TIMEOUT:-60}"

args=(run --target-url "$GATEWAY_URL" --api-key "$API_KEY" --mock-url "$MOCK_URL" --level "$LEVEL"
      --report-dir "$REPORT_DIR" --fail-on "$FAIL_ON")
if [[ -n "${PROFILE:-}" ]]; then args+=(--target-profile "$PROFILE"); fi
headers=()
while IFS= read -r line; do
    if [[ -n "$line" ]]; then headers+=(--header "$line"); fi
done <<< "${HEADERS:-}"
args+=("${headers[@]}")
log "running the suites"
set +e
"$VENV/bin/auriko-conformance" "${args[@]}"
status=$?
set -e

if [[ -n "${FUZZ_MAX_EXAMPLES:-}" ]]; then
    fuzz=(fuzz --target-url "$GATEWAY_URL" --api-key "$API_KEY" --report-dir "$REPORT_DIR"
          --max-examples "$FUZZ_MAX_EXAMPLES")
    if [[ -n "${PROFILE:-}" ]]; then fuzz+=(--target-profile "$PROFILE"); fi
    fuzz+=("${headers[@]}")
    if [[ -n "${FUZZ_SEED:-}" ]]; then fuzz+=(--no-deterministic --seed "$FUZZ_SEED"); fi
    log "fuzzing from openapi.yaml (max-examples $FUZZ_MAX_EXAMPLES)"
    set +e
    "$VENV/bin/auriko-conformance" "${fuzz[@]}"
    fuzz_status=$?
    set -e
    if ((fuzz_status > status)) && [[ "$FAIL_ON" != never || $fuzz_status -gt 1 ]]; then
        status=$fuzz_status
    fi
fi
log "report: $REPORT_DIR/report.html (exit $status)"
exit "$status"
