/* SPDX-License-Identifier: MIT */
/*
 * Put and get: the two sides of a queue, each under its own owner word
 * (put_lock, get_lock), built from the ring (ring.c), sleeping on the
 * other side's position (wake.c) and the producer bias (bias.c).
 *
 * Invariants:
 *  Q1. A put copies its record past tail and only then publishes it with
 *      one store of tail, which moves the message and byte counts
 *      together; a get copies its record out and only then drops it with
 *      one store of head.  So [head, tail) always holds whole records and
 *      the counts derived from the two words are exact, even after a
 *      worker is killed mid-call: a dead holder leaves nothing to repair
 *      but its owner word.
 *  Q2. FIFO across producers follows from put_lock (and the bias: one
 *      producer), across consumers from get_lock.
 *  Q3. A call never waits holding its side's lock (wake.c lets it go).
 *  Shutdown: S1-S3 in shutdown.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "queue/queue.h"
#include "arena/type.h"
#include "wait/wait.h"


ft_queue_t *ft__queue_new(int maxsize, uint32_t tag)
{
	ft_queue_t *q = ft__new_object(sizeof(*q));
	if (!q)
		return NULL;
	struct ft__ring *r = ft__ring_new(FT__RING_INITIAL);
	if (!r) {
		ft__arena_free(q, FT__TAG_RESERVED);
		errno = ENOMEM;
		return NULL;
	}
	q->maxsize = maxsize;
	q->ring = r;
	ft__arena_publish(q, tag);
	return q;
}

/* ------------------------------------------------------------- producers */

int ft__queue_put(ft_queue_t *q, const void *data, size_t len,
		  struct ft__deadline *d)
{
	if (!data && len)
		return -EINVAL;
	/* Larger than the arena: -ENOMEM at once, not after waiting for
	 * room.  (No arena is below FT__ARENA_MIN_SIZE: small messages skip
	 * the call.) */
	if (len > UINT32_MAX - 16 ||
	    (len >= FT__ARENA_MIN_SIZE / 2 &&
	     ft__footprint(len) > ft__arena_size()))
		return -ENOMEM;
	if (ft__queue_is_shut(q))
		return -ESHUTDOWN;
	uint64_t need = ft__footprint(len);
	uint32_t tid = ft__tid();
	if (ft__bias_is(q, tid) && ft__bias_put(q, tid, data, len, need))
		return 0;

	int e = ft__put_side_lock(q, d, false);
	if (e < 0)
		return e == -ETIMEDOUT && ft__deadline_now(d) ? -EAGAIN : e;
	uint64_t t = ft__load_relaxed(&q->tail.word);
	bool waited = false;
	for (;;) {
		/* S1: under put_lock, the flag is final for this put. */
		if (ft__queue_is_shut(q)) {
			ft__lockword_release(&q->put_lock);
			return -ESHUTDOWN;
		}
		if (!ft__queue_full_at(q, t))
			break;
		if (ft__deadline_now(d)) {
			ft__lockword_release(&q->put_lock);
			return -EAGAIN;
		}
		e = ft__queue_wait_on(q, &q->put_lock, &q->head, &q->putters,
				      ft__pos_msgs(q->head_seen),
				      q->put_streak && !waited, d);
		waited = true;
		int u = ft__put_side_lock(q, d, false);
		if (u < 0) {
			/* Not queued: pass on the wake we may have taken. */
			ft__queue_wake_one(&q->head);
			return u;
		}
		t = ft__load_relaxed(&q->tail.word);
		if (e < 0 && ft__queue_full_at(q, t) && !ft__queue_is_shut(q)) {
			ft__lockword_release(&q->put_lock);
			return e;
		}
	}
	struct ft__ring *r = ft__load_relaxed(&q->ring);
	e = 0;
	if (!ft__ring_has_room(q, t, r, need)) {
		e = ft__ring_grow(q, t, need);
		r = ft__load_relaxed(&q->ring);
	}
	if (e >= 0)
		e = ft__ring_reserve(r, ft__pos_bytes(t), need);
	if (e < 0) {
		ft__queue_pass_wake_to_putter(q, t, waited);
		ft__lockword_release(&q->put_lock);
		return e;
	}
	ft__ring_write_record(r, ft__pos_bytes(t), data, len);
	/* Q1: the publishing store, after the record. */
	uint64_t next = ft__pos_next(t, need);
	bool wake = ft__queue_publish(&q->tail, next);
	q->put_streak = waited ? 0 : q->put_last == tid ? q->put_streak + 1 : 1;
	q->put_last = tid;
	ft__bias_try(q, tid);
	ft__queue_pass_wake_to_putter(q, next, waited);
	ft__lockword_release(&q->put_lock);
	if (wake)
		ft__queue_wake_one(&q->tail);
	return 0;
}

/* ------------------------------------------------------------- consumers */

/* With get_lock held: true if nothing lies past head @h.  Looks at tail
 * only when the cached copy says empty. */
static bool empty_at(ft_queue_t *q, uint64_t h)
{
	if (ft__pos_msgs(q->tail_seen) != ft__pos_msgs(h))
		return false;
	/* Acquire pairs with the producers' publish: the record is whole. */
	q->tail_seen = ft__load_acquire(&q->tail.word);
	return ft__pos_msgs(q->tail_seen) == ft__pos_msgs(h);
}

