/*
 * The producer bias of a queue (src/queue/bias.c) under x86-TSO.
 *
 * Every process has a FIFO store buffer: plain stores enter it, a flusher
 * commits them to memory in order at any moment, a load reads the
 * process's own newest buffered value or memory, and a locked instruction
 * (CAS, exchange, add) or system call first empties the caller's buffer.
 * The heavy fence (membarrier) waits until every store that any process
 * had issued when it began is in memory; it may instead be refused (a
 * seccomp filter), at any call, when REFUSE is set.
 *
 * Producers put K messages each.  A put through put_lock may be followed
 * by a bias (any time the conditions hold: the streak heuristic is
 * abstracted as a choice).  A biased put announces itself in inside with
 * a plain store, checks bias with only a compiler barrier between, writes
 * its record and publishes tail with plain stores.  Consumers get messages
 * and sleep on tail with the queue's marks (queue_wake.pml checks those on
 * their own); one that would sleep first makes sure no biased put can
 * publish unseen (bias_for_sleeper), with a deadline if TIMED.
 *
 * Checked:
 *   - at most one writer on the producing side (assert);
 *   - every message delivered exactly once, in each producer's order
 *     (assert on what consumers read);
 *   - no lost wake-up and no stuck revocation: every process finishes
 *     (no invalid end state).
 */

#ifndef NP
#define NP 1
#endif
#ifndef NC
#define NC 1
#endif
#ifndef K
#define K 3
#endif
#ifndef REFUSE
#define REFUSE 0       /* the heavy fence may be refused */
#endif
#ifndef TIMED
#define TIMED 0        /* consumers' revocation waits may time out */
#endif
#ifndef HANDSHAKE
#define HANDSHAKE 0    /* producer 0, done, waits (asleep) for producer 1
			  to be done before it ends: the biased producer that
			  waits for its rival (tests/test_queue_bias.c) */
#endif
#ifndef OFFCPU
#define OFFCPU 1       /* a revoker refused the fence may see the producer
			  off the CPU (blocked, its buffer drained) */
#endif
#ifndef LEGACY
#define LEGACY 0       /* 1: the put-back of 4828b26 (a failed revocation
			  restores the bias); expect a lost wake-up */
#endif

#define TOTAL (NP * K)
#define NPROC (NP + NC + 1)   /* init (0), producers (1 ..), consumers */

/* ------------------------------------------------------------ memory */
#define A_BIAS 0        /* 0, tid, tid | REVOKING */
#define A_INSIDE 1      /* tid of a biased put in progress */
#define A_UNBIASED 2    /* a former holder that may be in its window */
#define A_OFF 3         /* no more bias: a fence was refused */
#define A_TAIL 4        /* messages published, + MARK while slept on */
#define A_GETTERS 5
#define A_PUTLOCK 6
#define A_HEAD 7        /* messages taken (get_lock is abstracted) */
#define A_RING 8        /* TOTAL slots */
#define NA (A_RING + TOTAL)

#define REVOKING 16
#define TID(b) ((b) % REVOKING)
#define MARK 32
#define MSGS(v) ((v) % MARK)

#define EAGAIN 1
#define ETIMEDOUT 2
#define EPERM 3
#define GONE 4        /* wait for the producer's own word, then again */

int mem[NA];

/* store buffers */
#ifndef SBN
#define SBN 3
#endif
byte sb_addr[NPROC * SBN];
int sb_val[NPROC * SBN];
byte sb_len[NPROC];
byte sb_fmask[NPROC * SBN];  /* fencers waiting for this entry, by pid */
byte fpend[NPROC];           /* entries a fencer still waits for */

/* futexes: sleepers per address */
int fq[NA];

byte writers;             /* processes inside the producing side */
bool ended[NPROC];        /* a producer that returned (its thread ended) */
bool asleep[NPROC];       /* blocked in the kernel, its buffer drained */
byte got[TOTAL];          /* times each message was read */
byte last_seen[NC * NP];  /* per consumer, per producer: next expected */

inline st(a, v)
{
	atomic {
		sb_len[_pid] < SBN;
		sb_addr[_pid * SBN + sb_len[_pid]] = a;
		sb_val[_pid * SBN + sb_len[_pid]] = v;
		sb_len[_pid]++
	}
}

inline ld(a, r)
{
	atomic {
		r = mem[a];
		for (j : 0 .. SBN - 1) {
			if
			:: j < sb_len[_pid] && sb_addr[_pid * SBN + j] == a ->
				r = sb_val[_pid * SBN + j]
			:: else
			fi
		}
		j = 0
	}
}

/* A locked instruction or a system call: the caller's buffer drains. */
inline drain()
{
	(sb_len[_pid] == 0)
}

