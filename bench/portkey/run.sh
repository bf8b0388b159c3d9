#!/usr/bin/env bash
# Portkey's open-source AI gateway as a conformance target, with our mock providers as its upstreams
# (docs/portkey.md): a gateway the suite was not written against, which routes by request header.
#
#   bench/portkey/run.sh [run ARGS]  install (once), start mocks + gateway, run the suites, stop both
#   bench/portkey/run.sh serve       install (once), start mocks + gateway, print their URLs, wait
#   bench/portkey/run.sh install     only install into .portkey (npm, pinned in bench/portkey/package.json)
#
# Extra arguments go to `auriko-conformance run`. Exit status: 0 when the suite ran and wrote its report
# (whatever Portkey's verdicts are: the report is the product); 3 install, 4 start-up, else the runner's
# own harness code. Only 127.0.0.1 is used.
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=".venv/bin/python"
PREFIX="${PORTKEY_PREFIX:-.portkey}"
REPORT_DIR="${REPORT_DIR:-reports/portkey}"
API_KEY="sk-conformance-portkey"   # passed on upstream as the provider key (Portkey has no keys of its own)
VERSION="$(sed -n 's/.*"@portkey-ai\/gateway": "\(.*\)".*/\1/p' bench/portkey/package.json)"
LABEL="portkey-gateway $VERSION"
START_TIMEOUT_S="${START_TIMEOUT_S:-60}"
MODE="${1:-run}"
[[ $# -gt 0 ]] && shift

log() { printf '[conformance-portkey %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=../thirdparty.sh
source "bench/thirdparty.sh"

BUNDLE="$PREFIX/node_modules/@portkey-ai/gateway/build/start-server.js"

install_portkey() {
  local stamp="$PREFIX/.installed-$VERSION"
  [[ -f "$stamp" && -f "$BUNDLE" ]] && return
  command -v npm >/dev/null || { log "npm is needed (Node.js 18 or newer)"; exit 3; }
  log "installing @portkey-ai/gateway $VERSION into $PREFIX"
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX"
  cp bench/portkey/package.json "$PREFIX/"
  (cd "$PREFIX" && npm install --silent --no-audit --no-fund) >&2 || { log "npm install failed"; exit 3; }
  bash bench/portkey/patch-immutable-headers.sh "$BUNDLE" || exit 3
  touch "$stamp"
}

MOCKS_PID=""
GATEWAY_PID=""
stop_all() {
  stop_pid "$GATEWAY_PID"
  stop_pid "$MOCKS_PID"
  GATEWAY_PID="" MOCKS_PID=""
}

start_servers() {
  mkdir -p "$REPORT_DIR"
  trap stop_all EXIT
  trap 'exit 130' INT TERM
  start_mocks "$REPORT_DIR"
  sed "s#__MOCK_URL__#$MOCK_URL#g" bench/portkey/profile.yaml >"$REPORT_DIR/portkey-profile.yaml"
  local port
  port="$(free_port)"
  TARGET_URL="http://127.0.0.1:$port"
  node "$BUNDLE" "--port=$port" --headless >"$REPORT_DIR/portkey.log" 2>&1 &
  GATEWAY_PID=$!
  # Portkey answers GET / with a plain greeting once its server listens.
  wait_for "$TARGET_URL/" "$GATEWAY_PID" "portkey gateway" "$REPORT_DIR/portkey.log"
  log "portkey gateway $VERSION ready at $TARGET_URL"
}

case "$MODE" in
  install)
    install_portkey
    ;;
  serve)
    install_portkey
    start_servers
    log "serving: target $TARGET_URL (key $API_KEY, profile $REPORT_DIR/portkey-profile.yaml), mocks $MOCK_URL"
    wait "$GATEWAY_PID"
    ;;
  run)
    install_portkey
    start_servers
    rm -f "$REPORT_DIR/results.json"
    set +e
    .venv/bin/auriko-conformance run --target-url "$TARGET_URL" --api-key "$API_KEY" \
      --mock-url "$MOCK_URL" --target-profile "$REPORT_DIR/portkey-profile.yaml" --target-label "$LABEL" \
      --report-dir "$REPORT_DIR" --fail-on never "$@"
    code=$?
    set -e
    stop_all
    if [[ $code -eq 0 && -s "$REPORT_DIR/results.json" ]]; then
      log "report: $REPORT_DIR/report.html (Portkey's failures are findings, not a harness error)"
      exit 0
    fi
    log "the suite did not complete (exit $code); see $REPORT_DIR/portkey.log and mocks.log"
    exit "$((code == 0 ? 2 : code))"
    ;;
  *)
    echo "usage: $0 [run|serve|install] [extra auriko-conformance run args]" >&2
    exit 2
    ;;
esac
