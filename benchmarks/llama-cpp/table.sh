#!/usr/bin/env bash
# The whole comparison with llama.cpp in one command: writes the GGUF files of every row (pycoder-22m in F32,
# BF16, Q8_0 and Q4_0; the Qwen2.5-0.5B shape and the Qwen3-MoE shape of `xllm synth`, random weights, in the same
# types where llama.cpp runs them), runs PASSES alternating passes of compare.sh on them and of its serving pair,
# and prints the tables: medians of the passes, with each row's ratio and the 0.5B and MoE decode against
# `xllm bench membw`'s read bandwidth. Raw results stay in OUT/*.jsonl; the models (about 7 GB) in OUT/models.
#
#   benchmarks/llama-cpp/table.sh PASSES OUT [LLAMA_DIR]
#
# LLAMA_DIR holds llama-bench, llama-server and gguf-py as setup.sh leaves them (default benchmarks/llama-cpp/sid,
# set up first if missing). Takes about 25 minutes a pass on 2 cores. ROWS=dense, ROWS=moe or ROWS=serve runs one
# part alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
passes="$1" out="$(mkdir -p "$2" && cd "$2" && pwd)" llama="${3:-benchmarks/llama-cpp/sid}"
[ -x "$llama/llama-bench" ] || benchmarks/llama-cpp/setup.sh "$llama"
export GGUF_PY="$llama/root/usr/lib/python3/dist-packages"
models="$out/models" tokenizer=models/gguf/pycoder-22m-bf16.gguf
mkdir -p "$models"
gguf() {  # SRC_DIR NAME TYPE: NAME-TYPE.gguf from SRC_DIR, unless written before
  [ -f "$models/$2-$3.gguf" ] || python3 benchmarks/llama-cpp/safetensors_to_gguf.py "$1" "$tokenizer" "$models/$2-$3.gguf" "$3"
}
./xllm bench offline --batch 1 --prompt-len 8 --gen-len 8 --repeats 1 > /dev/null 2>&1  # builds if needed
gguf models/pycoder-22m pycoder-22m f32
for shape in qwen2.5-0.5b qwen3-moe-small; do
  [ -f "$models/$shape/config.json" ] || XLLM_NO_BUILD=1 ./xllm synth --shape "$shape" --tokenizer models/pycoder-22m --out "$models/$shape"
done
for type in f32 bf16 q8_0 q4_0; do gguf "$models/qwen2.5-0.5b" qwen2.5-0.5b "$type"; done
for type in bf16 q8_0; do gguf "$models/qwen3-moe-small" qwen3-moe-small "$type"; done
dense=(f32="$models/pycoder-22m-f32.gguf" bf16=models/gguf/pycoder-22m-bf16.gguf q8_0=models/gguf/pycoder-22m-q8_0.gguf
  q4_0=models/gguf/pycoder-22m-q4_0.gguf)
for type in f32 bf16 q8_0 q4_0; do dense+=(0.5b-$type="$models/qwen2.5-0.5b-$type.gguf"); done
moe=(moe-bf16="$models/qwen3-moe-small-bf16.gguf" moe-q8_0="$models/qwen3-moe-small-q8_0.gguf")
for pass in $(seq 1 "$passes"); do
  case "${ROWS:-all}" in all|dense) BATCH=1,8 benchmarks/llama-cpp/compare.sh "$pass" "$llama/llama-bench" "${dense[@]}" >> "$out/dense.jsonl";; esac
  case "${ROWS:-all}" in all|moe) BATCH=1,8,32 GEN=64 benchmarks/llama-cpp/compare.sh "$pass" "$llama/llama-bench" "${moe[@]}" >> "$out/moe.jsonl";; esac
  case "${ROWS:-all}" in all|serve) benchmarks/llama-cpp/compare.sh serve "$pass" "$llama/llama-server" models/gguf/pycoder-22m-bf16.gguf >> "$out/serve.jsonl";; esac
done
python3 benchmarks/llama-cpp/table.py "$out"/*.jsonl