int ft__queue_get(ft_queue_t *q, void *buf, size_t cap, size_t *len,
		  void **out, struct ft__deadline *d)
{
	if (!len || (!out && !buf && cap))
		return -EINVAL;
	(void)ft__lockword_acquire(&q->get_lock, ft__owner(), NULL);
	uint64_t h = ft__load_relaxed(&q->head.word);
	bool waited = false;
	while (empty_at(q, h)) {
		/* S2: shut down and empty: nothing more can come.  The tail
		 * is looked at again after the flag, whose acquire makes
		 * every put before the shutdown visible. */
		if (ft__queue_is_shut(q) && empty_at(q, h)) {
			ft__lockword_release(&q->get_lock);
			return -ESHUTDOWN;
		}
		if (ft__deadline_now(d)) {
			ft__lockword_release(&q->get_lock);
			return -EAGAIN;
		}
		int e = ft__queue_wait_on(q, &q->get_lock, &q->tail,
					  &q->getters, ft__pos_msgs(h),
					  q->get_flowing && !waited, d);
		waited = true;
		(void)ft__lockword_acquire(&q->get_lock, ft__owner(), NULL);
		h = ft__load_relaxed(&q->head.word);
		if (e < 0 && empty_at(q, h) && !ft__queue_is_shut(q)) {
			ft__lockword_release(&q->get_lock);
			return e;
		}
	}
	struct ft__ring *r = ft__load_relaxed(&q->ring);
	uint64_t at = ft__pos_bytes(h);
	uint32_t n = ft__ring_record_len(r, at);
	*len = n;
	if (out) {
		/* malloc holding get_lock is brief; a failure leaves the
		 * message queued, as a too-small buffer does. */
		buf = malloc(n ? n : 1);
		if (!buf) {
			ft__queue_pass_wake_to_getter(q, h, waited);
			ft__lockword_release(&q->get_lock);
			return -ENOMEM;
		}
	} else if (n > cap) {
		ft__queue_pass_wake_to_getter(q, h, waited);
		ft__lockword_release(&q->get_lock);
		return -EMSGSIZE;
	}
	ft__ring_read_record(r, at, buf, n);
	/* Q1: the dropping store, after the copy out.  Producers sleep on
	 * head only when bounded. */
	uint64_t next = ft__pos_next(h, ft__footprint(n));
	bool wake = false;
	if (q->maxsize > 0)
		wake = ft__queue_publish(&q->head, next);
	else
		ft__store_release(&q->head.word, next);
	q->get_flowing = !waited;
	ft__queue_pass_wake_to_getter(q, next, waited);
	bool drained = ft__pos_msgs(q->tail_seen) == ft__pos_msgs(next) &&
		       ft__ring_size(r) >= FT__RING_SHRINK_FROM;
	ft__lockword_release(&q->get_lock);
	if (wake)
		ft__queue_wake_one(&q->head);
	if (drained)
		ft__ring_shrink(q);
	if (out)
		*out = buf;
	return 0;
}

int ft__queue_get_alloc(ft_queue_t *q, uint32_t tag, void **out, size_t *len,
			double timeout)
{
	struct ft__deadline d;
	int r = ft__check(q, tag);
	if (r == 0 && !out)
		r = -EINVAL;
	if (r == 0)
		r = ft__deadline_init(&d, timeout);
	return r < 0 ? r : ft__queue_get(q, NULL, 0, len, out, &d);
}

/* --------------------------------------------------------------- shared */

uint32_t ft__queue_count(ft_queue_t *q)
{
	/* Head first: the tail read after it is at least as new, so the
	 * difference never goes below 0. */
	uint64_t h = ft__load_acquire(&q->head.word);
	uint64_t t = ft__load_acquire(&q->tail.word);
	uint32_t n = ft__pos_count(t, h);
	if (q->maxsize > 0 && n > (uint32_t)q->maxsize)
		n = (uint32_t)q->maxsize;   /* gets between the two reads */
	return n < INT_MAX ? n : INT_MAX;
}

static void queue_repair(void *obj)
{
	ft__queue_repair(obj);
}

FT__TYPE(queue_type) = { FT__TAG_QUEUE, queue_repair };
FT__TYPE(simple_queue_type) = { FT__TAG_SIMPLE_QUEUE, queue_repair };

void ft__queue_repair(ft_queue_t *q)
{
	ft__lockword_repair(&q->put_lock, 0);
	ft__lockword_repair(&q->get_lock, 0);
	ft__bias_repair(q);
	/* A worker may have died between publishing and waking, or woken
	 * and died before passing the wake on. */
	if (ft__load_acquire(&q->getters))
		ft__wake(ft__pos_futex(&q->tail), INT_MAX);
	if (ft__load_acquire(&q->putters))
		ft__wake(ft__pos_futex(&q->head), INT_MAX);
	if (ft__load_acquire(&q->joiners))
		ft__wake(&q->done, INT_MAX);
}

int ft__queue_free(ft_queue_t *q, uint32_t tag)
{
	int r = ft__check(q, tag);
	if (r < 0)
		return r;
	struct ft__ring *ring = q->ring;
	r = ft__arena_free(q, tag);
	if (r == 0)
		ft__ring_free(ring);
	return r;
}
