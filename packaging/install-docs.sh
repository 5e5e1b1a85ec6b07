#!/bin/sh
# install-docs.sh DOCDIR: install what packaging/docs.list names into DOCDIR (mode 0644), from
# the top of the source tree. Used by debian/rules and the rpm spec, so both packages ship the
# same documents and examples at the same place under their documentation directory.
set -eu
docdir=$1
list=$(dirname "$0")/docs.list
grep -v '^[[:space:]]*\(#\|$\)' "$list" | while read -r src dest; do
    if [ -d "$src" ]; then
        for file in "$src"/*; do
            [ -f "$file" ] && install -D -m 0644 "$file" "$docdir/$dest/$(basename "$file")"
        done
    else
        install -D -m 0644 "$src" "$docdir/$dest"
    fi
done
