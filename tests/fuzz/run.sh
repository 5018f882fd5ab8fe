#!/bin/sh
# Build the libFuzzer harness with clang (ASan, UBSan, LeakSanitizer) from
# the library's sources, and run it for SECONDS (default 60), starting
# from the regression inputs of tests/fuzz/regressions (each crash found
# becomes one) and the corpus kept in tests/fuzz-corpus.
#   make check-fuzz [FUZZ_SECONDS=N]
set -eu
secs=${1:-60}
srcdir=${srcdir:-$(dirname "$0")/../..}
CLANG=${CLANG:-clang}
srcs=
for f in $FT_SOURCES; do
	case $f in *.c) srcs="$srcs $srcdir/$f" ;; esac
done
# shellcheck disable=SC2086
$CLANG -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -I"$srcdir/include" -I"$srcdir/src" \
	$srcs "$srcdir/tests/fuzz/fuzz_api.c" -luring -lseccomp -lm -o tests/fuzz_api
mkdir -p tests/fuzz-corpus
# The regressions first, each on its own: any failure stops here.
for f in "$srcdir"/tests/fuzz/regressions/*; do
	[ -f "$f" ] || continue
	./tests/fuzz_api "$f" > /dev/null 2>&1 ||
		{ echo "fuzz regression $f fails"; exit 1; }
done
exec ./tests/fuzz_api -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 \
	-print_final_stats=1 tests/fuzz-corpus "$srcdir/tests/fuzz/regressions"
