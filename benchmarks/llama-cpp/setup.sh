#!/usr/bin/env bash
# Fetches llama.cpp's llama-bench and llama-server, with the libraries they were built against, and its gguf-py
# from Debian sid into DIR (default benchmarks/llama-cpp/sid, which git ignores), and writes DIR/llama-bench and
# DIR/llama-server: wrappers that run the tools with sid's own loader, as a stable Debian's C library is older
# than the one they need. No root; needs apt-get, dpkg-deb and deb.debian.org.
#
#   benchmarks/llama-cpp/setup.sh [DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(mkdir -p "${1:-$here/sid}" && cd "${1:-$here/sid}" && pwd)"
# the tools, their ggml backends and the C and C++ runtimes they link, in sid's versions
packages=(llama.cpp-tools libllama0 libggml0 libc6 libgcc-s1 libgomp1 libstdc++6 libssl3t64 python3-gguf)
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs" "$dir/root"
echo "deb [trusted=yes] http://deb.debian.org/debian sid main" > "$dir/apt/sources.list"
: > "$dir/apt/status"  # as if nothing were installed: every package is fetched, none is taken from this system
apt_opts=(-o Dir::Etc::sourcelist="$dir/apt/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$dir/apt/lists"
  -o Dir::Cache="$dir/apt/cache" -o Dir::State::status="$dir/apt/status" -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)")
apt-get "${apt_opts[@]}" -q update
(cd "$dir/debs" && apt-get "${apt_opts[@]}" -q download "${packages[@]}")
for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
lib="$dir/root/usr/lib/x86_64-linux-gnu"
# ggml looks for its CPU backends in the executable's directory, which under the loader is $lib, when
# /usr/lib/x86_64-linux-gnu/ggml is not installed
ln -sf "$lib"/ggml/backends0/libggml-cpu-*.so "$lib"/
for tool in llama-bench llama-server; do
  cat > "$dir/$tool" <<WRAPPER
#!/bin/sh
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib:$lib/llama" "$dir/root/usr/bin/$tool" "\$@"
WRAPPER
  chmod +x "$dir/$tool"
done
"$dir/llama-bench" --help > /dev/null
echo "llama.cpp $(dpkg-deb -f "$dir"/debs/llama.cpp-tools_*.deb Version) in $dir: $dir/llama-bench, $dir/llama-server;" \
  "GGUF_PY=$dir/root/usr/lib/python3/dist-packages for safetensors_to_gguf.py"