inline cas(a, old, new, ok)
{
	drain();
	atomic {
		if
		:: mem[a] == old -> mem[a] = new; ok = true
		:: else -> old = mem[a]; ok = false
		fi
	}
}

inline futex_wait(a, val, res)
{
	drain();
	atomic {
		if
		:: mem[a] != (val) -> res = EAGAIN
		:: else -> fq[a] = fq[a] | (1 << _pid); res = 0
		fi
	}
	if
	:: res == 0 -> (fq[a] & (1 << _pid)) == 0
	:: else
	fi
}

inline futex_wait_timed(a, val, res)
{
	drain();
	atomic {
		if
		:: mem[a] != (val) -> res = EAGAIN
		:: else -> fq[a] = fq[a] | (1 << _pid); res = 0
		fi
	}
	if
	:: res == 0 ->
		atomic {
			if
			:: (fq[a] & (1 << _pid)) == 0
			:: (fq[a] & (1 << _pid)) != 0 ->
				fq[a] = fq[a] & ~(1 << _pid); res = ETIMEDOUT
			fi
		}
	:: else
	fi
}

/* Wake every sleeper of @a (the models wake all where the code wakes
 * INT_MAX; one-at-a-time wakes of tail are queue_wake.pml's subject). */
inline futex_wake_all(a)
{
	drain();
	fq[a] = 0
}

/* membarrier: 0, or EPERM (refused).  Every store buffered anywhere
 * when it starts is in memory when it returns. */
inline fence_heavy(res)
{
	drain();
	if
	:: REFUSE -> res = EPERM
	:: true ->
		atomic {
			for (j : 0 .. NPROC * SBN - 1) {
				if
				:: j % SBN < sb_len[j / SBN] ->
					sb_fmask[j] = sb_fmask[j] | (1 << _pid);
					fpend[_pid]++
				:: else
				fi
			}
			j = 0
		}
		(fpend[_pid] == 0);
		res = 0
	fi
}

/* Commits process p's buffered stores, oldest first, at any moment. */
proctype flusher(byte p)
{
	byte j;
end:
	do
	:: atomic {
		sb_len[p] > 0 ->
		mem[sb_addr[p * SBN]] = sb_val[p * SBN];
		for (j : 0 .. NPROC - 1) {
			if
			:: sb_fmask[p * SBN] & (1 << j) -> fpend[j]--
			:: else
			fi
		}
		for (j : 1 .. SBN - 1) {
			sb_addr[p * SBN + j - 1] = sb_addr[p * SBN + j];
			sb_val[p * SBN + j - 1] = sb_val[p * SBN + j];
			sb_fmask[p * SBN + j - 1] = sb_fmask[p * SBN + j]
		}
		sb_addr[p * SBN + SBN - 1] = 0;
		sb_val[p * SBN + SBN - 1] = 0;
		sb_fmask[p * SBN + SBN - 1] = 0;
		sb_len[p]--;
		j = 0
	   }
	od
}

/* -------------------------------------------------------- put_lock */
inline put_lock_take()
{
	drain();
	asleep[_pid] = true;
	atomic { mem[A_PUTLOCK] == 0 -> mem[A_PUTLOCK] = _pid; asleep[_pid] = false }
}

/* With a deadline: may give up instead of waiting. */
inline put_lock_take_timed(res)
{
	drain();
	atomic {
		if
		:: mem[A_PUTLOCK] == 0 -> mem[A_PUTLOCK] = _pid; res = 0
		:: mem[A_PUTLOCK] != 0 -> res = ETIMEDOUT
		fi
	}
}

inline put_lock_drop()
{
	drain();
	assert(mem[A_PUTLOCK] == _pid);
	mem[A_PUTLOCK] = 0
}

/*
 * With put_lock held: make sure no biased put runs or can start
 * (unbias() in src/queue/bias.c).  res 0, or ETIMEDOUT (deadline), the
 * bias then left REVOKING for the next holder to finish.
 */
