#!/bin/sh
# SPDX-License-Identifier: MIT
# The layers of src/ (docs/DESIGN.md) in order: a layer may include and
# call only those before it.  Checked two ways: the #include lines of the
# sources, and the symbols each layer's objects leave undefined (nm).
set -u
srcdir=${srcdir:-.}
LAYERS="base wait lockword arena runtime sync worker queue executor sandbox"
fail=0
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

rank() {
	i=0
	for l in $LAYERS; do
		[ "$l" = "$1" ] && { echo $i; return; }
		i=$((i + 1))
	done
	echo -1
}

for a in $LAYERS; do
	ra=$(rank "$a")
	for f in "$srcdir"/src/"$a"/*.[ch]; do
		for inc in $(sed -n 's|^#include "\([a-z_]*\)/.*"|\1|p' "$f"); do
			rb=$(rank "$inc")
			if [ "$rb" -gt "$ra" ]; then
				echo "FAIL: $f includes $inc/, a layer above $a/"
				fail=1
			fi
		done
	done
	objs=$(ls src/"$a"/*.o 2>/dev/null)
	[ -n "$objs" ] || { echo "SKIP: no objects under src/$a (build first)"; exit 77; }
	nm -g --defined-only $objs | awk 'NF == 3 {print $3}' | sort -u > "$tmp/def.$a"
	nm -u $objs | awk '{print $NF}' | sort -u > "$tmp/und.$a"
done

for a in $LAYERS; do
	ra=$(rank "$a")
	for b in $LAYERS; do
		[ "$(rank "$b")" -gt "$ra" ] || continue
		up=$(comm -12 "$tmp/und.$a" "$tmp/def.$b" | tr '\n' ' ')
		if [ -n "$up" ]; then
			echo "FAIL: src/$a/ calls into src/$b/, a layer above it: $up"
			fail=1
		fi
	done
done
[ $fail -eq 0 ] && echo "PASS: $LAYERS, each using only those before it"
exit $fail
