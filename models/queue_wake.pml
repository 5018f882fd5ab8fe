/*
 * Sleeping and waking on a queue's positions (src/queue/wake.c), with
 * put and get around them (src/queue/queue.c) and ring growth
 * (src/queue/ring.c): sequentially consistent, which the code earns with
 * read-modify-writes or seq_cst at every store-then-load handshake (the
 * marks, the sleeper counts); the side locks are atomic mutexes here, the
 * owner word having its own model (lockword.pml).  No bias: on a biased
 * queue no consumer sleeps (queue_bias.pml).
 *
 * NP producers put K messages each into a queue bounded at MAXSIZE (0:
 * unbounded); NC consumers take them all.  A sleeper marks the value it
 * waits on; a publish that replaces a marked value wakes ONE sleeper; a
 * leaving sleeper re-marks while others are counted; a call that waited
 * passes a wake on.  With TIMED, any wait may time out: the call then
 * fails if its condition still holds, and its worker calls again.  Each
 * consumer takes TOTAL / NC messages, so one left asleep at the end is a
 * lost wake-up, not a lack of work.  With GROW, the ring starts with room for one message and a put
 * that finds no room copies it into one twice the size, under both locks.
 *
 * Checked: each message taken exactly once, in its producer's order
 * (asserts); one writer and one reader per side (asserts); no lost
 * wake-up: every worker finishes (no invalid end state).
 */
#ifndef NP
#define NP 2
#endif
#ifndef NC
#define NC 2
#endif
#ifndef K
#define K 2
#endif
#ifndef MAXSIZE
#define MAXSIZE 1
#endif
#ifndef TIMED
#define TIMED 0
#endif
#ifndef GROW
#define GROW 0
#endif
#ifndef SPIN
#define SPIN 1         /* the spin before sleeping may see the change */
#endif
#ifndef BROKEN
#define BROKEN 0       /* 1: no re-mark on leaving (W3); 2: no pass-on (W4):
			  each must produce a lost wake-up */
#endif

#define TOTAL (NP * K)
#define MARK 64
#define MSGS(v) ((v) % MARK)

#define F_TAIL 0
#define F_HEAD 1
#define NF 2
#include "futex.pml"

#define tail fw[F_TAIL]
#define head fw[F_HEAD]

byte put_lock, get_lock;
byte getters, putters;
byte ring[2 * TOTAL];    /* two generations of slots */
byte gen;                /* the ring in use: 0 or 1 */
byte room = 1;           /* messages the ring in use holds (GROW) */
byte writers, readers;
byte got[TOTAL];
byte next_of[NC * NP];   /* per consumer, per producer: next expected */

inline lock(l) { atomic { l == 0 -> l = _pid } }
inline unlock(l) { atomic { assert(l == _pid); l = 0 } }

/* Mark the current value of f as slept on; v gets the marked value. */
inline mark_sleeper(f, v)
{
	do
	:: (v & MARK) != 0 -> break
	:: else ->
		atomic {
			if
			:: fw[f] == v -> fw[f] = v | MARK; v = v | MARK
			:: else -> v = fw[f]
			fi
		}
	od
}

/* ft__queue_wait_on(), with @lock held on entry and let go. */
inline wait_on(l, f, seen, res)
{
	res = 0;
	unlock(l);
	if
	:: SPIN && MSGS(fw[f]) != seen -> skip   /* the spin saw it move */
	:: true ->
		if
		:: f == F_TAIL -> getters++
		:: else -> putters++
		fi;
		v = fw[f];
		if
		:: MSGS(v) == seen ->
			mark_sleeper(f, v);
			if
			:: MSGS(v) == seen ->
				if
				:: TIMED -> futex_wait_timed(f, v, fr)
				:: else -> futex_wait(f, v, fr)
				fi;
				if
				:: fr == ETIMEDOUT -> res = ETIMEDOUT
				:: else
				fi
			:: else
			fi
		:: else
		fi;
		atomic {
			if
			:: f == F_TAIL -> prev = getters; getters--
			:: else -> prev = putters; putters--
			fi
		};
		if
		:: prev > 1 && BROKEN != 1 -> v = fw[f]; mark_sleeper(f, v) /* W3 */
		:: else
		fi
	fi;
	v = 0; prev = 0; fr = 0
}

