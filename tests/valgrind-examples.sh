#!/bin/sh
# Every example under valgrind memcheck, both backends, process workers
# included (--trace-children): no hang (a timeout), no error, no definite
# or indirect leak.  valgrind refuses system calls it does not know
# (pidfd_open, futex_waitv in 3.19) with ENOSYS, so this also runs the
# library's fallbacks.  Run from the build directory: make check-valgrind,
# which passes the Makefile's list of examples in FT_EXAMPLES.
status=0
mkdir -p tests/valgrind
[ -n "${FT_EXAMPLES:-}" ] || { echo "FT_EXAMPLES is empty"; exit 1; }
for prog in $FT_EXAMPLES; do
	prog=${prog#examples/}
	for backend in threading multiprocessing; do
		log=tests/valgrind/$prog-$backend.log
		FREETHREADING_BACKEND=$backend LD_LIBRARY_PATH=src/.libs \
			timeout -k 10 300 valgrind -q --error-exitcode=99 \
			--leak-check=full --errors-for-leak-kinds=definite,indirect \
			--show-leak-kinds=definite,indirect --trace-children=yes \
			"examples/.libs/$prog" > "$log" 2>&1
		rc=$?
		report=$(grep '^==[0-9]*== ' "$log")
		if [ $rc -eq 0 ] && [ -z "$report" ]; then
			echo "PASS: valgrind $prog [$backend]"
		else
			echo "FAIL: valgrind $prog [$backend] (exit $rc)"
			printf '%s\n' "$report" | head -n 30
			status=1
		fi
	done
done
exit $status