inline unbias(timed, res)
{
	res = 0;
	ld(A_BIAS, b);
	do
	:: b == 0 -> break
	:: b != 0 && TID(b) == _pid ->
		st(A_BIAS, 0); break          /* our own: we are not inside */
	:: b != 0 && TID(b) != _pid && b < REVOKING ->
		st(A_UNBIASED, b);
		nb = b + REVOKING;
		cas(A_BIAS, b, nb, ok);       /* fails if the holder gave it up */
		if
		:: ok -> b = nb
		:: else
		fi
	:: b >= REVOKING ->
		fence_heavy(fr);
		if
		:: fr != 0 ->
			/* Refused: no more bias; the producer's own word says
			 * when it left (its next put), or its end does: the
			 * caller waits for that without put_lock. */
			st(A_OFF, 1);
			res = GONE
		:: else ->
			/* Fenced: inside is up to date; wait until it is 0. */
			do
			:: ld(A_INSIDE, in);
				if
				:: in == 0 -> break
				:: else ->
					if
					:: timed -> futex_wait_timed(A_INSIDE, in, fr)
					:: else -> futex_wait(A_INSIDE, in, fr)
					fi;
					if
					:: fr == ETIMEDOUT -> res = ETIMEDOUT; break
					:: else
					fi
				fi
			od
		fi;
		if
		:: res == 0 -> st(A_BIAS, 0)
		:: else
		fi;
		break
	od;
	nb = 0; u = 0; in = 0; fr = 0; ok = false
}

/* 4828b26's unbias(): clears the bias to 0; a failed revocation puts it
 * back; consumers sleep if bias and put_lock both read 0. */
inline unbias_legacy(timed, res)
{
	res = 0;
	ld(A_BIAS, b);
	if
	:: b == _pid -> st(A_BIAS, 0)
	:: b == 0 -> skip
	:: else ->
		st(A_UNBIASED, b);
		st(A_BIAS, 0);
		fence_heavy(fr);
		res = fr;
		do
		:: res != 0 -> break
		:: else ->
			ld(A_INSIDE, in);
			if
			:: in == 0 -> break
			:: else ->
				if
				:: timed -> futex_wait_timed(A_INSIDE, in, fr)
				:: else -> futex_wait(A_INSIDE, in, fr)
				fi;
				if
				:: fr == ETIMEDOUT -> res = ETIMEDOUT; break
				:: else
				fi
			fi
		od;
		if
		:: res != 0 -> st(A_BIAS, b)   /* put back */
		:: else
		fi
	fi;
	b = 0; in = 0; fr = 0
}

#if LEGACY
#define UNBIAS unbias_legacy
#else
#define UNBIAS unbias
#endif

/*
 * ft__put_side_lock(): take put_lock, say we are back if our bias was
 * taken (B4), finish any revocation; when the heavy fence was refused,
 * let put_lock go, wait until the biased producer is known outside (it
 * says so, ends, or is seen off the CPU: then put_inside is true), finish
 * the revocation, and start again.  res 0 with put_lock held, or
 * ETIMEDOUT without.  With OFFCPU=0 only the producer's word and its end
 * count, and a producer that waits for its rival deadlocks (HANDSHAKE).
 */
inline side_lock(timed, res)
{
	do
	:: if
		:: timed -> put_lock_take_timed(res)
		:: else -> put_lock_take(); res = 0
		fi;
		if
		:: res != 0 -> break
		:: else
		fi;
		ld(A_UNBIASED, u);
		if
		:: u == _pid -> cas(A_UNBIASED, u, 0, ok); futex_wake_all(A_UNBIASED)
		:: else
		fi;
		UNBIAS(timed, res);
		if
		:: res == 0 -> break
		:: res == GONE ->
			put_lock_drop();
			drain();
			if
			:: atomic { (mem[A_UNBIASED] != TID(b) || ended[TID(b)] ||
				     (OFFCPU && asleep[TID(b)] && mem[A_INSIDE] == 0)) ->
				res = 0 }
			:: timed -> res = ETIMEDOUT
			fi;
			if
			:: res == 0 ->
				/* finish the revocation, without put_lock */
				nb = TID(b) + REVOKING;
				cas(A_BIAS, nb, 0, ok);
				nb = 0
			:: else -> break
			fi
		:: else -> put_lock_drop(); break
		fi
	od;
	b = 0; u = 0; ok = false
}

