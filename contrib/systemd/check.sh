#!/bin/sh
# SPDX-License-Identifier: MIT
# The example server's units as systemd sees them once installed (make
# check-systemd, which .ci/run runs):
#
# 1. make install into a staging root (DESTDIR), as a package build does,
#    after a copy of this host's own units (the targets ours depend on);
# 2. systemd-analyze verify --root=STAGE: ExecStart= must name the server
#    where make install put it (verify checks the file exists and runs),
#    and any output fails, since verify reports some problems as
#    warnings and still exits 0;
# 3. systemd-analyze security --offline: exposure at most MAX_EXPOSURE.
#
# Usage: check.sh MAKE UNITDIR PKGLIBEXECDIR (the Makefile passes them).
set -u
make=$1 unitdir=$2 libexecdir=$3
MAX_EXPOSURE=2.0

fail() { echo "FAIL: check-systemd: $*"; exit 1; }

command -v systemd-analyze >/dev/null ||
	fail "systemd-analyze not found (apt-get install systemd)"
[ -n "$unitdir" ] ||
	fail "configured --without-systemdsystemunitdir: no units to check"
stage=$(mktemp -d) || exit 1
trap 'rm -rf "$stage"' EXIT

host_units=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
[ -d "$host_units" ] || host_units=/usr/lib/systemd/system
[ -d "$host_units" ] || host_units=/lib/systemd/system
[ -d "$host_units" ] || fail "no systemd units on this host"
mkdir -p "$stage/usr/lib/systemd" &&
	cp -R "$host_units" "$stage/usr/lib/systemd/system" ||
	fail "cannot copy $host_units"
out=$($make install DESTDIR="$stage" 2>&1) ||
	{ printf '%s\n' "$out" | tail -n 20; fail "make install DESTDIR=$stage"; }
[ -x "$stage$libexecdir/prime_server" ] ||
	fail "make install put no $libexecdir/prime_server"

units="$stage$unitdir/prime-server.socket $stage$unitdir/prime-server.service"
# shellcheck disable=SC2086 # two paths without blanks: mktemp's
out=$(systemd-analyze verify --man=no --root="$stage" $units 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	printf '%s\n' "$out"
	fail "systemd-analyze verify (exit $rc): it must print nothing"
fi
echo "PASS: systemd-analyze verify prime-server.socket prime-server.service"

# --threshold counts tenths.
threshold=$(echo "$MAX_EXPOSURE" | awk '{ printf "%d", $1 * 10 }')
out=$(systemd-analyze security --offline=yes --root="$stage" \
	--threshold="$threshold" "$stage$unitdir/prime-server.service" 2>&1)
rc=$?
# What still counts against the unit, and the verdict; "+" is the ASCII
# locale's tick.
printf '%s\n' "$out" | grep -v -e '^✓ ' -e '^+ ' | sed 's/  *$//'
[ $rc -eq 0 ] || fail "exposure over $MAX_EXPOSURE (exit $rc)"
echo "PASS: systemd-analyze security: exposure at most $MAX_EXPOSURE"
