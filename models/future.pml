/*
 * Futures (src/executor/future.c, future_wait.c; DESIGN.md Executors):
 *
 * 1. The ends word (F2).  Two futures end, each by its finisher:
 *      finish: state := DONE (CAS), wake its word if SLEEPERS was set;
 *              then load ends: only if SLEEPERS is set there, bump it
 *              (+2, clear SLEEPERS) and wake it.
 *    Waiter E (a set over 128 futures) waits for ALL_COMPLETED: look; set
 *    SLEEPERS on ends (CAS, skipped if set); look again; sleep on ends
 *    with the value it marked.  Waiter V (up to 128) marks each pending
 *    word and sleeps on both (futex_waitv).  Every step is sequentially
 *    consistent, as the code's seq_cst CAS and loads make it.
 *    Checked: no invalid end state (no lost wake-up), asserts on return.
 *    BROKEN=1: the finisher reads ends before it ends the future: must
 *    lose a wake-up.
 *
 * 2. Done-callbacks (E5), with CB=1: two adders and the finisher of one
 *    future, and the manager.  An adder takes the future's lock; if the
 *    list is closed it runs its callback itself; else it appends it and
 *    ORs HAS_CB into the word, and if the word was already DONE without
 *    HAS_CB, it runs the list (nobody else will).  The finisher that sees
 *    HAS_CB in its CAS hands the future to the manager, which runs the
 *    list.  Running a list: under the lock take it and close it, then run
 *    what was taken.  Checked: each callback runs exactly once.
 *    BROKEN=2: the adder leaves every list to the manager: a callback
 *    added after a finish that saw no HAS_CB must never run.
 */
#define NF 3
#include "futex.pml"

#ifndef BROKEN
#define BROKEN 0
#endif
#ifndef CB
#define CB 0
#endif

#define SLEEPERS 1
#define DONE 2
#define HASCB 4
#define ends fw[2]

inline end_future(i)
{
	atomic { v = fw[i]; fw[i] = v | DONE };
	if
	:: v & SLEEPERS -> futex_wake(i, 8)
	:: else
	fi
}

inline bump_ends()
{
	v = ends;
	if
	:: v & SLEEPERS ->
		atomic { v = ends; ends = (v + 2) & ~SLEEPERS };
		futex_wake(2, 8)
	:: else
	fi
}

proctype finisher(byte i)
{
	byte v, wk, sel, pick;
	if
	:: BROKEN == 1 ->
		/* the load of ends passes the end of the future */
		byte e = ends;
		end_future(i);
		if
		:: e & SLEEPERS ->
			atomic { v = ends; ends = (v + 2) & ~SLEEPERS };
			futex_wake(2, 8)
		:: else
		fi
	:: else ->
		end_future(i);
		bump_ends()
	fi
}

#define ALL_DONE ((fw[0] & DONE) && (fw[1] & DONE))

proctype waiter_e()
{
	byte v, fr, wk, sel, pick;
	do
	:: ALL_DONE -> break
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
		:: ALL_DONE -> goto again
		:: else
		fi;
		futex_wait(2, v, fr);
again:		fr = 0
	od;
	assert(ALL_DONE)
}

proctype waiter_v()
{
	byte v0, v1, fr, wk, sel, pick;
	do
	:: ALL_DONE -> break
	:: else ->
		v0 = fw[0];
		v1 = fw[1];
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
	assert(ALL_DONE)
}

/* ---- 2. callbacks on future 0 */
bit cblock;
bool closed;
bool inlist[2];
byte ran[2];
bool handed;       /* the finisher pushed it to the manager */

inline lock()   { atomic { cblock == 0 -> cblock = 1 } }
inline unlock() { cblock = 0 }

inline run_list()
{
	lock();
	taken0 = inlist[0]; taken1 = inlist[1];
	inlist[0] = 0; inlist[1] = 0;
	closed = 1;
	unlock();
	if :: taken0 -> ran[0]++ :: else fi;
	if :: taken1 -> ran[1]++ :: else fi
}

proctype cb_finisher()
{
	byte v;
	atomic { v = fw[0]; fw[0] = v | DONE };
	if
	:: v & HASCB -> handed = 1
	:: else
	fi
}

proctype manager()
{
	bool taken0, taken1;
	handed;
	run_list()
}

proctype adder(byte k)
{
	byte old;
	bool nobody, taken0, taken1;
	lock();
	if
	:: closed -> unlock(); ran[k]++
	:: else ->
		inlist[k] = 1;
		atomic { old = fw[0]; fw[0] = old | HASCB };
		if
		:: BROKEN == 2 -> nobody = 0
		:: else -> nobody = (old & DONE) && !(old & HASCB)
		fi;
		unlock();
		if
		:: nobody -> run_list()
		:: else
		fi
	fi
}

init
{
	if
	:: CB ->
		atomic {
			run cb_finisher();
			run adder(0);
			run adder(1)
		};
		/* The manager runs only if handed the future; otherwise it
		 * is not started (as in the code: nothing on its stack). */
		(_nr_pr == 1);
		if
		:: handed -> run manager(); (_nr_pr == 1)
		:: else
		fi;
		assert(ran[0] == 1 && ran[1] == 1)
	:: else ->
		atomic {
			run waiter_v();
			run waiter_e();
			run finisher(0);
			run finisher(1)
		}
	fi
}
