/* SPDX-License-Identifier: MIT */
/*
 * Sleeping on the other side's position, and waking (models/queue_wake.pml).
 *
 * A sleeper marks the very value it waits on (bit 31 of the message half,
 * set by CAS), as a lock waiter sets WAITERS in an owner word; a publisher
 * exchanges the position, so it learns for free whether the value it
 * replaced was marked.  Only such a publish wakes, one sleeper; later
 * publishes make no system call while the woken one waits for a CPU.
 * Other sleepers are left on a value no longer marked, so a leaving
 * sleeper marks the current value again while others sleep, and a put or
 * get that waited passes a wake on if its side still has sleepers and the
 * other side left them something to do.
 *
 * Invariants:
 *  W1. A sleeper sleeps only on a value it saw marked, after counting
 *      itself in its side's sleepers (seq_cst).
 *  W2. A publish that replaces a marked value wakes one sleeper of it.
 *  W3. A sleeper that leaves while others are counted marks the current
 *      value (so the next publish wakes one of them).
 *  W4. A call that waited and ends (with or without its message) wakes one
 *      more sleeper of its side if the other side left work for it.
 *  W5. On a biased queue no consumer sleeps: plain publishes drop marks
 *      (bias.c, B3).
 * Together: a message published while consumers sleep wakes one of them,
 * and every sleeper left behind either sees a marked value or is woken by
 * the one that took its wake.
 */
#include <errno.h>

#include "queue/queue.h"
#include "wait/wait.h"

/* How long a side that was streaming stays off the other side's lines
 * when it first finds the queue full or empty (bench/README.md). */
#define BATCH_NS 2000u

bool ft__queue_publish(union ft__queue_pos *at, uint64_t pos)
{
	/* Release orders the record (put) or the copy out (get) before the
	 * position; acquire pairs with the sleeper's mark (W2). */
	return ft__xchg_acq_rel(&at->word, pos) & FT__POS_SLEEPER;
}

void ft__queue_wake_one(union ft__queue_pos *at)
{
	ft__wake(ft__pos_futex(at), 1);
}

/* Mark the current value of @at as slept on (no-op if it is); returns the
 * marked value. */
static uint64_t mark_sleeper(union ft__queue_pos *at, uint64_t v)
{
	while (!(v & FT__POS_SLEEPER) &&
	       !ft__cas_acq_rel(&at->word, &v, v | FT__POS_SLEEPER))
		;
	return v | FT__POS_SLEEPER;
}

/* Spin while @at's message count is @seen, for at most ft__spin_ns:
 * true if it moved.  @sparse: look only every BATCH_NS (each look takes
 * the line from the writer, who must take it back to write the next). */
static bool spin_while_at(union ft__queue_pos *at, uint32_t seen, bool sparse)
{
	if (!sparse)
		return ft__spin_while_masked(ft__pos_futex(at), seen,
					     FT__MSG_MASK);
	for (unsigned ns = 0; ns < ft__spin_ns; ns += BATCH_NS) {
		ft__spin_pause(BATCH_NS);
		if (ft__pos_msgs(ft__load_relaxed(&at->word)) != seen)
			return true;
	}
	return false;
}

/*
 * The caller takes its side again afterwards (each side its own way), and
 * looks again on 0, or gives up with the code returned if its condition
 * still holds: -ETIMEDOUT once the deadline passed.  Not for a timeout of
 * 0: the caller gives up at once.
 *
 * @flowing: this side's last call did not wait, so the two sides are
 * streaming and this one caught up.  Polling @at at once would take each
 * message as it lands, moving @at's line and a ring line between the CPUs
 * per message; staying off for BATCH_NS lets the other side run ahead on
 * lines it owns.  A side that waited last time (request/reply, sparse
 * traffic) polls at once.
 */
int ft__queue_wait_on(ft_queue_t *q, uint32_t *lock, union ft__queue_pos *at,
		      uint32_t *sleepers, uint32_t seen, bool flowing,
		      struct ft__deadline *d)
{
	const struct timespec *abs = ft__deadline_abs(d);
	ft__lockword_release(lock);
	if (spin_while_at(at, seen, flowing))
		return 0;
	int r = 0;
	/* W1.  Seq_cst: also the handshake with bias_try() (bias.c, B3). */
	ft__fetch_add_seq_cst(sleepers, 1u);
	if (at == &q->tail)
		r = ft__bias_for_sleeper(q, d);
	uint64_t v = ft__load_acquire(&at->word);
	if (r == 0 && ft__pos_msgs(v) == seen) {
		v = mark_sleeper(at, v);
		/* S3: on the shutdown word too, so a shutdown wakes us
		 * whenever it comes (futex_waitv checks both words). */
		struct ft__wait_word w[2] = {
			{ ft__pos_futex(at), (uint32_t)v },
			{ &q->shutdown, 0 },
		};
		if (ft__pos_msgs(v) == seen)
			r = ft__waitv(w, 2, abs);
		if (r > 0)
			r = 0;
	}
	/* W3 */
	if (ft__fetch_add_acq_rel(sleepers, (uint32_t)-1) > 1)
		mark_sleeper(at, ft__load_relaxed(&at->word));
	return r == -EAGAIN ? 0 : r;
}

void ft__queue_pass_wake_to_putter(ft_queue_t *q, uint64_t t, bool waited)
{
	/* W4.  Seq_cst load: after our publish of tail, against a putter's
	 * count-then-look (ft__queue_wait_on). */
	if (!waited || !ft__load_seq_cst(&q->putters))
		return;
	q->head_seen = ft__load_acquire(&q->head.word);
	if (ft__pos_count(t, q->head_seen) < (uint32_t)q->maxsize)
		ft__queue_wake_one(&q->head);
}

void ft__queue_pass_wake_to_getter(ft_queue_t *q, uint64_t h, bool waited)
{
	/* W4, as above. */
	if (!waited || !ft__load_seq_cst(&q->getters))
		return;
	q->tail_seen = ft__load_acquire(&q->tail.word);
	if (ft__pos_msgs(q->tail_seen) != ft__pos_msgs(h))
		ft__queue_wake_one(&q->tail);
}
