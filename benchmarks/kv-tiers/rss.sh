#!/usr/bin/env bash
# Resident memory of a server: loaded, after one long prompt (PROMPT_FILE, ~1,900 tokens for the default model)
# with 64 new tokens, and 3 s later; and the KV cache's own resident bytes from /metrics.
# usage: rss.sh REPO_ROOT PORT PROMPT_FILE [serve options], e.g. rss.sh . 18402 prompt.txt --kv-cache-mb 8192 --kv-idle-release-s 1
set -euo pipefail
ROOT=$1; PORT=$2; PROMPT=$3; shift 3
cd "$ROOT"
XLLM_NO_BUILD=1 ./xllm serve --port "$PORT" "$@" > "/tmp/rss-$PORT.log" 2>&1 &
for _ in $(seq 1 300); do curl -sf "localhost:$PORT/health" >/dev/null && break; sleep 0.2; done
PID=$(ss -ltnp | grep ":$PORT " | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
rss() { awk '/VmRSS/ {printf "%d", $2/1024}' "/proc/$PID/status"; }
LOADED=$(rss)
python3 - "$PORT" "$PROMPT" <<'PY'
import json, sys, urllib.request
body = {"model": "pycoder-22m", "prompt": open(sys.argv[2]).read(), "max_tokens": 64, "temperature": 0, "ignore_eos": True}
urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/v1/completions", json.dumps(body).encode(),
                                              {"content-type": "application/json"})).read()
PY
AFTER=$(rss); sleep 3; IDLE=$(rss)
KV=$(curl -s "localhost:$PORT/metrics" | awk '/resident_memory_bytes\{part="kv"\}/ {printf "%d", $2/1048576}')
echo "$*: RSS loaded ${LOADED} MB, after the prompt ${AFTER} MB, idle ${IDLE} MB, KV resident ${KV:-n/a} MB"
kill "$PID"
