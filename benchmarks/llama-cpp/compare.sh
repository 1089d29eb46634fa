#!/usr/bin/env bash
# One pass of xllm against llama.cpp on the same weights, pair by pair (the order within a pair flips with the
# pass number, so that alternate passes cancel drift): llama-bench -p 512 -n 128 -r 3 beside
# xllm bench offline --prompt-len 512 --gen-len 128 --batch 1,8,32. One JSON line per run.
#
#   benchmarks/llama-cpp/compare.sh PASS LLAMA_BENCH NAME=FILE.gguf[:xllm options] ...
#
# BATCH (default 1,8,32) and GEN (default 128) change xllm's batch sizes and generated tokens. After each xllm run,
# xllm bench membw's read bandwidth (who "membw", read_gbps): the ceiling of that run's decode_gbps, measured beside it.
#
# e.g. compare.sh 1 ~/llama.cpp/build/bin/llama-bench bf16=models/gguf/pycoder-22m-bf16.gguf
#      q8-at-load=models/gguf/pycoder-22m-bf16.gguf:"--model models/pycoder-22m --quantization q8_0"
#
# The serving pair: llama-server (--parallel 8 -t 2) and xllm serve on the same file, one at a time, each under
# the same load client (xllm bench serve: 64-token prompts, 128 new tokens, ignore_eos, greedy) at 1 and 8
# streams, after one unmeasured round against the fresh server. Each round's prompts have a seed of their own, so
# no round finds another's prompts in a prefix cache. One JSON line per server and stream count.
#
#   benchmarks/llama-cpp/compare.sh serve PASS LLAMA_SERVER FILE.gguf [xllm serve options]
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$1" = serve ]; then
  pass="$2" server="$3" file="$4"
  shift 4
  port=$((18000 + RANDOM % 1000))
  ./xllm bench offline --batch 1 --prompt-len 8 --gen-len 8 --repeats 1 > /dev/null 2>&1  # builds if needed
  load() {  # WHO: the load client against the server on $port, after waiting for /health
    until curl -sf "http://127.0.0.1:$port/health" > /dev/null; do sleep 0.2; done
    XLLM_NO_BUILD=1 ./xllm bench serve --url "http://127.0.0.1:$port" --concurrency 8 --num-prompts 8 --input-len 64 --output-len 128 \
      --seed 100 > /dev/null
    for streams in 1 8; do
      echo "{\"who\":\"$1\",\"streams\":$streams,\"r\":$(XLLM_NO_BUILD=1 ./xllm bench serve --url "http://127.0.0.1:$port" \
        --concurrency $streams --num-prompts $((streams * 6)) --input-len 64 --output-len 128 --seed $((100 + streams)) --output json)}"
    done
  }
  llama_server() {
    "$server" -m "$file" --parallel 8 -t 2 --host 127.0.0.1 --port "$port" > /dev/null 2>&1 &
    local pid=$!
    load llama-server
    kill $pid; wait $pid 2> /dev/null || true
  }
  xllm_serve() {
    # shellcheck disable=SC2068
    XLLM_NO_BUILD=1 ./xllm serve --model "$file" --port "$port" $@ > /dev/null 2>&1 &
    local pid=$!
    load xllm
    kill $pid; wait $pid 2> /dev/null || true
  }
  if [ $((pass % 2)) -eq 1 ]; then llama_server; xllm_serve "$@"; else xllm_serve "$@"; llama_server; fi
  exit 0
fi
pass="$1" bench="$2"
shift 2
llama() {
  echo "{\"row\":\"$1\",\"who\":\"llama.cpp\",\"r\":$("$bench" -m "$2" -t 2 -p 512 -n 128 -r 3 -o json 2>/dev/null \
    | python3 -c 'import json,sys; print(json.dumps({("pp512" if x["n_prompt"] else "tg128"): round(x["avg_ts"], 1) for x in json.load(sys.stdin)}))')}"
}
xllm() {
  local name="$1"; shift
  # shellcheck disable=SC2068
  echo "{\"row\":\"$name\",\"who\":\"xllm\",\"r\":$(XLLM_NO_BUILD=1 ./xllm bench offline $@ --batch "${BATCH:-1,8,32}" --prompt-len 512 --gen-len "${GEN:-128}" --repeats 1 --output json 2>/dev/null | tail -1)}"
  echo "{\"row\":\"$name\",\"who\":\"membw\",\"r\":{\"read_gbps\":$(XLLM_NO_BUILD=1 ./xllm bench membw 2>/dev/null | sed -n 's/^read bandwidth: \([0-9.]*\) GB.*/\1/p')}}"
}
./xllm bench offline --batch 1 --prompt-len 8 --gen-len 8 --repeats 1 > /dev/null 2>&1  # builds if needed
for row in "$@"; do
  name="${row%%=*}" spec="${row#*=}"
  file="${spec%%:*}" opts="--model $file"
  [ "$spec" != "$file" ] && opts="${spec#*:}"
  if [ $((pass % 2)) -eq 1 ]; then llama "$name" "$file"; xllm "$name" $opts; else xllm "$name" $opts; llama "$name" "$file"; fi
done
