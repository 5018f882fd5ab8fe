/* SPDX-License-Identifier: MIT */
/*
 * The producer bias (models/queue_bias.pml).  A producer that streams
 * alone is given the producing side: it then puts without put_lock and
 * publishes tail with a plain store, so a put has no read-modify-write.
 * Each of those waits for the record's stores to reach lines the consumer
 * has read, and that wait, once per message, is what bounds a 1 -> 1
 * stream (bench/README.md).
 *
 * put_bias holds 0, the biased producer's tid, or that tid | REVOKING
 * while someone takes the side back.  A biased put announces itself in
 * put_inside, then checks put_bias with only a compiler barrier between
 * (ft__fence_light).  Whoever takes the side back holds put_lock, marks
 * put_bias REVOKING (the producer's check fails from then on), runs a
 * heavy fence towards the producer's process and waits for put_inside to
 * be 0: either it sees the producer inside, or the producer sees the bias
 * gone.  If the heavy fence is refused (a seccomp filter), it lets
 * put_lock go and waits instead until the producer is known to have left:
 * its next put clears put_unbiased on its way into put_lock, it ends, or
 * it is seen off the CPU.
 *
 * Invariants:
 *  B1. At most one writer on the producing side: a holder of put_lock
 *      touches the side only when put_bias is 0 (finishing any
 *      revocation first), and a biased producer only between its entry
 *      check and leaving put_inside.
 *  B2. put_bias leaves REVOKING only for 0, and only once the producer is
 *      known outside: put_inside seen 0 after a heavy fence or after the
 *      producer was seen off the CPU, put_unbiased cleared by the
 *      producer, or the producer gone.  A holder that gives up (its
 *      deadline) leaves REVOKING for the next one.
 *  B3. No consumer sleeps while put_bias is not 0: one about to sleep
 *      counts itself in getters (seq_cst) and then takes the side back if
 *      put_bias is not 0; a bias is given only if getters reads 0 after
 *      put_bias is stored (seq_cst), else taken back at once.
 *  B4. A producer whose bias was taken may still be between its first
 *      look at put_bias and its store to put_inside, and that store would
 *      overwrite a new holder's: so no bias is given to another producer
 *      while put_unbiased names a live one; it clears it on its next put
 *      through put_lock, after which it no longer writes put_inside.
 *      Nobody waits for that holding put_lock.
 *  B5. Once a heavy fence was refused the queue gives no more bias.
 */
#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include "base/fence.h"
#include "queue/queue.h"
#include "base/sys.h"
#include "wait/wait.h"

#define REVOKING 0x80000000u
#define TID_MASK 0x3fffffffu
#define BIAS_STREAK 64   /* puts in a row, none waiting, before a bias */
#define BIAS_RETRY 1024  /* puts between failed tries */

/* While waiting for a producer to say it left, look whether it still
 * exists this often (an ending thread wakes nobody). */
#define ABSENCE_POLL_NS 10000000L

/* Leave a biased put; if the bias went meanwhile, whoever took it may wait
 * for us.  Release: our put is visible to it. */
static void bias_leave(ft_queue_t *q, uint32_t tid)
{
	ft__store_release(&q->put_inside, 0);
	if (ft__load_relaxed(&q->put_bias) != tid)
		ft__wake(&q->put_inside, INT_MAX);
}

bool ft__bias_put(ft_queue_t *q, uint32_t tid, const void *data, size_t len,
		  uint64_t need)
{
	ft__store_relaxed(&q->put_inside, tid);
	ft__fence_light();
	if (ft__load_relaxed(&q->put_bias) != tid) {
		bias_leave(q, tid);
		return false;
	}
	uint64_t t = ft__load_relaxed(&q->tail.word);
	struct ft__ring *r = ft__load_relaxed(&q->ring);
	if (ft__queue_full_at(q, t) || !ft__ring_has_room(q, t, r, need) ||
	    ft__ring_reserve(r, ft__pos_bytes(t), need) < 0) {
		/* Give the side up: the locked path waits or grows.  A CAS:
		 * a revoker may have marked it meanwhile (then it waits for
		 * put_inside, which bias_leave clears).  Release: for the
		 * next holder of put_lock. */
		uint32_t b = tid;
		ft__cas_release(&q->put_bias, &b, 0);
		bias_leave(q, tid);
		return false;
	}
	ft__ring_write_record(r, ft__pos_bytes(t), data, len);
	/* The publishing store, plain: no consumer sleeps on a biased side
	 * (B3).  Release: the record is whole before tail covers it. */
	ft__store_release(&q->tail.word, ft__pos_next(t, need));
	bias_leave(q, tid);
	return true;
}

