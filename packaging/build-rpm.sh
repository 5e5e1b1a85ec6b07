#!/bin/bash
# Build the .rpm (and .src.rpm) from a clean copy of the tree into packaging/out/.
# Needs rpmbuild (Debian package `rpm`). On a host whose rpm database does not describe the
# system (Debian), BuildRequires cannot be checked: the build runs with --nodeps, and where
# rpm has no systemd macros (Debian ships no systemd-rpm-macros) with
# packaging/rpm/build-host.macros loaded.
. "$(dirname "$0")/lib.sh"

need rpmbuild tar

version="$(accelnet_version)"
[ -n "$version" ] || die "cannot read __version__ from agent/accelnet/__init__.py"
spec_version="$(sed -n 's/^Version:[[:space:]]*//p' "$ROOT/packaging/rpm/accelnet.spec")"
[ "$spec_version" = "$version" ] \
    || die "packaging/rpm/accelnet.spec is at $spec_version but accelnet is $version: update Version and %changelog"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
top="$work/rpmbuild"
mkdir -p "$top/SOURCES"
copy_tree "$work/accelnet-$version"
tar -C "$work" --owner=0 --group=0 -czf "$top/SOURCES/accelnet-$version.tar.gz" "accelnet-$version"

nodeps=()
rpm -q rpm >/dev/null 2>&1 || nodeps=(--nodeps)
[ -n "$(rpm --eval '%{?systemd_post:1}')" ] || nodeps+=(--load "$ROOT/packaging/rpm/build-host.macros")
rpmbuild -ba "${nodeps[@]}" --define "_topdir $top" "$work/accelnet-$version/packaging/rpm/accelnet.spec" \
    >"$work/build.log" 2>&1 \
    || { tail -n 60 "$work/build.log" >&2; die "rpmbuild failed (log above)"; }

mkdir -p "$OUT"
rm -f "$OUT"/accelnet-*.rpm
cp "$top"/RPMS/noarch/accelnet-*.rpm "$top"/SRPMS/accelnet-*.src.rpm "$OUT"/
ls "$OUT"/accelnet-*.noarch.rpm