/* ---------------------------------------------------------- producer */
proctype producer(byte id)
{
	byte i, j, b, nb, u, in, fr, res, t;
	bool ok, waited;

	for (i : 0 .. K - 1) {
		/* the biased put */
		ld(A_BIAS, b);
		if
		:: b == _pid ->
			st(A_INSIDE, _pid);
			/* ft__fence_light(): nothing at run time */
			ld(A_BIAS, b);
			if
			:: b == _pid ->
				atomic { writers++; assert(writers == 1) };
				ld(A_TAIL, t);
				st(A_RING + MSGS(t), id * K + i + 1);
				writers--;
				st(A_TAIL, MSGS(t) + 1);   /* plain: no mark kept */
				t = 0;
				st(A_INSIDE, 0);
				ld(A_BIAS, b);
				if
				:: b != _pid -> futex_wake_all(A_INSIDE)
				:: else
				fi;
				goto next
			:: else ->
				st(A_INSIDE, 0);
				ld(A_BIAS, b);
				if
				:: b != _pid -> futex_wake_all(A_INSIDE)
				:: else
				fi
			fi
		:: else
		fi;

		/* the locked put */
#if LEGACY
		put_lock_take();
		UNBIAS(false, res);
#else
		side_lock(false, res);
#endif
		assert(res == 0);     /* producers wait without a deadline */
		atomic { writers++; assert(writers == 1) };
		ld(A_TAIL, t);
		st(A_RING + MSGS(t), id * K + i + 1);
		writers--;
		/* the publishing exchange learns of a mark */
		drain();
		atomic { waited = (mem[A_TAIL] >= MARK); mem[A_TAIL] = MSGS(t) + 1; t = 0 };
		/* bias_try: conditions, then the seq_cst handshake */
		ld(A_UNBIASED, u);
		ld(A_OFF, in);
		if
		:: in == 0 && (u == 0 || u == _pid) ->
			drain();
			mem[A_BIAS] = _pid;         /* seq_cst store */
			if
			:: mem[A_GETTERS] != 0 -> st(A_BIAS, 0)
			:: else
			fi
		:: true
		fi;
		u = 0; in = 0;
		put_lock_drop();
		if
		:: waited -> futex_wake_all(A_TAIL)
		:: else
		fi;
		waited = false;
next:		b = 0; u = 0; ok = false
	}
	drain();
	if
	:: HANDSHAKE && id == 0 && NP > 1 ->
		asleep[_pid] = true;
		(ended[_pid + 1]);
		asleep[_pid] = false
	:: else
	fi;
	/* The thread ends: a poller of its existence notices. */
	ended[_pid] = true;
	b = 0; u = 0; in = 0; t = 0; ok = false; waited = false
}

/* ---------------------------------------------------------- consumer */
/* Consumers take messages until all TOTAL are taken.  With TIMED, one whose
 * revocation timed out may leave for good (its caller gave up): the others
 * must still be woken for every message. */
proctype consumer(byte id)
{
	byte j, b, nb, u, in, fr, res, h, v, m;
	bool ok;

	do
	:: /* under get_lock: take the message at head if published */
		drain();
		atomic {
			h = mem[A_HEAD];
			if
			:: h == TOTAL -> break
			:: else
			fi;
			ld(A_TAIL, v);
			if
			:: MSGS(v) > h ->
				m = mem[A_RING + h]; mem[A_HEAD] = h + 1
			:: else
			fi
		};
		if
		:: m != 0 ->
			/* a message, once, in its producer's order */
			assert(m <= TOTAL);
			got[m - 1]++;
			assert(got[m - 1] == 1);
			assert((m - 1) % K >= last_seen[id * NP + (m - 1) / K]);
			last_seen[id * NP + (m - 1) / K] = (m - 1) % K + 1;
			m = 0; h = 0; v = 0
		:: else ->
			/* wait_on(tail): count ourselves (seq_cst), settle the
			 * bias, mark the value, sleep on it */
			drain();
			mem[A_GETTERS]++;
			res = 0;
			ld(A_BIAS, b);
#if LEGACY
			ld(A_PUTLOCK, u);
			if :: u != 0 -> b = 1 :: else fi;
#endif
			if
			:: b != 0 ->
#if LEGACY
				if
				:: TIMED -> put_lock_take_timed(res)
				:: else -> put_lock_take(); res = 0
				fi;
				if
				:: res == 0 ->
					UNBIAS(TIMED, res);
					assert(res == 0 || res == ETIMEDOUT);
					put_lock_drop()
				:: else
				fi
#else
				side_lock(TIMED, res);
				/* a get may time out, never fail otherwise */
				assert(res == 0 || res == ETIMEDOUT);
				if
				:: res == 0 -> put_lock_drop()
				:: else
				fi
#endif
			:: else
			fi;
			if
			:: res == 0 ->
				ld(A_TAIL, v);
				if
				:: MSGS(v) == h ->
					cas(A_TAIL, v, v | MARK, ok);
					if
					:: ok -> futex_wait(A_TAIL, v | MARK, fr)
					:: else
					fi
				:: else
				fi
			:: else
			fi;
			drain();
			mem[A_GETTERS]--;
			if
			:: res == ETIMEDOUT -> break   /* its caller gave up */
			:: true
			fi;
			v = 0; b = 0; u = 0; fr = 0; ok = false; h = 0; res = 0
		fi
	od;
	b = 0; u = 0; in = 0; v = 0; m = 0; h = 0; ok = false; res = 0; fr = 0
}

init
{
	byte p;
	atomic {
		for (p : 0 .. NP - 1) { run producer(p) }
		for (p : 0 .. NC - 1) { run consumer(p) }
		for (p : 1 .. NP + NC) { run flusher(p) }
	}
}
