/*
 * ft_worker_wait (src/worker/worker_wait.c) against ft__worker_finish
 * (src/worker/worker.c): two workers end, each by its finisher:
 *
 *   finish: state := DONE (exchange), wake its word if SLEEPERS was set;
 *           then ends := (ends + 2) & ~SLEEPERS (exchange), wake the ends
 *           word if SLEEPERS was set in what it replaced
 *
 * Waiter V (a set of up to 128: one futex_waitv over the state words)
 * waits for ALL_COMPLETED: look; for each pending word set SLEEPERS (CAS;
 * a changed word means look again); sleep on every pending word with the
 * values it marked.
 * Waiter E (a set over 128: the ends word) waits for FIRST_COMPLETED, or
 * for ALL_COMPLETED with ALL=1: look; set SLEEPERS on ends (CAS, skipped
 * if set); look at the set again; sleep on ends with the value it marked.
 *
 * Checked: no invalid end state (neither waiter sleeps for good: no lost
 * wake-up) and each returns only once its mode holds (assert).
 * BROKEN=1: E does not look again after marking: must lose a wake-up.
 * BROKEN=2: the finisher bumps ends before it stores DONE: must too.
 */
#define NF 3
#include "futex.pml"

#ifndef ALL
#define ALL 0
#endif
#ifndef BROKEN
#define BROKEN 0
#endif

#define SLEEPERS 1
#define DONE 2
#define ends fw[2]

inline finish_state(i)
{
	atomic { v = fw[i]; fw[i] = DONE };
	if
	:: v & SLEEPERS -> futex_wake(i, 8)
	:: else
	fi
}

proctype finisher(byte i)
{
	byte v, wk, sel, pick;
	if
	:: BROKEN != 2 -> finish_state(i)
	:: else
	fi;
	atomic { v = ends; ends = (v + 2) & ~SLEEPERS };
	if
	:: v & SLEEPERS -> futex_wake(2, 8)
	:: else
	fi;
	if
	:: BROKEN == 2 -> finish_state(i)
	:: else
	fi
}

proctype waiter_v()
{
	byte v0, v1, fr, wk, sel, pick;
	do
	:: (fw[0] & DONE) && (fw[1] & DONE) -> break
	:: else ->
		v0 = fw[0];
		v1 = fw[1];
		/* Mark each pending word; a word that changed: look again. */
		if
		:: !(v0 & DONE) && !(v0 & SLEEPERS) ->
			atomic {
				if
				:: fw[0] == v0 -> fw[0] = v0 | SLEEPERS; v0 = v0 | SLEEPERS
				:: else -> goto again
				fi
			}
		:: else
		fi;
		if
		:: !(v1 & DONE) && !(v1 & SLEEPERS) ->
			atomic {
				if
				:: fw[1] == v1 -> fw[1] = v1 | SLEEPERS; v1 = v1 | SLEEPERS
				:: else -> goto again
				fi
			}
		:: else
		fi;
		if
		:: !(v0 & DONE) && !(v1 & DONE) -> futex_waitv2(0, v0, 1, v1, fr)
		:: !(v0 & DONE) && (v1 & DONE) -> futex_wait(0, v0, fr)
		:: (v0 & DONE) && !(v1 & DONE) -> futex_wait(1, v1, fr)
		:: else
		fi;
again:		fr = 0
	od;
	assert((fw[0] & DONE) && (fw[1] & DONE))
}

#define E_ENOUGH ((ALL && (fw[0] & DONE) && (fw[1] & DONE)) || \
		  (!ALL && ((fw[0] & DONE) || (fw[1] & DONE))))

proctype waiter_e()
{
	byte v, fr, wk, sel, pick;
	do
	:: E_ENOUGH -> break
	:: else ->
		v = ends;
		if
		:: !(v & SLEEPERS) ->
			atomic {
				if
				:: ends == v -> ends = v | SLEEPERS; v = v | SLEEPERS
				:: else -> goto again
				fi
			}
		:: else
		fi;
		if
		:: BROKEN != 1 && E_ENOUGH -> goto again
		:: else
		fi;
		futex_wait(2, v, fr);
again:		fr = 0
	od;
	assert(E_ENOUGH)
}

init
{
	atomic {
		run waiter_v();
		run waiter_e();
		run finisher(0);
		run finisher(1)
	}
}
