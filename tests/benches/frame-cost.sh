#!/usr/bin/env bash
# Instructions per frame spent in the compositor (Driver::dispatch), counted
# by callgrind, for one or more builds of the frame_cost bench:
#   bash tests/benches/frame-cost.sh [BINARY...]
# Without arguments it builds and measures this checkout's. Counts are
# stable run to run, whatever else the machine is doing.
set -euo pipefail
cd "$(dirname "$0")/../.."
frames=${FRAME_COST_FRAMES:-60}
if [ $# -eq 0 ]; then
  cargo bench -p palisade-tests --bench frame_cost --no-run 2>&1 | tail -1
  set -- $(ls -t target/release/deps/frame_cost-* | grep -v '\.d$' | head -1)
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/palisade-test-runtime-$(id -u)}"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
for bin in "$@"; do
  out=$(mktemp)
  # Twice: the frames of the second run minus the first's cancel the setup.
  for n in "$frames" $((frames * 2)); do
    FRAME_COST_FRAMES=$n valgrind --tool=callgrind --callgrind-out-file="$out.$n" \
      --collect-atstart=no --toggle-collect='palisade::scenario::driver::Driver::dispatch' \
      "$bin" >/dev/null 2>&1
  done
  a=$(grep -m1 '^summary:' "$out.$frames" | awk '{print $2}')
  b=$(grep -m1 '^summary:' "$out.$((frames * 2))" | awk '{print $2}')
  echo "$bin: $(( (b - a) / frames )) instructions per frame in the compositor ($frames frames)"
  rm -f "$out" "$out.$frames" "$out.$((frames * 2))"
done
