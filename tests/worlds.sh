#!/bin/sh
# The hostile-host matrix: the examples and a chosen part of the suite, in
# worlds where features are refused the way real profiles refuse them
# (tests/deny, a seccomp filter every child inherits) or where the host
# sets what servers meet: SIGCHLD ignored, a 1 GB address-space limit,
# strict overcommit.
# In each world ft-info must report the fallback taken.  Both backends
# (run-test.sh and check-examples.sh run each).  Run from the build
# directory after make check: make check-worlds.
srcdir=${srcdir:-$(dirname "$0")/..}
tests="tests/test_worker tests/test_supervisor tests/test_lock tests/test_event
	tests/test_queue tests/test_queue_bias tests/test_wait tests/test_foreign_reaping
	tests/test_executor tests/test_pool_crash tests/test_sandbox"
futex2="futex_waitv=ENOSYS,futex_wait=ENOSYS,futex_wake=ENOSYS"
status=0
mkdir -p tests/worlds
pass=0
fail=0

# world NAME PREFIX... : run in the world PREFIX sets up (a command that
# execs the rest of its arguments).
say() { printf '%s\n' "$*"; }

check_info() { # world, FREETHREADING_WAIT, ft-info line prefix, expected text
	got=$(FREETHREADING_WAIT=$2 $PREFIX tests/ft-info | grep "^$3:" |
	      sed "s/^$3: *//")
	case $got in
	*"$4"*) say "PASS: [$1] $3: $got"; pass=$((pass + 1)) ;;
	*) say "FAIL: [$1] $3 is '$got', want '$4'"; fail=$((fail + 1)) ;;
	esac
}

run_world() { # name
	say "=== world: $1"
	if FT_EXAMPLE_WORLDS=plain FT_EXAMPLE_PREFIX="$PREFIX" \
		sh "$srcdir/examples/check-examples.sh" > "tests/worlds/$1.log" 2>&1; then
		say "PASS: [$1] examples"; pass=$((pass + 1))
	else
		say "FAIL: [$1] examples"; fail=$((fail + 1))
		tail -n 30 "tests/worlds/$1.log"
	fi
	for t in $tests; do
		[ -x "$t" ] || continue
		if $PREFIX sh "$srcdir/tests/run-test.sh" "$t" >> "tests/worlds/$1.log" 2>&1; then
			say "PASS: [$1] $t"; pass=$((pass + 1))
		else
			say "FAIL: [$1] $t"; fail=$((fail + 1))
			grep -E "FAIL|Assert|Timed out" "tests/worlds/$1.log" | tail -n 20
		fi
	done
}

deny() { PREFIX="tests/deny $1"; }

deny io_uring_setup=EPERM
check_info uring-eperm uring wait futex2
run_world uring-eperm

deny io_uring_setup=ENOSYS
check_info uring-enosys uring wait futex2
run_world uring-enosys

deny "$futex2"
check_info futex2-enosys "" wait futex
run_world futex2-enosys

deny clone3=ENOSYS
check_info clone3-enosys "" "spawn thread" "clone3 refused"
run_world clone3-enosys

deny pidfd_open=ENOSYS
check_info pidfd-enosys "" "spawn process" "reaper threads"
run_world pidfd-enosys

deny membarrier=EPERM
run_world membarrier-eperm

PREFIX="sh $srcdir/tests/world-sigchld-ignored.sh"
run_world sigchld-ignored

PREFIX="sh $srcdir/tests/world-ulimit-v.sh"
check_info ulimit-v "" arena "bytes reserved"
run_world ulimit-v

# Strict overcommit charges an anonymous shared mapping in full, so a
# RAM-sized arena would not map; a memfd's pages are not charged, so the
# arena keeps the size it has here.  A system-wide setting: only where
# this run may change it (root, /proc/sys writable), put back after.
oc=/proc/sys/vm/overcommit_memory
full=$(tests/ft-info | sed -n 's/^arena: *\([0-9]*\) bytes reserved.*/\1/p')
if old_oc=$(cat $oc 2>/dev/null) && [ -w $oc ] && [ -n "$full" ] &&
	echo 2 2>/dev/null > $oc; then
	trap 'echo "$old_oc" > $oc' EXIT INT TERM
	PREFIX=""
	check_info overcommit-2 "" arena "$full bytes reserved"
	run_world overcommit-2
	echo "$old_oc" > $oc
	trap - EXIT INT TERM
else
	say "SKIP: [overcommit-2] vm.overcommit_memory cannot be set here"
fi

say "worlds: $pass passed, $fail failed"
[ $fail -eq 0 ]
