#!/bin/sh
# Runs each example of the guide under both backends and compares its
# output with the guide's (examples/expected/NAME[.BACKEND].out).  Where
# the guide leaves the order open, either every order it allows is listed
# (NAME.altN.out) or, when that is too many, both sides are sorted
# (NAME.unordered).  The get_ident() line, a number, is masked.
# Each runs in every world of FT_EXAMPLE_WORLDS: plain, and ulimit-v (a
# 1 GB address-space limit, as hosts set; not under sanitizers, whose
# shadow memory needs terabytes of address space).  FT_EXAMPLE_PREFIX, if
# set, is a command that runs each (tests/worlds.sh sets one per world).
# FT_EXAMPLES_SKIP names examples not to run (the ThreadSanitizer build
# skips those that force process workers, which it cannot follow).
# NAME@ARG runs examples/NAME --ARG and expects NAME's output.
srcdir=${srcdir:-$(dirname "$0")/..}
exp="$srcdir/examples/expected"
pass=0
fail=0
for prog in worker utilities locks semaphores_conditions bounded_semaphore queue \
	simple_queue primes events_barriers wordcount pipeline shared_state \
	pool executor primes_executor primes_executor@sandbox; do
	case " ${FT_EXAMPLES_SKIP:-} " in
	*" $prog "*) echo "SKIP: $prog (FT_EXAMPLES_SKIP)"; continue ;;
	esac
	for world in ${FT_EXAMPLE_WORLDS:-plain ulimit-v}; do
	case $world in
	ulimit-v) limit="ulimit -v 1000000" ;;
	*) limit=: ;;
	esac
	name=${prog%@*}
	arg=
	[ "$name" = "$prog" ] || arg=--${prog#*@}
	for backend in ${FT_TEST_BACKENDS:-threading multiprocessing}; do
		want="$exp/$name.$backend.out"
		[ -f "$want" ] || want="$exp/$name.out"
		got=$(FREETHREADING_BACKEND=$backend timeout -k 5 60 \
			$FT_EXAMPLE_PREFIX \
			sh -c "$limit && exec \"\$0\" \$1" "examples/$name" $arg 2>&1)
		rc=$?
		got=$(printf '%s\n' "$got" | sed -E 's/^[0-9]{2,}$/<IDENT>/')
		ok=no
		for candidate in "$want" "$exp/$name".alt*.out; do
			[ -f "$candidate" ] || continue
			expected=$(cat "$candidate")
			if [ -f "$exp/$name.unordered" ]; then
				got=$(printf '%s\n' "$got" | LC_ALL=C sort)
				expected=$(printf '%s\n' "$expected" | LC_ALL=C sort)
			fi
			[ "$got" = "$expected" ] && ok=yes && break
		done
		expected=$(cat "$want")
		if [ $rc -eq 0 ] && [ $ok = yes ]; then
			echo "PASS: $prog [$backend, $world]"
			pass=$((pass + 1))
		else
			echo "FAIL: $prog [$backend, $world] (exit $rc)"
			printf '%s\n' "$expected" > /tmp/ft-expected.$$
			printf '%s\n' "$got" | diff -u /tmp/ft-expected.$$ - | sed 's/^/    /'
			rm -f /tmp/ft-expected.$$
			fail=$((fail + 1))
		fi
	done
	done
done
echo "examples: $pass passed, $fail failed"
[ $fail -eq 0 ]
