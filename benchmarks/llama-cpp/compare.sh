#!/usr/bin/env bash
# One pass of xllm against llama.cpp on the same weights, pair by pair (the order within a pair flips with the
# pass number, so that alternate passes cancel drift): llama-bench -p 512 -n 128 -r 3 beside
# xllm bench offline --prompt-len 512 --gen-len 128 --batch 1,8,32. One JSON line per run.
#
#   benchmarks/llama-cpp/compare.sh PASS LLAMA_BENCH NAME=FILE.gguf[:xllm options] ...
#
# e.g. compare.sh 1 ~/llama.cpp/build/bin/llama-bench bf16=models/gguf/pycoder-22m-bf16.gguf
#      q8-at-load=models/gguf/pycoder-22m-bf16.gguf:"--model models/pycoder-22m --quantization q8_0"
set -euo pipefail
cd "$(dirname "$0")/../.."
pass="$1" bench="$2"
shift 2
llama() {
  echo "{\"row\":\"$1\",\"who\":\"llama.cpp\",\"r\":$("$bench" -m "$2" -t 2 -p 512 -n 128 -r 3 -o json 2>/dev/null \
    | python3 -c 'import json,sys; print(json.dumps({("pp512" if x["n_prompt"] else "tg128"): round(x["avg_ts"], 1) for x in json.load(sys.stdin)}))')}"
}
xllm() {
  local name="$1"; shift
  # shellcheck disable=SC2068
  echo "{\"row\":\"$name\",\"who\":\"xllm\",\"r\":$(XLLM_NO_BUILD=1 ./xllm bench offline $@ --batch 1,8,32 --prompt-len 512 --gen-len 128 --repeats 1 --output json 2>/dev/null | tail -1)}"
}
./xllm bench offline --batch 1 --prompt-len 8 --gen-len 8 --repeats 1 > /dev/null 2>&1  # builds if needed
for row in "$@"; do
  name="${row%%=*}" spec="${row#*=}"
  file="${spec%%:*}" opts="--model $file"
  [ "$spec" != "$file" ] && opts="${spec#*:}"
  if [ $((pass % 2)) -eq 1 ]; then llama "$name" "$file"; xllm "$name" $opts; else xllm "$name" $opts; llama "$name" "$file"; fi
done
