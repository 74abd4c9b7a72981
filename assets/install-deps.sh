#!/usr/bin/env bash
# Installs what Palisade needs to build, run and test on Debian 12 (as root).
# Both README commands call this; it is idempotent and quick when all is there.
set -euo pipefail

packages=(
  # build: smithay with DRM/GBM/libinput/udev/libseat/winit/GLES/pixman
  build-essential pkg-config libudev-dev libinput-dev libgbm-dev libseat-dev
  libxkbcommon-dev libpixman-1-dev libwayland-dev
  # build: the helper links Linux-PAM; run: pam_unix and the user tools the
  # helper tests use to create their test user
  libpam0g-dev libpam-modules passwd
  # run: keymaps, Mesa for the nested (winit) window, fonts for the clients
  # (libwayland-server0: the compositor's Wayland server is libwayland's)
  xkb-data libegl1 libegl-mesa0 libgl1-mesa-dri libwayland-client0 libwayland-server0
  fonts-dejavu-core
  # real clients the tests and the demo drive
  weston foot chromium wayland-utils
  # a private bus for the D-Bus status tests (UPower, iwd stand-ins)
  dbus-daemon
  # the nested backend under a virtual X server, and its screenshots
  xvfb x11-apps
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Rust: the machine's toolchain if it is new enough (cosmic-text needs 1.89),
# else Debian 12's rustc-web/cargo-web (1.9x, from bookworm updates).
need_rust=1
if command -v cargo >/dev/null 2>&1; then
  v=$(rustc --version | awk '{print $2}')
  if [ "$(printf '%s\n' 1.89.0 "$v" | sort -V | head -n1)" = 1.89.0 ]; then need_rust=0; fi
fi
[ "$need_rust" = 1 ] && missing+=(rustc-web cargo-web)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
