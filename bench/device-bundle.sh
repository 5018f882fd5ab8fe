#!/bin/sh
# Build what the many-core check needs into .device/ (git-ignored), to be
# carried to a machine that may lack our build dependencies: bench/bench
# and tests/test_queue_manycore linked against the static library, the
# shared libraries they still need (liburing, Criterion and its own), and
# device-run.sh as .device/run.sh.
#
#   sh bench/device-bundle.sh [OLD_COMMIT]
#
# With OLD_COMMIT, also that commit's bench as .device/old-bench, with
# today's watchdog report (watchdog.c) patched in, so that a hang seen
# there says whether its threads sleep or spin.
# Then, on the machine: run carry=[".device"] command="bash .device/run.sh"
set -eu
top=$(git rev-parse --show-toplevel)
out=$top/.device
tmp=$(mktemp -d)
trap 'git -C "$top" worktree remove --force "$tmp/old" 2>/dev/null || true; rm -rf "$tmp"' EXIT
rm -rf "$out"
mkdir -p "$out/lib"

# $1: source tree, $2: build directory; static libfreethreading.
build() {
	(cd "$1" && autoreconf -fi >/dev/null 2>&1)
	mkdir -p "$2"
	(cd "$2" && "$1/configure" --quiet --disable-shared &&
	 make -j"$(nproc)" >/dev/null)
}

# The working tree's tracked files, as they are now.
mkdir "$tmp/src"
(cd "$top" && git ls-files -z | xargs -0 cp --parents -t "$tmp/src")
build "$tmp/src" "$tmp/new"
(cd "$tmp/new" && make tests/test_queue_manycore >/dev/null)
cp "$tmp/new/bench/bench" "$tmp/new/tests/test_queue_manycore" "$out/"

if [ $# -ge 1 ]; then
	git -C "$top" worktree add --detach "$tmp/old" "$1" >/dev/null 2>&1
	cp "$top/bench/watchdog.c" "$tmp/old/bench/"
	python3 - "$tmp/old" <<'PY'
import re, sys
root = sys.argv[1]
h = open(root + "/bench/harness.c").read()
h = re.sub(r"static void on_watchdog\(int sig\)\n\{.*?\n\}\n",
           "static void on_watchdog(int sig)\n{\n\t(void)sig;\n"
           "\twatchdog_report(current_case, current_side, watchdog_s);\n"
           "\t_exit(2);\n}\n", h, count=1, flags=re.S)
h = h.replace("static unsigned watchdog_s;\n", "")
h = h.replace("static void on_watchdog", "static unsigned watchdog_s;\n\n"
              "static void on_watchdog", 1)
open(root + "/bench/harness.c", "w").write(h)
hh = open(root + "/bench/harness.h").read()
i = hh.rindex("#endif")
hh = (hh[:i] + "void watchdog_report(const char *case_name, const char *side,\n"
      "\t\t     unsigned seconds);\n\n" + hh[i:])
open(root + "/bench/harness.h", "w").write(hh)
m = open(root + "/Makefile.am").read()
m = m.replace("bench/queue.c", "bench/queue.c bench/watchdog.c", 1)
open(root + "/Makefile.am", "w").write(m)
PY
	build "$tmp/old" "$tmp/oldb"
	cp "$tmp/oldb/bench/bench" "$out/old-bench"
	echo "$1" > "$out/old-commit"
fi

# Every shared library but the C library's own, from ldd.
for bin in "$out"/bench "$out"/test_queue_manycore; do
	ldd "$bin" | awk '/=> \// { print $3 }'
done | sort -u | grep -Ev '/(libc|libm|libpthread|libdl|librt|libresolv|ld-linux[^/]*)\.so' |
	while read -r lib; do cp -L "$lib" "$out/lib/"; done
cp "$top/bench/device-run.sh" "$out/run.sh"
du -sh "$out"
