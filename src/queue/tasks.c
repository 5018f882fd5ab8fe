/* SPDX-License-Identifier: MIT */
/*
 * Queue's task accounting: unfinished = puts - task_done calls, both
 * modulo 2^31, derived from tail's message counter and one word, done, so
 * it stays exact whoever dies where.  Joiners sleep on done.
 *
 * Invariant:
 *  T1. A joiner counts itself in joiners, then looks at done; task_done
 *      changes done, then looks at joiners (all seq_cst): a task_done that
 *      finishes the last task either sees the joiner or is seen by it.
 */
#include <errno.h>
#include <limits.h>

#include "queue/queue.h"
#include "wait/wait.h"

static uint32_t unfinished(ft_queue_t *q, uint32_t done)
{
	return (ft__pos_msgs(ft__load_seq_cst(&q->tail.word)) - done) &
	       FT__MSG_MASK;
}

FT_API int ft_queue_task_done(ft_queue_t *q)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	if (r < 0)
		return r;
	uint32_t done = ft__load_relaxed(&q->done);
	do {
		if (unfinished(q, done) == 0)
			return -EOVERFLOW;
	} while (!ft__cas_seq_cst(&q->done, &done, (done + 1) & FT__MSG_MASK));
	/* T1, the waker's half. */
	if (unfinished(q, (done + 1) & FT__MSG_MASK) == 0 &&
	    ft__load_seq_cst(&q->joiners))
		ft__wake(&q->done, INT_MAX);
	return 0;
}

FT_API int ft_queue_unfinished_tasks(ft_queue_t *q)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	if (r < 0)
		return r;
	/* Done first: the tail read after it is at least as new, so the
	 * count never goes below 0. */
	uint32_t done = ft__load_seq_cst(&q->done);
	return (int)unfinished(q, done);
}

FT_API int ft_queue_join(ft_queue_t *q, double timeout)
{
	struct ft__deadline d;
	const struct timespec *abs = NULL;
	int r = ft__check_timed(q, FT__TAG_QUEUE, timeout, &d);
	if (r < 0)
		return r;
	for (bool first = true;; first = false) {
		uint32_t done = ft__load_seq_cst(&q->done);
		if (unfinished(q, done) == 0)
			return 0;
		if (ft__deadline_now(&d))
			return -EAGAIN;
		if (first)
			abs = ft__deadline_abs(&d);
		else if (r == -ETIMEDOUT)
			return r;
		/* T1, the sleeper's half: count ourselves, then look again. */
		ft__fetch_add_seq_cst(&q->joiners, 1u);
		done = ft__load_seq_cst(&q->done);
		r = unfinished(q, done) == 0 ? 0 : ft__wait(&q->done, done, abs);
		ft__fetch_sub_release(&q->joiners, 1u);
	}
}
