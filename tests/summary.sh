#!/bin/sh
# One closing line for the whole suite, summed from the test logs:
# Criterion's "Synthesis" lines and the examples checker's own line.
dir=${1:-.}
cat "$dir"/tests/*.log "$dir"/examples/*.log 2>/dev/null | awk '
/Synthesis: Tested:/ {
	for (i = 1; i <= NF; i++) {
		if ($i == "Passing:") p += $(i + 1)
		if ($i == "Failing:") f += $(i + 1)
		if ($i == "Crashing:") f += $(i + 1)
	}
}
/^examples: [0-9]+ passed, [0-9]+ failed$/ { p += $2; f += $4 }
END { printf "%d passed, %d failed\n", p, f }'
