#!/bin/sh
# Every function the header declares has a page, man/NAME.3, that works
# from any directory (a full page, or a symlink to its family's page in
# the same folder: no .so, which resolves only from a man root), and the
# page it leads to names the function in its NAME section.
srcdir=${srcdir:-$(dirname "$0")/..}
fail=0
names=$(sed -n 's/^FT_API[^(]*[ *(]\(ft_[a-z0-9_]*\)(.*/\1/p; s/^FT_API[^(]*[ *]\(ft_[a-z0-9_]*\))(.*/\1/p' \
	"$srcdir/include/freethreading.h" | sort -u)
[ -n "$names" ] || { echo "FAIL: no declarations found"; exit 1; }
for n in $names; do
	page="$srcdir/man/$n.3"
	if [ ! -e "$page" ]; then
		echo "FAIL: $n has no man/$n.3"; fail=$((fail + 1)); continue
	fi
	if grep -q '^\.so ' "$page"; then
		echo "FAIL: man/$n.3 is a .so link"; fail=$((fail + 1)); continue
	fi
	if ! sed -n '/^\.SH NAME/,/^\.SH/p' "$page" | grep -qw "$n"; then
		echo "FAIL: man/$n.3 does not name $n"; fail=$((fail + 1))
	fi
done
echo "man pages: $(echo "$names" | wc -l) functions, $fail failed"
[ $fail -eq 0 ]
