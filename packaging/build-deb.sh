#!/bin/bash
# Build the .deb from a clean copy of the tree into packaging/out/, then run lintian on it.
#   packaging/build-deb.sh            build, fail on lintian errors
#   LINTIAN=0 packaging/build-deb.sh  skip lintian
# Build dependencies (Debian 12): dpkg-dev debhelper dh-python pybuild-plugin-pyproject
# python3-all python3-setuptools python3-wheel; lintian for the check.
. "$(dirname "$0")/lib.sh"

need dpkg-buildpackage dh dpkg-parsechangelog

version="$(accelnet_version)"
[ -n "$version" ] || die "cannot read __version__ from agent/accelnet/__init__.py"
deb_version="$(dpkg-parsechangelog -l "$ROOT/packaging/debian/changelog" -S Version)"
[ "$deb_version" = "$version" ] || [ "${deb_version%-*}" = "$version" ] \
    || die "packaging/debian/changelog is at $deb_version but accelnet is $version: add a changelog entry (dch -v $version)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
src="$work/accelnet-$version"
copy_tree "$src"
rm -rf "$src/debian"
cp -a "$src/packaging/debian" "$src/debian"

# The distribution's python3 only: a python3 earlier on PATH (pyenv, venv) has other
# modules and paths than the ones the package is built for.
(cd "$src" && env PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 \
    || { tail -n 60 "$work/build.log" >&2; die "dpkg-buildpackage failed (log above)"; }

mkdir -p "$OUT"
rm -f "$OUT"/accelnet_*.deb "$OUT"/accelnet_*.buildinfo "$OUT"/accelnet_*.changes
cp "$work"/accelnet_*.deb "$work"/accelnet_*.buildinfo "$work"/accelnet_*.changes "$OUT"/
deb="$(ls "$OUT"/accelnet_*.deb)"

if [ "${LINTIAN:-1}" != 0 ]; then
    need lintian
    # --fail-on error: warnings are reported, not fatal.
    lintian --fail-on error --info "$deb" || die "lintian found errors in $deb"
fi
echo "$deb"
