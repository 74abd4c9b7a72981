#!/usr/bin/env bash
# Builds Palisade and runs it: nested in a window when a display is present
# (WAYLAND_DISPLAY or DISPLAY), otherwise the headless demo, which writes
# screenshots and a state dump to ./demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash assets/install-deps.sh
cargo build --release --bin palisade
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/palisade-runtime-$(id -u)}"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
if [ -n "${WAYLAND_DISPLAY:-}" ] || [ -n "${DISPLAY:-}" ]; then
  exec ./target/release/palisade --backend winit "$@"
fi
./target/release/palisade scenario assets/demo.toml "$@"
echo "demo screenshots: $(pwd)/demo-out/*.png, state: $(pwd)/demo-out/state.json"
