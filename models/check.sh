#!/bin/sh
# Check the protocol models with spin: every configuration below is
# verified exhaustively (safety: assertions and invalid end states).  A
# line expecting "bug" runs a deliberately broken variant that must fail,
# so a model that cannot fail is noticed.  Prints one line per run and
# exits 1 if any result differs from what is expected.
#
#   models/check.sh           the set CI runs (a few minutes on 2 CPUs)
#   models/check.sh thorough  larger configurations too (an hour, 24 GiB)
set -u
here=$(cd "$(dirname "$0")" && pwd)
set_=${1:-quick}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
command -v spin >/dev/null 2>&1 || { echo "spin not found (Debian package spin)"; exit 77; }
cc=${CC:-cc}
memlim=${FT_MODEL_MEMLIM:-6000}
status=0
total_states=0

printf '%-16s %-36s %-6s %14s %8s  %s\n' model config expect states seconds result

run() {
	expect=$1 model=$2
	shift 2
	cp "$here"/*.pml "$work"/
	defs=
	for d in "$@"; do defs="$defs -D$d"; done
	result=
	if ! (cd "$work" && spin $defs -a "$model.pml" >spin.out 2>&1); then
		result="spin failed: $(head -n1 "$work/spin.out")"
	elif ! (cd "$work" && $cc -O2 -w -DCOLLAPSE -DMEMLIM="$memlim" \
			-o pan pan.c 2>cc.out); then
		result="cc failed: $(head -n1 "$work/cc.out")"
	else
		(cd "$work" && ./pan -m10000000 >pan.out 2>&1)
		errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$work/pan.out")
		states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$work/pan.out")
		secs=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\).*/\1/p' "$work/pan.out")
		if grep -q 'out of memory\|max search depth too small' "$work/pan.out"; then
			result="incomplete: $(grep -m1 'out of memory\|max search depth' "$work/pan.out")"
		elif [ -z "$errors" ]; then
			result="no result: $(tail -n1 "$work/pan.out")"
		elif [ "$errors" -eq 0 ]; then
			result=ok
		else
			result="bug: $(grep -m1 '^pan:1:' "$work/pan.out")"
		fi
	fi
	case "$expect:$result" in
	ok:ok) mark=pass ;;
	bug:bug*) mark=pass ;;
	*) mark=FAIL; status=1 ;;
	esac
	printf '%-16s %-36s %-6s %14s %8s  %s (%s)\n' "$model" "${*:-default}" \
		"$expect" "${states:-?}" "${secs:-?}" "$mark" "$result"
	states=; secs=; errors=
}

# The owner word: 3-4 takers, one with a deadline, one mortal.
run ok  lockword N=3 ROUNDS=2 TIMED=1
run ok  lockword N=3 ROUNDS=2 TIMED=1 DEATH=1
run ok  lockword N=4 ROUNDS=1 TIMED=1 DEATH=1
run bug lockword N=3 ROUNDS=2 TIMED=1 BROKEN=1
# Owner slots (lockword/owner.h): the takers find the death themselves.
run ok  lockword N=3 ROUNDS=2 TIMED=1 DEATH=1 SLOT=1 REPAIRER=0
run ok  lockword N=4 ROUNDS=1 TIMED=1 DEATH=1 SLOT=1 REPAIRER=0
run bug lockword N=3 ROUNDS=2 TIMED=1 DEATH=1 SLOT=1 REPAIRER=0 STALE=1
run bug lockword N=3 ROUNDS=2 TIMED=1 DEATH=1 REPAIRER=0
# Semaphore and Event sleeper bits.
run ok  semaphore
run bug semaphore BROKEN=1
run ok  event
run bug event BROKEN=1
# ft_worker_wait: state words (futex_waitv) and the ends word.
run ok  worker_wait
run ok  worker_wait ALL=1
run bug worker_wait BROKEN=1
run bug worker_wait BROKEN=2
# Futures: the ends word bumped only when marked; done-callbacks once.
run ok  future
run bug future BROKEN=1
run ok  future CB=1
run bug future CB=1 BROKEN=2

# The kill of a sandboxed task (E8): the signal reaches the child it was
# meant for, never a reaped one.
run ok  runner_kill
run bug runner_kill BROKEN=1
# Queue shutdown: sleepers on tail and the flag, puts under put_lock.
run ok  queue_shutdown
run ok  queue_shutdown NC=3
run ok  queue_shutdown K=3
run bug queue_shutdown BROKEN=1
run bug queue_shutdown BROKEN=2
# Queue marks, pass-on, growth: 2 producers, 2 consumers unless said.
run ok  queue_wake K=1 MAXSIZE=1
run ok  queue_wake K=1 MAXSIZE=0
run ok  queue_wake K=1 MAXSIZE=2
run ok  queue_wake K=1 MAXSIZE=1 TIMED=1
run ok  queue_wake NP=1 NC=2 K=2 MAXSIZE=0
run ok  queue_wake K=1 MAXSIZE=0 GROW=1
run bug queue_wake K=1 MAXSIZE=1 BROKEN=1
run bug queue_wake K=1 MAXSIZE=0 BROKEN=2
# The producer bias under x86-TSO, heavy fence granted or refused.
run ok  queue_bias K=3
run ok  queue_bias NC=2 K=3
run ok  queue_bias REFUSE=1 K=3
run ok  queue_bias TIMED=1 REFUSE=1 K=3
run ok  queue_bias TIMED=1 NC=2 K=2
run ok  queue_bias REFUSE=1 NC=2 K=2
run ok  queue_bias NP=2 K=2 REFUSE=1 HANDSHAKE=1
run bug queue_bias NP=2 K=2 REFUSE=1 HANDSHAKE=1 OFFCPU=0
run bug queue_bias LEGACY=1 TIMED=1 NC=2 K=2
run bug queue_bias LEGACY=1 REFUSE=1 K=3

if [ "$set_" = thorough ]; then
	run ok  lockword N=4 ROUNDS=2 TIMED=1 DEATH=1
	run ok  queue_wake NP=2 NC=1 K=2 MAXSIZE=1
	run ok  queue_wake K=2 MAXSIZE=0 GROW=1
	run ok  queue_wake K=2 MAXSIZE=0
	run ok  queue_wake K=2 MAXSIZE=1
	run ok  queue_bias NP=2 K=2
	run ok  queue_bias NC=2 K=4 TIMED=1
fi
exit $status
