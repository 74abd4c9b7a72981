#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests, and the integration
# tests with real clients (weston-simple-shm, foot, Chromium) on a headless
# Palisade. Installs the Debian packages it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash assets/install-deps.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/palisade-test-runtime-$(id -u)}"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
# A one-shot build gains nothing from incremental caches, which cost ~2 GB of
# disk; CI machines can be short of it (a full disk once failed the link).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
echo "disk before the build: $(df -h --output=avail . | tail -1 | tr -d ' ') free"
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all -- --check
else
  echo "rustfmt not available with this toolchain: formatting not checked"
fi
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --workspace --all-targets -- -D warnings
else
  echo "clippy not available with this toolchain: lints not checked"
fi
# Two test threads: the machine has two cores and Chromium is heavy.
cargo test --workspace --no-run
echo "disk after the build: $(df -h --output=avail . | tail -1 | tr -d ' ') free, target/ is $(du -sh target | cut -f1)"
cargo test --workspace -- --test-threads=2
