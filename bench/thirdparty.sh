# Shared by the scripts that run a third-party gateway as a conformance target on our mocks
# (bench/litellm/run.sh, bench/portkey/run.sh). Sourced, not run. Expects: PY (the suite's python),
# START_TIMEOUT_S, and a `log` function.

free_port() {  # for a program that binds its own port (auriko_conformance.servers.unused_port says why)
  "$PY" -c 'from auriko_conformance.servers import unused_port; print(unused_port())'
}

wait_for() {  # wait_for URL PID NAME LOGFILE: until URL answers 2xx, or exit 4 when PID dies or time runs out
  local url="$1" pid="$2" name="$3" logfile="$4" deadline=$((SECONDS + START_TIMEOUT_S))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited during start-up; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      exit 4
    fi
    if ((SECONDS > deadline)); then
      log "$name not ready at $url after ${START_TIMEOUT_S}s; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      exit 4
    fi
    sleep 0.3
  done
}

stop_pid() {  # TERM, up to 10 s to exit (a proxy drains connections), then KILL
  local pid="$1"
  [[ -z "$pid" ]] && return 0
  kill "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

start_mocks() {  # start_mocks REPORT_DIR: the mock providers on a free port; sets MOCK_URL and MOCKS_PID
  local report_dir="$1" mock_port
  mock_port="$(free_port)"
  MOCK_URL="http://127.0.0.1:$mock_port"
  "$PY" -m auriko_conformance.mocks.server --host 127.0.0.1 --port "$mock_port" --log-level warning \
    >"$report_dir/mocks.log" 2>&1 &
  MOCKS_PID=$!
  wait_for "$MOCK_URL/__mock/health" "$MOCKS_PID" mocks "$report_dir/mocks.log"
  log "mocks ready at $MOCK_URL"
}
