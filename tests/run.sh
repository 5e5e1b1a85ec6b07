#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian/Ubuntu machine, then run it.
# Usage: tests/run.sh [pytest args...]      (root, or a user with sudo)
# ACCELNET_RUN_DRY=1 prints which interpreter runs in which venv, and does nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Real tools the tests talk to: ethtool and lspci (compared with our readers), iproute2 (network
# namespaces), prometheus/promtool and node_exporter (scrape and benchmark), openssl (TLS certs),
# systemd-analyze (unit checks), dash/busybox/shellcheck/curl (the POSIX sh collector), the packaging toolchain (deb and rpm builds) and the runtime
# python3-* packages the .deb depends on (so installing it in CI downloads nothing), NRPE and
# Perl's Monitoring::Plugin (the plugin output through check_nrpe -2 and a perfdata parser),
# rpmlint, debootstrap + systemd-container (the .deb under a booted systemd in nspawn), and
# Alertmanager (amtool check-config; the simulated fleet's inhibit rules).
APT_PACKAGES="python3 python3-venv python3-pip ethtool pciutils iproute2 util-linux prometheus
  prometheus-node-exporter openssl systemd dpkg-dev debhelper dh-python pybuild-plugin-pyproject
  python3-all python3-setuptools python3-wheel lintian rpm fakeroot groff-base man-db
  python3-psutil python3-pyroute2 python3-prometheus-client python3-pyudev python3-yaml python3-bcrypt
  dash busybox shellcheck curl nagios-nrpe-server nagios-nrpe-plugin libmonitoring-plugin-perl
  rpmlint debootstrap systemd-container prometheus-alertmanager systemd-journal-remote"
missing=""
[ -n "${ACCELNET_RUN_DRY:-}" ] && APT_PACKAGES=""
for pkg in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
# A dpkg run cut short earlier (a killed run, a reboot mid-install) leaves packages half
# configured, and apt refuses everything until 'dpkg --configure -a' finishes the job.
# dpkg has no lock timeout of its own: retry while another apt/dpkg run holds the lock.
finish_interrupted_dpkg() {
  local tries=0
  while [ -n "$($SUDO dpkg --audit 2>/dev/null)" ]; do
    if DEBIAN_FRONTEND=noninteractive $SUDO dpkg --configure -a; then return 0; fi
    tries=$((tries + 1))
    [ "$tries" -lt 120 ] || { echo "tests/run.sh: dpkg --configure -a keeps failing" >&2; return 1; }
    sleep 5
  done
}
if [ -n "$missing" ]; then
  finish_interrupted_dpkg
  # wait for another apt/dpkg run (a parallel test run, unattended-upgrades) instead of failing
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing
fi

# The suite runs under the oldest Python we support (3.6: RHEL/CentOS 7-8, Ubuntu 18.04,
# SLES 15) and the newest one this machine has, each in its own venv. ACCELNET_PYTHONS
# overrides the choice (space-separated interpreter paths). In CI a missing end fails the run.
python_minor() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }
find_pythons() {
  local candidates="" p v oldest="" newest="" oldest_v="" newest_v=""
  # real interpreters, never a version manager's shim (it would add its own start-up time)
  for p in "$HOME"/.pyenv/versions/3.*/bin/python3.[0-9]* /usr/bin/python3.[0-9]* /usr/local/bin/python3.[0-9]*; do
    case "$p" in *-config|*m) continue ;; esac
    [ -x "$p" ] || continue
    v=$(python_minor "$p") || continue
    candidates="$candidates $v:$p"
  done
  for entry in $candidates; do
    v=${entry%%:*}; p=${entry#*:}
    if [ -z "$oldest_v" ] || version_lt "$v" "$oldest_v"; then oldest_v=$v; oldest=$p; fi
    if [ -z "$newest_v" ] || version_lt "$newest_v" "$v"; then newest_v=$v; newest=$p; fi
  done
  echo "$oldest_v:$oldest $newest_v:$newest"
}
version_lt() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -t. -k1,1n -k2,2n | head -n1)" = "$1" ]; }

if [ -n "${ACCELNET_PYTHONS:-}" ]; then
  PYTHONS=""
  for p in $ACCELNET_PYTHONS; do PYTHONS="$PYTHONS $(python_minor "$p"):$p"; done
else
  PYTHONS=$(find_pythons)
fi
oldest_v=$(echo "$PYTHONS" | awk '{print $1}' | cut -d: -f1)
if [ "$oldest_v" != "3.6" ]; then
  msg="tests/run.sh: no Python 3.6 found (oldest: ${oldest_v:-none}); install one (e.g. pyenv install 3.6.15)"
  if [ "${CI:-}" = "true" ]; then echo "$msg" >&2; exit 1; fi
  echo "$msg; running with what there is" >&2
fi

# The venv of each interpreter. .venv is the newest's (the README's commands use it), unless
# .venv already holds another Python (the README's quick start makes it with the system's
# python3): that one is left alone and the newest gets .venv-pyX.Y like the others. A
# .venv-pyX.Y of another version (its interpreter was replaced) is ours to make again.
venv_for() {
  local v=$1 newest=$2
  if [ -n "${ACCELNET_VENV:-}" ] && [ "$newest" = yes ]; then echo "$ACCELNET_VENV"; return; fi
  if [ "$newest" = yes ] && { [ ! -x .venv/bin/python ] || [ "$(python_minor .venv/bin/python)" = "$v" ]; }; then
    echo .venv; return
  fi
  echo ".venv-py$v"
}

status=0
seen=""
newest_entry=$(echo "$PYTHONS" | awk '{print $NF}')
for entry in $PYTHONS; do
  v=${entry%%:*}; py=${entry#*:}
  case " $seen " in *" $v "*) continue ;; esac
  seen="$seen $v"
  if [ "$entry" = "$newest_entry" ]; then newest=yes; else newest=no; fi
  venv=$(venv_for "$v" "$newest")
  if [ "$newest" = yes ] && [ "$venv" != .venv ] && [ -z "${ACCELNET_VENV:-}" ]; then
    echo "tests/run.sh: .venv holds Python $(python_minor .venv/bin/python), not the newest ($v): using $venv" >&2
  fi
  if [ -n "${ACCELNET_RUN_DRY:-}" ]; then echo "Python $v: $venv ($py)"; continue; fi
  if [ -x "$venv/bin/python" ] && [ "$(python_minor "$venv/bin/python")" != "$v" ] && [ "$venv" != .venv ]; then
    rm -rf "$venv"
  fi
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  if [ "$v" = "3.6" ]; then
    # 3.6's bundled pip 18 cannot resolve from this index; 21.3 is the last for 3.6
    "$venv/bin/python" -m pip install -q --upgrade 'pip<22' 2>&1 | grep -v "is ignored" >&2 || true
  else
    "$venv/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" >&2 || true
  fi
  "$venv/bin/python" -m pip install -q -e '.[test]' 2>&1 | grep -v "is ignored" >&2 || true
  "$venv/bin/python" -c 'import accelnet, pytest' || { echo "tests/run.sh: install into $venv failed" >&2; exit 1; }
  # what runs, as the venv's own interpreter reports it (never the version we looked for)
  ran=$("$venv/bin/python" -c 'import os, platform, sys; print(platform.python_version(), os.path.realpath(sys.executable))')
  echo "== Python ${ran%% *} ($venv: ${ran#* }) =="
  if [ "$(python_minor "$venv/bin/python")" != "$v" ]; then
    echo "tests/run.sh: $venv runs Python ${ran%% *}, not $v" >&2
    status=1
  fi
  "$venv/bin/python" -m pytest "$@" || status=$?
done
exit $status