void ft__bias_try(ft_queue_t *q, uint32_t tid)
{
	if (q->put_streak < BIAS_STREAK)
		return;
	/* On failure, try again after BIAS_RETRY more puts; once it is
	 * taken back, after a new streak. */
	q->put_streak = BIAS_STREAK - BIAS_RETRY;
	if (ft__load_relaxed(&q->put_bias_off))      /* B5 */
		return;
	uint32_t stale = ft__load_relaxed(&q->put_unbiased);
	if (stale && stale != tid) {                 /* B4 */
		if (ft__sys_tid_exists((pid_t)stale))
			return;
		/* Ended: no longer anywhere. */
		ft__cas_acq_rel(&q->put_unbiased, &stale, 0);
	}
	if (ft__fence_prepare() < 0)
		return;
	q->put_bias_pid = (int32_t)getpid();
	/* B3: store, then look (both seq_cst); a consumer counts itself,
	 * then looks. */
	ft__store_seq_cst(&q->put_bias, tid);
	if (ft__load_seq_cst(&q->getters))
		ft__store_relaxed(&q->put_bias, 0);
	else
		q->put_streak = 0;
}

/* Wait until @in is no longer the value of put_inside. */
static int wait_inside(ft_queue_t *q, const struct timespec *abs)
{
	uint32_t in;
	/* Acquire pairs with bias_leave: the producer's put is visible.  A
	 * producer killed inside is cleared by ft__bias_repair. */
	while ((in = ft__load_acquire(&q->put_inside)))
		if (ft__wait(&q->put_inside, in, abs) == -ETIMEDOUT &&
		    ft__load_acquire(&q->put_inside))
			return -ETIMEDOUT;
	return 0;
}

/*
 * Without a heavy fence, and without put_lock: wait until producer @tid is
 * known outside (B2), then finish its revocation.  Known outside: it
 * cleared put_unbiased (its next put, on its way into put_lock), it no
 * longer exists, or it was seen off the CPU after the mark.  A thread off
 * the CPU was switched out, so its stores are all visible and its loads
 * after it resumes see the mark: put_inside then tells the truth, and if
 * it sits in a put (preempted there) it leaves put_inside when it runs.
 */
static int wait_gone(ft_queue_t *q, uint32_t tid, const struct timespec *abs)
{
	for (;;) {
		/* Acquire pairs with the producer's CAS in
		 * ft__put_side_lock: all its puts are visible. */
		uint32_t u = ft__load_acquire(&q->put_unbiased);
		int e = 1;
		if (u != tid) {
			e = 0;
		} else if (!ft__sys_tid_exists((pid_t)tid)) {
			ft__cas_acq_rel(&q->put_unbiased, &u, 0);
			e = 0;
		} else if (ft__sys_tid_running((pid_t)tid) == 0) {
			e = wait_inside(q, abs);
		}
		if (e <= 0) {
			/* B2: REVOKING to 0 (whoever holds put_lock may do
			 * the same, or the producer may have: a CAS).
			 * Release: what we waited for comes first. */
			uint32_t b = tid | REVOKING;
			if (e == 0)
				ft__cas_release(&q->put_bias, &b, 0);
			return e;
		}
		struct timespec ts;
		bool last;
		const struct timespec *until =
			ft__deadline_slice(abs, ABSENCE_POLL_NS, &ts, &last);
		if (ft__wait(&q->put_unbiased, u, until) == -ETIMEDOUT && last &&
		    ft__load_acquire(&q->put_unbiased) == tid)
			return -ETIMEDOUT;
	}
}

/*
 * With put_lock held: finish taking the side from a biased producer, if
 * anyone is biased (B2).  0: the side is free; -ETIMEDOUT at the deadline
 * @d, put_bias left REVOKING; or GONE when the heavy fence was refused:
 * the caller lets put_lock go (the producer may need it to say it left),
 * waits for producer *@gone (wait_gone) and starts again.  Producers
 * (!@consumer) wait for a put under way without a deadline, as for any
 * side lock (each is held for one put).
 */
