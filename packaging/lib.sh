# Shared by build-deb.sh and build-rpm.sh (sourced, not run).
# Both build from a clean copy of the tree, so nothing in the working tree (caches, old
# builds, packaging/out itself) can leak into a package.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${ACCELNET_PACKAGE_OUT:-$ROOT/packaging/out}"

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# The single source of the version: agent/accelnet/__init__.py.
accelnet_version() {
    sed -n 's/^__version__ *= *["'\'']\([^"'\'']*\)["'\''].*/\1/p' "$ROOT/agent/accelnet/__init__.py"
}

# copy_tree DEST: the files git tracks plus new files it does not ignore (so uncommitted work
# is packaged as it is), or, outside a git checkout, the tree minus build leftovers. A file
# that vanishes while the list is read (someone's git mv) is left out, not fatal.
copy_tree() {
    local dest="$1"
    mkdir -p "$dest"
    if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
            | while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done \
            | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$dest" -xf -
    else
        tar -C "$ROOT" --exclude=./packaging/out --exclude=.git --exclude='__pycache__' \
            --exclude='*.egg-info' --exclude=./build --exclude=./dist -cf - . | tar -C "$dest" -xf -
    fi
}

need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || die "needs '$tool' (apt-get install $(pkg_of "$tool"))"
    done
}

pkg_of() {
    case "$1" in
        dpkg-buildpackage) echo dpkg-dev ;;
        dh) echo debhelper ;;
        rpmbuild) echo rpm ;;
        *) echo "$1" ;;
    esac
}
