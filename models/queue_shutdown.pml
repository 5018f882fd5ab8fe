/*
 * Queue shutdown (src/queue/shutdown.c, wake.c) against sleeping gets.
 * Word 0 is tail's message half (bit 7 here: a sleeper's mark), word 1
 * the shutdown flag.  The put side is one producer that puts K messages
 * unless the flag is up (it checks under put_lock, which the shutdown
 * takes: modelled by the atomic check-and-publish, S1); the shutdown
 * sets the flag and wakes its word.
 *
 *   get:   loop: a message past head -> take it; flag up (and still
 *          empty) -> return SHUTDOWN; mark tail; sleep on {tail == v,
 *          flag == 0} (futex_waitv, S3)
 *
 * NC getters.  Checked: no getter sleeps for good (invalid end state),
 * and once all have returned SHUTDOWN every published message was taken
 * (S1, S2: empty after the flag is empty for good).
 * BROKEN=1: getters sleep on tail alone: must lose the shutdown's wake.
 * BROKEN=2: the producer checks the flag outside put_lock: must publish
 * after the getters left.
 */
#define NF 2
#include "futex.pml"

#ifndef NC
#define NC 2
#endif
#ifndef K
#define K 2
#endif
#ifndef BROKEN
#define BROKEN 0
#endif

#define MARK 128
#define tail fw[0]
#define flag fw[1]
#define MSGS(v) ((v) % MARK)

byte head;   /* messages taken (get_lock: one getter at a time) */

proctype producer()
{
	byte i, v, wk, sel, pick;
	for (i : 1 .. K) {
		if
		:: BROKEN == 2 ->
			if
			:: flag -> goto done
			:: else
			fi;
			atomic { v = tail; tail = MSGS(v) + 1 }
		:: else ->
			atomic {
				if
				:: flag -> goto done
				:: else -> v = tail; tail = MSGS(v) + 1
				fi
			}
		fi;
		if
		:: v & MARK -> futex_wake(0, 1)
		:: else
		fi
	};
done:	skip
}

proctype shutdown()
{
	byte wk, sel, pick;
	flag = 1;
	futex_wake(1, 8)
}

proctype getter()
{
	byte v, fr, wk, sel, pick;
	do
	:: atomic { MSGS(tail) != head -> head++ }
	:: atomic { MSGS(tail) == head && flag -> break }
	:: else ->
		v = tail;
		if
		:: MSGS(v) != head || flag -> goto again
		:: else
		fi;
		atomic {
			if
			:: tail == v -> tail = v | MARK; v = v | MARK
			:: else -> goto again
			fi
		}
		if
		:: BROKEN == 1 -> futex_wait(0, v, fr)
		:: else -> futex_waitv2(0, v, 1, 0, fr)
		fi;
again:		fr = 0
	od
}

init
{
	byte p;
	atomic {
		run producer();
		run shutdown();
		for (p : 1 .. NC) { run getter() }
	}
	/* All ended: nothing was published after the getters left (S1,
	 * S2): every message put was got. */
	(_nr_pr == 1);
	assert(MSGS(tail) == head)
}
