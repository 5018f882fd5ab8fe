#!/bin/sh
# Runs the README's "Install and link" block as written, from the top of
# the build tree (CI does, on a fresh machine, as root): make install,
# then a program compiled against pkg-config's flags must run and greet.
set -eu
cd "$(dirname "$0")/.."
block=$(sed -n '/<!-- install-and-link/,/^```$/p' README.md | sed '1,2d;$d')
[ -n "$block" ] || { echo "README: no install-and-link block"; exit 1; }
out=$(sh -ec "$block")
rm -f hello.c hello
# Leave nothing in the prefix: a later run on this machine (the packages
# stage compiles against the installed .deb) must not find these first.
make uninstall >/dev/null
echo "$out"
# The program's line comes last, after make install's own output.
[ "$(echo "$out" | tail -n 1)" = "hello from a worker" ] ||
	{ echo "unexpected output"; exit 1; }
echo "install-and-link: PASS"
