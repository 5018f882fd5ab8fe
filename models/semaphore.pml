/*
 * Semaphore (src/sync/semaphore.c): the value is the futex word; sleepers count
 * themselves in waiters, so a release wakes only when someone is counted.
 *
 *   acquire: take (CAS v -> v-1) if v > 0; else waiters++, then loop:
 *            take, or sleep while value == 0 (the kernel rechecks it)
 *   release: CAS v -> v+n and look at waiters (both seq_cst); wake n if
 *            any
 *
 * TAKERS each acquire once (taker 1 with a deadline if TIMED: it may give
 * up); RELEASERS each release N units.  Units suffice for every taker.
 * Checked: the value counts exactly the units released and not taken
 * (assert at the end); every taker that does not give up takes a unit
 * (no invalid end state: no sleeper left while units wait).
 */
#define NF 1
#include "futex.pml"

#ifndef TAKERS
#define TAKERS 3
#endif
#ifndef RELEASERS
#define RELEASERS 2
#endif
#ifndef N
#define N 2
#endif
#ifndef TIMED
#define TIMED 1
#endif
#ifndef BROKEN
#define BROKEN 0     /* 1: release looks at waiters before raising the
			value: must produce a lost wake-up */
#endif

#define value fw[0]
byte waiters;
byte taken, released, finished;

inline try_take(ok)
{
	ok = false;
	do
	:: v = value;
		if
		:: v == 0 -> break
		:: else ->
			atomic {
				if
				:: value == v -> value = v - 1; ok = true
				:: else
				fi
			}
			if
			:: ok -> break
			:: else
			fi
		fi
	od;
	v = 0
}

proctype taker(bool timed)
{
	byte v, fr, wk, sel, pick;
	bool ok;

	try_take(ok);
	if
	:: ok -> goto took
	:: else
	fi;
	waiters++;
	do
	:: try_take(ok);
		if
		:: ok -> break
		:: else
		fi;
		if
		:: timed -> futex_wait_timed(0, 0, fr)
		:: else -> futex_wait(0, 0, fr)
		fi;
		if
		:: fr == ETIMEDOUT ->
			try_take(ok);
			break
		:: else
		fi;
		fr = 0
	od;
	waiters--;
	if
	:: ok -> goto took
	:: else -> goto out
	fi;
took:
	taken++;
out:
	finished++
}

proctype releaser()
{
	byte v, wk, sel, pick;
	bool ok, seen;

	seen = waiters != 0;
	do
	:: v = value;
		atomic {
			if
			:: value == v -> value = v + N; ok = true
			:: else -> ok = false
			fi
		}
		if
		:: ok -> break
		:: else
		fi
	od;
	released = released + N;
	/* seq_cst CAS, then the seq_cst look at waiters */
	if
	:: (BROKEN && seen) || (!BROKEN && waiters != 0) -> futex_wake(0, N)
	:: else
	fi;
	finished++
}

init
{
	byte p;
	atomic {
		for (p : 1 .. TAKERS) { run taker(TIMED && p == 1) }
		for (p : 1 .. RELEASERS) { run releaser() }
	}
	(finished == TAKERS + RELEASERS);
	assert(value == released - taken)
}
