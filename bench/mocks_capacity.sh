#!/usr/bin/env bash
# Capacity of one mock process: non-stream OpenAI chat completions at concurrency 16 with wrk.
# Usage: bench/mocks_capacity.sh [duration=20s] [connections=16]
# Starts the mocks on a free loopback port, warms up, runs wrk, stops the server. Needs `wrk`
# (apt-get install -y wrk). Only 127.0.0.1 is targeted.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-20s}"
CONNECTIONS="${2:-16}"
PY="${PYTHON:-.venv/bin/python}"
PORT="$("$PY" -c 'from auriko_conformance.servers import unused_port; print(unused_port())')"  # the server binds it itself
"$PY" -m auriko_conformance.mocks.server --host 127.0.0.1 --port "$PORT" --log-level error &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$PORT/__mock/health" >/dev/null 2>&1 && break
  sleep 0.1
done
URL="http://127.0.0.1:$PORT/openai/v1/chat/completions"
wrk -t1 -c"$CONNECTIONS" -d3s -s bench/mocks_capacity.lua "$URL" >/dev/null  # warm-up
wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/mocks_capacity.lua "$URL"
