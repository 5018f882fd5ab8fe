#!/bin/sh
# Every example under valgrind memcheck, both backends, process workers
# included (--trace-children): no hang (a timeout), no error, no definite
# or indirect leak.  valgrind refuses system calls it does not know
# (pidfd_open, futex_waitv in 3.19) with ENOSYS, so this also runs the
# library's fallbacks.  Run from the build directory: make check-valgrind.
status=0
mkdir -p tests/valgrind
for prog in worker utilities locks semaphores_conditions bounded_semaphore queue \
	simple_queue primes events_barriers; do
	for backend in threading multiprocessing; do
		log=tests/valgrind/$prog-$backend.log
		FREETHREADING_BACKEND=$backend LD_LIBRARY_PATH=src/.libs \
			timeout -k 10 300 valgrind -q --error-exitcode=99 \
			--leak-check=full --errors-for-leak-kinds=definite,indirect \
			--show-leak-kinds=definite,indirect --trace-children=yes \
			"examples/.libs/$prog" > "$log" 2>&1
		rc=$?
		if [ $rc -eq 0 ] && ! grep -q '^==[0-9]*== ' "$log"; then
			echo "PASS: valgrind $prog [$backend]"
		else
			echo "FAIL: valgrind $prog [$backend] (exit $rc)"
			grep '^==[0-9]*== ' "$log" | head -n 30
			status=1
		fi
	done
done
exit $status
