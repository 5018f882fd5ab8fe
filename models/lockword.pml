/*
 * The owner word (src/lockword/lockword.h, src/lockword/lockword.c): one futex word
 *   WAITERS | OWNER_DIED | holder's tid
 * Takers CAS 0 -> tid; the slow path sets WAITERS and sleeps; a taker that
 * slept sets WAITERS again when it takes the word; release exchanges 0 and
 * wakes one sleeper if WAITERS was set.  A holder may die; the repair pass
 * (supervisor) then marks OWNER_DIED, frees the word and wakes everyone.
 *
 * With SLOT=1, the owner slots of src/lockword/owner.h instead: a taker
 * that finds the holder dead marks the word itself, and a sleeper sleeps
 * on the word and on the program's deaths word (fw[1], futex_waitv), read
 * before it judges the holder; a death is made visible, then the deaths
 * word bumped and its sleepers woken.  With REPAIRER=0 nothing else
 * repairs: the takers alone must do.  STALE=1 is the rejected variant in
 * which a sleeper watches its holder's own slot word instead (fw[1] is
 * then the mortal's slot): the holder may change while it sleeps, and a
 * wake-up is lost.  (Deaths nobody reports are found by the code's
 * one-second checks, not modelled.)
 *
 * Checked: at most one holder (assert); every taker that does not give up
 * takes the word in the end (no invalid end state: nobody left asleep).
 */
#define NF 2
#include "futex.pml"

#ifndef N
#define N 3          /* takers */
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif
#ifndef TIMED
#define TIMED 1      /* taker 1 uses a deadline */
#endif
#ifndef DEATH
#define DEATH 0      /* taker N may die holding the word */
#endif
#ifndef SLOT
#define SLOT 0
#endif
#ifndef STALE
#define STALE 0
#endif
#ifndef REPAIRER
#define REPAIRER 1
#endif
#ifndef BROKEN
#define BROKEN 0     /* 1: a taker that slept does not set WAITERS again:
			must produce a lost wake-up */
#endif

#define W 128
#define OD 64
#define TID(v) ((v) % 64)
#define w fw[0]

byte holders;
bool dead[8];

inline acquire(timed, res)
{
	/* fast path: one CAS 0 -> tid */
	atomic {
		if
		:: w == 0 -> w = _pid; res = 0
		:: else -> res = EAGAIN
		fi
	}
	if
	:: res == 0 -> goto taken
	:: else
	fi;
	slept = false;
	try_only = false;
	do
	:: v = w;
		if
		:: TID(v) == 0 ->
			atomic {
				if
				:: w == v ->
					w = _pid | (v & W) | (slept && !BROKEN -> W : 0);
					res = ((v & OD) != 0 -> 3 : 0);  /* 3: EOWNERDEAD */
					v = 0;
					goto taken
				:: else
				fi
			}
		:: else ->
#if SLOT
			/* The deaths word first (STALE: the holder's slot),
			 * then the holder's fate. */
			sv = fw[1];
			if
			:: TID(v) == N && dead[N] ->
				/* dead: mark the word, wake all, look again */
				atomic {
					if
					:: w == v -> w = (v & W) | OD; sv = 255
					:: else
					fi
				}
				if
				:: sv == 255 && (v & W) != 0 -> futex_wake(0, 8)
				:: else
				fi;
				v = 0;
				goto again
			:: else
			fi;
#endif
			if
			:: try_only -> res = ETIMEDOUT; v = 0; goto out
			:: else
			fi;
			if
			:: (v & W) == 0 ->
				atomic {
					if
					:: w == v -> w = v | W; v = v | W
					:: else -> v = 0
					fi
				}
			:: else
			fi;
			if
			:: v != 0 ->
				if
#if SLOT
				:: (TID(v) == N || !STALE) && !timed ->
					futex_waitv2(0, v, 1, sv, fr)
				:: (TID(v) == N || !STALE) && timed ->
					/* a deadline may end it any time */
					if
					:: futex_waitv2(0, v, 1, sv, fr)
					:: fr = ETIMEDOUT
					fi
				:: TID(v) != N && STALE && timed -> futex_wait_timed(0, v, fr)
				:: TID(v) != N && STALE && !timed -> futex_wait(0, v, fr)
#else
				:: timed -> futex_wait_timed(0, v, fr)
				:: else -> futex_wait(0, v, fr)
#endif
				fi;
				slept = true;
				if
				:: fr == ETIMEDOUT ->
					if
					:: TID(w) != 0 -> res = ETIMEDOUT; v = 0; goto out
					:: else -> try_only = true
					fi
				:: else
				fi;
				fr = 0;
				v = 0
			:: else
			fi
		fi;
again:		skip
	od;
taken:
	atomic { holders++; assert(holders == 1) };
out:	skip
}

inline release()
{
	atomic { holders--; v = w; w = 0 }
	if
	:: (v & W) != 0 -> futex_wake(0, 1)
	:: else
	fi;
	v = 0
}

proctype taker(bool timed; bool mortal)
{
	byte i, v, res, fr, wk, sel, pick, sv;
	bool slept, try_only;

	for (i : 1 .. ROUNDS) {
		acquire(timed, res);
		if
		:: res == 0 || res == 3 ->
			if
			:: mortal ->
				/* die holding it: the process is gone */
				atomic { holders--; dead[_pid] = true };
#if SLOT
				fw[1]++;
				futex_wake(1, 8);
#endif
				goto end
			:: true
			fi;
			release()
		:: else
		fi;
		res = 0
	}
end:	skip
}

/* The supervisor's repair pass, run after a death. */
proctype repairer()
{
	byte v, wk, sel, pick;
end_idle:
	(dead[N]);
	do
	:: v = w;
		if
		:: TID(v) == 0 || !dead[TID(v)] -> break
		:: else ->
			atomic {
				if
				:: w == v -> w = (v & W) | OD; v = 255
				:: else
				fi
			}
			if
			:: v == 255 -> futex_wake(0, 8); break
			:: else
			fi
		fi
	od
}

init
{
	byte p;
	atomic {
		for (p : 1 .. N) {
			run taker(TIMED && p == 1, DEATH && p == N)
		}
#if DEATH && REPAIRER
		run repairer()
#endif
	}
}
