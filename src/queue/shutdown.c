/* SPDX-License-Identifier: MIT */
/*
 * Shutting a queue down, as Python 3.13's Queue.shutdown(immediate): puts
 * fail from then on, gets go on while messages remain and fail once it is
 * empty; an immediate shutdown also drops every queued message and counts
 * each as a task done.  Blocked callers of either side return -ESHUTDOWN.
 *
 * Invariants:
 *  S1. The flag is set holding the producing side (put_lock, any bias
 *      taken back), so a put either published before it or sees it under
 *      put_lock and queues nothing; no bias is given afterwards (a put
 *      that would give one sees the flag first).
 *  S2. So once a get sees the flag (acquire), the tail it loads next is
 *      final: empty then means empty for good.
 *  S3. Sleepers of both sides sleep on the flag's word as well as on the
 *      position (futex_waitv), and the flag is set before the wake: a
 *      sleeper enqueued before the store is woken, one that comes after
 *      finds the word changed.
 *  S4. The drain drops the messages with one store of head (Q1), then
 *      credits them to done.  A caller killed between leaves them counted
 *      as unfinished: ft_queue_join then waits for tasks nobody has.
 */
#include <errno.h>
#include <limits.h>

#include "queue/queue.h"
#include "wait/wait.h"

/* Count @n dropped messages as done, at most as many as are unfinished
 * (task_done may have run ahead of gets), and wake joiners if none is
 * left (tasks.c, T1). */
static void credit_done(ft_queue_t *q, uint32_t n)
{
	uint32_t done = ft__load_relaxed(&q->done);
	uint32_t unfinished, credit;
	do {
		uint32_t puts = ft__pos_msgs(ft__load_seq_cst(&q->tail.word));
		unfinished = (puts - done) & FT__MSG_MASK;
		credit = n < unfinished ? n : unfinished;
		if (credit == 0)
			return;
	} while (!ft__cas_seq_cst(&q->done, &done,
				  (done + credit) & FT__MSG_MASK));
	if (credit == unfinished && ft__load_seq_cst(&q->joiners))
		ft__wake(&q->done, INT_MAX);
}

/* Drop every queued message (S4).  After the flag: the tail is final. */
static void drain(ft_queue_t *q)
{
	(void)ft__lockword_acquire(&q->get_lock, ft__owner(), NULL);
	uint64_t h = ft__load_relaxed(&q->head.word);
	uint64_t t = ft__load_acquire(&q->tail.word);
	uint32_t n = ft__pos_count(t, h);
	bool shrink = false;
	if (n) {
		/* Head catches up with tail: the same counters, unmarked.
		 * Producers asleep on head are woken by the flag (S3). */
		ft__queue_publish(&q->head, t & ~FT__POS_SLEEPER);
		q->tail_seen = t;
		shrink = ft__ring_size(ft__load_relaxed(&q->ring)) >=
			 FT__RING_SHRINK_FROM;
	}
	ft__lockword_release(&q->get_lock);
	if (n)
		credit_done(q, n);
	if (shrink)
		ft__ring_shrink(q);
}

int ft__queue_shutdown(ft_queue_t *q, bool immediate)
{
	if (!ft__queue_is_shut(q)) {
		struct ft__deadline forever;
		ft__deadline_init(&forever, FT_FOREVER);
		/* S1.  A producer's wait for the side: no deadline, and
		 * -EOWNERDEAD needs nothing (queue.c, Q1). */
		int e = ft__put_side_lock(q, &forever, false);
		if (e < 0 && e != -EOWNERDEAD)
			return e;
		/* Release: S2's acquire sees every put before it. */
		ft__store_release(&q->shutdown, 1);
		ft__lockword_release(&q->put_lock);
		ft__wake(&q->shutdown, INT_MAX);
	}
	if (immediate)
		drain(q);
	return 0;
}
