#!/bin/bash
# The many-core check, run on the lent machine from the repository root:
#   bash .device/run.sh          (after sh bench/device-bundle.sh here)
# 1. the old commit's round trip until its watchdog, if bundled (about
#    70 s; the report says whether its threads sleep or spin);
# 2. the full default bench under each backend;
# 3. the many-core queue stress, FT_STRESS_SECONDS (180) per backend,
#    both backends at once.
# Results go to $OUT (the device tool brings them back) and to stdout.
cd "$(dirname "$0")"
out=${OUT:-/tmp/device-out}
mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/lib
secs=${FT_STRESS_SECONDS:-180}
{ nproc; uname -r; grep -m1 'model name' /proc/cpuinfo; } | tee "$out/machine.txt"

if [ -x ./old-bench ]; then
	echo "=== old bench ($(cat old-commit)): round trip, multiprocessing"
	FREETHREADING_BACKEND=multiprocessing timeout -k 5 120 \
		./old-bench --filter "round trip" > "$out/old-rt.txt" 2>&1
	echo "exit $?" >> "$out/old-rt.txt"
	tail -n 30 "$out/old-rt.txt"
fi

for b in threading multiprocessing; do
	echo "=== bench, $b"
	FREETHREADING_BACKEND=$b timeout -k 5 240 ./bench > "$out/bench-$b.txt" 2>&1
	echo "exit $?" >> "$out/bench-$b.txt"
	cat "$out/bench-$b.txt"
done

echo "=== stress, $secs s per backend, both at once"
for b in threading multiprocessing; do
	FREETHREADING_BACKEND=$b FT_STRESS_SECONDS=$secs timeout -k 5 $((secs + 120)) \
		./test_queue_manycore --verbose=1 > "$out/stress-$b.txt" 2>&1 &
done
rc=0
for j in $(jobs -p); do wait "$j" || rc=1; done
tail -n 15 "$out"/stress-*.txt
echo "stress exit $rc"
