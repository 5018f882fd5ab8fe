#!/bin/sh
# Run one test program under both backends (FT_TEST_BACKENDS narrows
# that) and every wait implementation,
# each run under a timeout so a deadlock fails instead of hanging CI.
# A wait implementation the kernel lacks is skipped with a message.
prog=$1
shift
info="$(dirname "$prog")/ft-info"
limit=${FT_TEST_TIMEOUT:-600}
status=0
for backend in ${FT_TEST_BACKENDS:-threading multiprocessing}; do
	for wait in ${FT_TEST_WAITS:-uring futex2 futex}; do
		got=$(FREETHREADING_BACKEND=$backend FREETHREADING_WAIT=$wait "$info" wait)
		if [ "$got" != "$wait" ]; then
			echo "SKIP: $prog [$backend/$wait]: this kernel lacks $wait (runtime chose $got)"
			continue
		fi
		echo "=== $prog [$backend/$wait]"
		FREETHREADING_BACKEND=$backend FREETHREADING_WAIT=$wait \
			timeout -k 10 "$limit" "$prog" "$@"
		rc=$?
		if [ $rc -ne 0 ]; then
			echo "FAILED: $prog [$backend/$wait] exit $rc"
			status=1
		fi
	done
done
exit $status