proctype producer(byte id)
{
	byte i, t, h, v, prev, fr, wk, sel, pick, res, seen, nx, s;
	bool waited, wake;

	for (i : 0 .. K - 1) {
retry:
		lock(put_lock);
		waited = false;
		t = tail;
		do
		:: h = head;
			if
			:: MAXSIZE == 0 || MSGS(t) - MSGS(h) < MAXSIZE -> break
			:: else
			fi;
			seen = MSGS(h);
			wait_on(put_lock, F_HEAD, seen, res);
			waited = true;
			lock(put_lock);
			t = tail;
			h = head;
			if
			:: res == ETIMEDOUT && MAXSIZE > 0 &&
			   MSGS(t) - MSGS(h) >= MAXSIZE ->
				/* the put fails; its caller tries again */
				unlock(put_lock);
				goto retry
			:: else
			fi
		od;
#if GROW
		/* ft__ring_grow(): both locks, copy, switch, in one go here
		 * (its steps run with every other worker locked out) */
		h = head;
		if
		:: MSGS(t) - MSGS(h) + 1 > room ->
			lock(get_lock);
			atomic {
				h = head;
				if
				:: MSGS(t) - MSGS(h) + 1 > room ->
					for (s : 0 .. TOTAL - 1) {
						ring[(1 - gen) * TOTAL + s] = ring[gen * TOTAL + s]
					}
					gen = 1 - gen;
					room = room * 2
				:: else
				fi;
				s = 0
			};
			unlock(get_lock)
		:: else
		fi;
#endif
		atomic { writers++; assert(writers == 1) };
		ring[gen * TOTAL + MSGS(t)] = id * K + i + 1;
		writers--;
		atomic { wake = (tail & MARK) != 0; tail = MSGS(t) + 1 };  /* W2 */
		nx = MSGS(t) + 1;
		/* W4: pass_wake_to_putter */
		if
		:: BROKEN != 2 && waited && putters != 0 && MAXSIZE > 0 &&
		   nx - MSGS(head) < MAXSIZE ->
			futex_wake(F_HEAD, 1)
		:: else
		fi;
		unlock(put_lock);
		if
		:: wake -> futex_wake(F_TAIL, 1)
		:: else
		fi;
		t = 0; h = 0; nx = 0; seen = 0; waited = false; wake = false
	}
}

proctype consumer(byte id)
{
	byte i, t, h, v, prev, fr, wk, sel, pick, res, seen, m, nx;
	bool waited, wake;

	for (i : 0 .. TOTAL / NC - 1) {
retry:
		lock(get_lock);
		waited = false;
		h = head;
		do
		:: MSGS(tail) != MSGS(h) -> break
		:: else ->
			seen = MSGS(h);
			wait_on(get_lock, F_TAIL, seen, res);
			waited = true;
			lock(get_lock);
			h = head;
			if
			:: res == ETIMEDOUT && MSGS(tail) == MSGS(h) ->
				/* the get fails; its caller tries again */
				unlock(get_lock);
				goto retry
			:: else
			fi
		od;
		atomic { readers++; assert(readers == 1) };
		m = ring[gen * TOTAL + MSGS(h)];
		readers--;
		assert(m >= 1 && m <= TOTAL);
		got[m - 1]++;
		assert(got[m - 1] == 1);
		assert((m - 1) % K >= next_of[id * NP + (m - 1) / K]);
		next_of[id * NP + (m - 1) / K] = (m - 1) % K + 1;
		if
		:: MAXSIZE > 0 ->
			atomic { wake = (head & MARK) != 0; head = MSGS(h) + 1 }
		:: else ->
			head = MSGS(h) + 1
		fi;
		nx = MSGS(h) + 1;
		/* W4: pass_wake_to_getter */
		if
		:: BROKEN != 2 && waited && getters != 0 && MSGS(tail) != nx ->
			futex_wake(F_TAIL, 1)
		:: else
		fi;
		unlock(get_lock);
		if
		:: wake -> futex_wake(F_HEAD, 1)
		:: else
		fi;
		h = 0; m = 0; nx = 0; seen = 0; waited = false; wake = false
	}
}

init
{
	byte p;
	atomic {
		for (p : 0 .. NP - 1) { run producer(p) }
		for (p : 0 .. NC - 1) { run consumer(p) }
	}
}
