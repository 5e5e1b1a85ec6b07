#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian/Ubuntu machine, then run it.
# Usage: tests/run.sh [pytest args...]      (root, or a user with sudo)
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Real tools the tests talk to: ethtool and lspci (compared with our readers), iproute2 (network
# namespaces), prometheus/promtool and node_exporter (scrape and benchmark), openssl (TLS certs),
# systemd-analyze (unit checks), and the packaging toolchain (deb and rpm builds).
APT_PACKAGES="python3 python3-venv python3-pip ethtool pciutils iproute2 prometheus
  prometheus-node-exporter openssl systemd debhelper dh-python python3-all python3-setuptools
  lintian rpm fakeroot build-essential"
missing=""
for pkg in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

VENV="${ACCELNET_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e '.[test]'

exec "$VENV/bin/python" -m pytest "$@"