#define GONE 1
static int unbias(ft_queue_t *q, struct ft__deadline *d, bool consumer,
		  uint32_t *gone)
{
	uint32_t me = ft__tid();
	/* Acquire pairs with the producer's release when it gave the side
	 * up itself (ft__bias_put): its last put is visible. */
	uint32_t b = ft__load_acquire(&q->put_bias);
	while (b && !(b & REVOKING)) {
		if (b == me) {                 /* ours: we are not inside */
			ft__store_release(&q->put_bias, 0);
			return 0;
		}
		/* B4, before the mark: if we die after it, the producer that
		 * may sit in its window is on record. */
		ft__store_relaxed(&q->put_unbiased, b);
		/* A CAS, as the producer may give the side up meanwhile;
		 * its release orders put_unbiased before the mark. */
		if (ft__cas_acq_rel(&q->put_bias, &b, b | REVOKING))
			b |= REVOKING;
	}
	if (!b)
		return 0;
	uint32_t tid = b & TID_MASK;
	if (tid != me) {
		if (ft__fence_heavy((pid_t)q->put_bias_pid) < 0) {
			/* B5: no heavy fence, no more bias. */
			ft__store_relaxed(&q->put_bias_off, 1);
			*gone = tid;
			return GONE;
		}
		int e = wait_inside(q, consumer ? ft__deadline_abs(d) : NULL);
		if (e < 0)
			return e;
	}
	/* Release: what we waited for is ordered before the side counts as
	 * free. */
	ft__store_release(&q->put_bias, 0);
	return 0;
}

int ft__put_side_lock(ft_queue_t *q, struct ft__deadline *d, bool consumer)
{
	uint32_t me = ft__tid();
	for (;;) {
		int r = ft__lockword_acquire(&q->put_lock, ft__owner(),
					     consumer ? d : NULL);
		if (r == -ETIMEDOUT || r == -EAGAIN)
			return -ETIMEDOUT;
		/* -EOWNERDEAD needs nothing more: a dead holder published all
		 * or nothing (ring.c, R3) and left any revocation marked
		 * (B2). */
		if (!consumer) {
			/* B4: a producer whose bias was taken says it is
			 * back.  Release: its puts so far come first. */
			uint32_t u = ft__load_relaxed(&q->put_unbiased);
			if (u == me && ft__cas_acq_rel(&q->put_unbiased, &u, 0))
				ft__wake(&q->put_unbiased, INT_MAX);
		}
		uint32_t gone;
		int e = unbias(q, d, consumer, &gone);
		if (e == 0)
			return 0;
		ft__lockword_release(&q->put_lock);
		if (e < 0)
			return e;
		e = wait_gone(q, gone, ft__deadline_abs(d));
		if (e < 0)
			return e;
	}
}

int ft__bias_for_sleeper(ft_queue_t *q, struct ft__deadline *d)
{
	/* B3: the caller counted itself (seq_cst) before this look. */
	if (!ft__load_seq_cst(&q->put_bias))
		return 0;
	int e = ft__put_side_lock(q, d, true);
	if (e == 0)
		ft__lockword_release(&q->put_lock);
	return e;
}

void ft__bias_repair(ft_queue_t *q)
{
	/* A biased producer killed in a put (or after it) must not keep a
	 * revoker waiting, nor the bias.  Dead, it is nowhere (B2). */
	uint32_t tid = ft__load_acquire(&q->put_inside);
	if (tid && !ft__sys_tid_exists((pid_t)tid) &&
	    ft__cas_acq_rel(&q->put_inside, &tid, 0))
		ft__wake(&q->put_inside, INT_MAX);
	tid = ft__load_acquire(&q->put_unbiased);
	if (tid && !ft__sys_tid_exists((pid_t)tid) &&
	    ft__cas_acq_rel(&q->put_unbiased, &tid, 0))
		ft__wake(&q->put_unbiased, INT_MAX);
	uint32_t b = ft__load_acquire(&q->put_bias);
	if (b && !(b & REVOKING) && !ft__sys_tid_exists((pid_t)b))
		ft__cas_acq_rel(&q->put_bias, &b, 0);
}
