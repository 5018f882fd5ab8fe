/*
 * Event (src/sync/event.c): one futex word, SET | WAITERS | generation.
 *
 *   set:   CAS to (gen + 1) | SET (WAITERS cleared); wake all if it was set
 *   clear: clear SET (atomic and)
 *   wait:  snapshot gen; loop: return if SET or gen moved; set WAITERS
 *          (CAS); sleep on the word with WAITERS
 *
 * WAITERS waiters wait (waiter 1 with a deadline if TIMED); one setter
 * sets once, at any time, and a clearer clears once, at any time after
 * every waiter has looked at the word once (a waiter that comes after a
 * set and a clear rightly waits for the next set).
 * Checked: every waiter without a deadline returns (no invalid end state:
 * the set wakes it however clears and sets interleave), and a waiter that
 * returns "set" does so only after the set happened (assert).
 */
#define NF 1
#include "futex.pml"

#ifndef WAITERS
#define WAITERS 3
#endif
#ifndef TIMED
#define TIMED 1
#endif
#ifndef BROKEN
#define BROKEN 0     /* 1: clear drops WAITERS too: must produce a lost
			wake-up */
#endif

#define EV_SET 1
#define EV_WAITERS 2
#define EV_GEN 4
#define GEN(v) ((v) / EV_GEN)
#define word fw[0]

bool was_set;
byte started;

proctype waiter(bool timed)
{
	byte v, gen, fr, wk, sel, pick;

	atomic { v = word; started++ };
	if
	:: v & EV_SET -> goto returned
	:: else
	fi;
	gen = GEN(v);
	do
	:: (v & EV_SET) || GEN(v) != gen -> goto returned
	:: else ->
		if
		:: (v & EV_WAITERS) == 0 ->
			atomic {
				if
				:: word == v -> word = v | EV_WAITERS; v = v | EV_WAITERS
				:: else -> v = word; goto again
				fi
			}
		:: else
		fi;
		if
		:: timed -> futex_wait_timed(0, v, fr)
		:: else -> futex_wait(0, v, fr)
		fi;
		v = word;
		if
		:: fr == ETIMEDOUT ->
			if
			:: (v & EV_SET) || GEN(v) != gen -> goto returned
			:: else -> goto timedout
			fi
		:: else
		fi;
again:		fr = 0
	od;
returned:
	assert(was_set);
timedout:
	skip
}

proctype setter()
{
	byte v, wk, sel, pick;
	bool ok;
	do
	:: v = word;
		if
		:: v & EV_SET -> break
		:: else ->
			atomic {
				if
				:: word == v ->
					word = (v - v % EV_GEN) + EV_GEN + EV_SET;
					was_set = true;
					ok = true
				:: else -> ok = false
				fi
			}
			if
			:: ok ->
				if
				:: v & EV_WAITERS -> futex_wake(0, 8)
				:: else
				fi;
				break
			:: else
			fi
		fi
	od
}

proctype clearer()
{
	(started == WAITERS);
	word = word & ~(EV_SET | (BROKEN -> EV_WAITERS : 0))
}

init
{
	byte p;
	atomic {
		for (p : 1 .. WAITERS) { run waiter(TIMED && p == 1) }
		run setter();
		run clearer()
	}
}
