#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian/Ubuntu machine, then run it.
# Usage: tests/run.sh [pytest args...]      (root, or a user with sudo)
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Real tools the tests talk to: ethtool and lspci (compared with our readers), iproute2 (network
# namespaces), prometheus/promtool and node_exporter (scrape and benchmark), openssl (TLS certs),
# systemd-analyze (unit checks), the packaging toolchain (deb and rpm builds) and the runtime
# python3-* packages the .deb depends on (so installing it in CI downloads nothing).
APT_PACKAGES="python3 python3-venv python3-pip ethtool pciutils iproute2 util-linux prometheus
  prometheus-node-exporter openssl systemd dpkg-dev debhelper dh-python pybuild-plugin-pyproject
  python3-all python3-setuptools python3-wheel lintian rpm fakeroot groff-base man-db
  python3-psutil python3-pyroute2 python3-prometheus-client python3-pyudev python3-yaml python3-bcrypt"
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
