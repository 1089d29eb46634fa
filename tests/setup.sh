#!/usr/bin/env bash
# What the system tests need beyond the JDK, installed when missing: a real etcd (the multi-node tests), and
# Debian's chromium driven through the pinned playwright-core (the browser tests). Debian packages need root;
# without it a missing tool is named by the tests that need it.
set -euo pipefail
cd "$(dirname "$0")"
install_package() {  # install_package COMMAND PACKAGE...
  command -v "$1" >/dev/null && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "xllm test: $1 is missing (apt-get install -y ${*:2}); the tests that need it will fail" >&2
    return 0
  fi
  shift
  apt-get install -y "$@" >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y "$@" >/dev/null)
}
install_package etcd etcd-server
install_package chromium chromium
install_package node nodejs npm
if [ ! -f browser/node_modules/playwright-core/package.json ] && command -v npm >/dev/null; then
  npm ci --prefix browser --no-audit --no-fund >/dev/null
fi
