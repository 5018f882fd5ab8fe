/* SPDX-License-Identifier: MIT */
/*
 * The queue's storage: a byte ring in the arena holding records
 *   { uint32 len, uint32 unused, len bytes, padding to 8 }.
 * head and tail are byte counters (offset = counter & (size - 1)); the
 * live records are [head, tail).  Records are 8-aligned and the size a
 * power of two >= 64, so a record header never wraps; its bytes may.
 *
 * Crash consistency, for a worker killed mid-call: a put copies its record
 * beyond tail and only then publishes it by storing tail; a get copies its
 * record out and only then drops it by storing head.  Growing copies the
 * live records into a new ring whose head and tail are set before one
 * store of the queue's ring pointer switches to it.  So [head, tail) of
 * the current ring always holds whole records, and the counters beside it
 * (count, unfinished) are rebuilt from it by whoever takes the lock with
 * -EOWNERDEAD.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "lockword.h"
#include "queue.h"
#include "wait.h"

#define INITIAL_RING 16384u
#define REC_HDR 8u

struct ft__ring {
	uint64_t size;   /* bytes of data[], a power of two */
	uint64_t head;   /* byte counter of the oldest record */
	uint64_t tail;   /* byte counter past the newest record */
	uint64_t pad;
	unsigned char data[];
};

static uint64_t footprint(size_t len)
{
	return REC_HDR + (((uint64_t)len + 7) & ~(uint64_t)7);
}

static struct ft__ring *ring_new(uint64_t size)
{
	struct ft__ring *r = ft__arena_alloc(sizeof(*r) + size);
	if (!r)
		return NULL;
	r->size = size;
	ft__arena_publish(r, FT__TAG_QUEUE_RING);
	return r;
}

/* Copy @n bytes in or out at byte counter @at, wrapping at the end. */
static void ring_write(struct ft__ring *r, uint64_t at, const void *src, size_t n)
{
	uint64_t off = at & (r->size - 1);
	size_t first = n < r->size - off ? n : (size_t)(r->size - off);
	memcpy(r->data + off, src, first);
	memcpy(r->data, (const char *)src + first, n - first);
}

static void ring_read(const struct ft__ring *r, uint64_t at, void *dst, size_t n)
{
	uint64_t off = at & (r->size - 1);
	size_t first = n < r->size - off ? n : (size_t)(r->size - off);
	memcpy(dst, r->data + off, first);
	memcpy((char *)dst + first, r->data, n - first);
}

static uint32_t rec_len(const struct ft__ring *r, uint64_t at)
{
	uint32_t len;
	memcpy(&len, r->data + (at & (r->size - 1)), sizeof(len));
	return len;
}

ft_queue_t *ft__queue_new(int maxsize, uint32_t tag)
{
	ft_queue_t *q = ft__new_object(sizeof(*q));
	if (!q)
		return NULL;
	struct ft__ring *r = ring_new(INITIAL_RING);
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

/* The lock's holder died mid-call: rebuild the counters from the ring. */
static void repair(ft_queue_t *q)
{
	struct ft__ring *r = q->ring;
	uint32_t n = 0;
	for (uint64_t at = r->head; at < r->tail; at += footprint(rec_len(r, at)))
		n++;
	/* A put that died after publishing its record left it uncounted: it
	 * landed, so it is also a task to be done.  (A get that died after
	 * dropping its record leaves count high; its message went to the
	 * dead worker, who will never mark it done, as in Python.) */
	if (n > q->count)
		q->unfinished += n - q->count;
	q->count = n;
	/* Whoever slept on the dead holder's behalf must look again. */
	ft__fetch_add_acq_rel(&q->put_seq, 1u);
	ft__fetch_add_acq_rel(&q->get_seq, 1u);
	ft__wake(&q->put_seq, 0x7fffffff);
	ft__wake(&q->get_seq, 0x7fffffff);
}

static void lock(ft_queue_t *q)
{
	if (ft__lockword_acquire_spin(&q->lock, ft__tid()) == -EOWNERDEAD)
		repair(q);
}

static void unlock(ft_queue_t *q)
{
	ft__lockword_release(&q->lock);
}

/* Sleep on @seq (counted in *@sleepers) with the lock released; the lock
 * is held again on return.  -ETIMEDOUT once @abs passed. */
static int wait_on(ft_queue_t *q, uint32_t *seq, uint32_t *sleepers,
		   const struct timespec *abs)
{
	(*sleepers)++;
	uint32_t s = ft__load_relaxed(seq);
	unlock(q);
	int r = ft__spin_while(seq, s) ? 0 : ft__wait(seq, s, abs);
	lock(q);
	(*sleepers)--;
	return r == -ETIMEDOUT ? r : 0;
}

/* A caller's deadline, computed only once it must wait: the fast path
 * never reads the clock. */
struct deadline {
	double timeout;
	bool set;
	struct timespec ts;
	const struct timespec *abs;
};

/* Wait once on @seq (the lock is held again on return): 0 to look again,
 * or the code to give up with: -EAGAIN for a timeout of 0, -ETIMEDOUT once
 * the deadline passed.  The caller gives up only if its condition still
 * holds. */
static int wait_turn(ft_queue_t *q, uint32_t *seq, uint32_t *sleepers,
		     struct deadline *d)
{
	if (d->timeout == 0)
		return -EAGAIN;
	if (!d->set) {
		d->abs = ft__deadline(d->timeout, &d->ts);
		d->set = true;
	}
	return wait_on(q, seq, sleepers, d->abs);
}

/* Called with the lock held.  A sleeper counts itself (under the lock)
 * before it reads @seq and lets go, so with none counted there is nobody
 * to tell, and the shared word is not even touched. */
static void signal_seq(uint32_t *seq, uint32_t sleepers, int n)
{
	if (!sleepers)
		return;
	ft__fetch_add_acq_rel(seq, 1u);
	ft__wake(seq, n);
}

/* Make room for @need more bytes: a ring of at least twice the size.
 * Called with the lock held.  -ENOMEM if the arena cannot. */
static int grow(ft_queue_t *q, uint64_t need)
{
	struct ft__ring *old = q->ring;
	uint64_t used = old->tail - old->head;
	uint64_t size = old->size * 2;
	while (size < used + need) {
		if (size > ft__arena_size())
			return -ENOMEM;
		size *= 2;
	}
	struct ft__ring *r = ring_new(size);
	if (!r)
		return -ENOMEM;
	if (used)
		ring_read(old, old->head, r->data, (size_t)used);
	r->head = 0;
	r->tail = used;
	/* Release pairs with nothing outside the lock; it orders the new
	 * ring's contents before the switch for a repairer after a death. */
	ft__store_release(&q->ring, r);
	ft__arena_free(old, FT__TAG_QUEUE_RING);
	return 0;
}

int ft__queue_put(ft_queue_t *q, const void *data, size_t len, double timeout)
{
	if (!data && len)
		return -EINVAL;
	if (len > UINT32_MAX - 16 || footprint(len) > ft__arena_size())
		return -ENOMEM;
	uint64_t need = footprint(len);
	struct deadline d = { .timeout = timeout };

	lock(q);
	while (q->maxsize > 0 && q->count >= (uint32_t)q->maxsize) {
		int e = wait_turn(q, &q->get_seq, &q->putters, &d);
		if (e < 0 && q->count >= (uint32_t)q->maxsize) {
			unlock(q);
			return e;
		}
	}
	struct ft__ring *r = q->ring;
	if (r->tail - r->head + need > r->size) {
		int e = grow(q, need);
		if (e < 0) {
			unlock(q);
			return e;
		}
		r = q->ring;
	}
	uint32_t hdr[2] = { (uint32_t)len, 0 };
	ring_write(r, r->tail, hdr, sizeof(hdr));
	if (len)
		ring_write(r, r->tail + REC_HDR, data, len);
	/* The publishing store: the record is whole before tail covers it. */
	ft__store_release(&r->tail, r->tail + need);
	q->count++;
	q->unfinished++;
	signal_seq(&q->put_seq, q->getters, 1);
	unlock(q);
	return 0;
}

int ft__queue_get(ft_queue_t *q, void *buf, size_t cap, size_t *len,
		  void **out, double timeout)
{
	struct deadline d = { .timeout = timeout };

	if (!len || (!out && !buf && cap))
		return -EINVAL;
	lock(q);
	while (q->count == 0) {
		int e = wait_turn(q, &q->put_seq, &q->getters, &d);
		if (e < 0 && q->count == 0) {
			unlock(q);
			return e;
		}
	}
	struct ft__ring *r = q->ring;
	uint32_t n = rec_len(r, r->head);
	*len = n;
	if (out) {
		/* malloc under the queue lock is brief; a failure leaves the
		 * message queued, as a too-small buffer does. */
		buf = malloc(n ? n : 1);
		if (!buf) {
			unlock(q);
			return -ENOMEM;
		}
	} else if (n > cap) {
		unlock(q);
		return -EMSGSIZE;
	}
	if (n)
		ring_read(r, r->head + REC_HDR, buf, n);
	/* The dropping store: the record is copied out before head passes. */
	ft__store_release(&r->head, r->head + footprint(n));
	q->count--;
	signal_seq(&q->get_seq, q->putters, 1);
	unlock(q);
	if (out)
		*out = buf;
	return 0;
}

int ft__queue_free(ft_queue_t *q, uint32_t tag)
{
	int r = ft__check(q, tag);
	if (r < 0)
		return r;
	struct ft__ring *ring = q->ring;
	r = ft__arena_free(q, tag);
	if (r == 0)
		ft__arena_free(ring, FT__TAG_QUEUE_RING);
	return r;
}

/* ---------------------------------------------------------------- Queue */

FT_API ft_queue_t *ft_queue_new(int maxsize)
{
	return ft__queue_new(maxsize, FT__TAG_QUEUE);
}

FT_API int ft_queue_put(ft_queue_t *q, const void *data, size_t len,
			double timeout)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	return r < 0 ? r : ft__queue_put(q, data, len, timeout);
}

FT_API int ft_queue_put_nowait(ft_queue_t *q, const void *data, size_t len)
{
	return ft_queue_put(q, data, len, 0);
}

FT_API int ft_queue_get(ft_queue_t *q, void *buf, size_t cap, size_t *len,
			double timeout)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	return r < 0 ? r : ft__queue_get(q, buf, cap, len, NULL, timeout);
}

FT_API int ft_queue_get_nowait(ft_queue_t *q, void *buf, size_t cap,
			       size_t *len)
{
	return ft_queue_get(q, buf, cap, len, 0);
}

FT_API int ft_queue_get_alloc(ft_queue_t *q, void **out, size_t *len,
			      double timeout)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	if (r < 0)
		return r;
	if (!out)
		return -EINVAL;
	return ft__queue_get(q, NULL, 0, len, out, timeout);
}

FT_API int ft_queue_qsize(ft_queue_t *q)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	return r < 0 ? r : (int)ft__load_relaxed(&q->count);
}

FT_API int ft_queue_empty(ft_queue_t *q)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	return r < 0 ? r : ft__load_relaxed(&q->count) == 0;
}

FT_API int ft_queue_full(ft_queue_t *q)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	if (r < 0)
		return r;
	return q->maxsize > 0 &&
	       ft__load_relaxed(&q->count) >= (uint32_t)q->maxsize;
}

FT_API int ft_queue_task_done(ft_queue_t *q)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	if (r < 0)
		return r;
	lock(q);
	if (q->unfinished == 0) {
		unlock(q);
		return -EOVERFLOW;
	}
	if (--q->unfinished == 0)
		signal_seq(&q->done_seq, q->joiners, 0x7fffffff);
	unlock(q);
	return 0;
}

FT_API int ft_queue_join(ft_queue_t *q, double timeout)
{
	struct deadline d = { .timeout = timeout };
	int r = ft__check(q, FT__TAG_QUEUE);
	if (r < 0)
		return r;
	lock(q);
	while (q->unfinished > 0) {
		int e = wait_turn(q, &q->done_seq, &q->joiners, &d);
		if (e < 0 && q->unfinished > 0) {
			r = e;
			break;
		}
	}
	unlock(q);
	return r;
}

FT_API int ft_queue_free(ft_queue_t *q)
{
	return ft__queue_free(q, FT__TAG_QUEUE);
}

/* ---------------------------------------------------------- SimpleQueue */

FT_API ft_simple_queue_t *ft_simple_queue_new(void)
{
	return (ft_simple_queue_t *)ft__queue_new(0, FT__TAG_SIMPLE_QUEUE);
}

FT_API int ft_simple_queue_put(ft_simple_queue_t *sq, const void *data,
			       size_t len)
{
	int r = ft__check(sq, FT__TAG_SIMPLE_QUEUE);
	return r < 0 ? r : ft__queue_put((ft_queue_t *)sq, data, len, FT_FOREVER);
}

FT_API int ft_simple_queue_get(ft_simple_queue_t *sq, void *buf, size_t cap,
			       size_t *len, double timeout)
{
	int r = ft__check(sq, FT__TAG_SIMPLE_QUEUE);
	return r < 0 ? r
		     : ft__queue_get((ft_queue_t *)sq, buf, cap, len, NULL, timeout);
}

FT_API int ft_simple_queue_empty(ft_simple_queue_t *sq)
{
	int r = ft__check(sq, FT__TAG_SIMPLE_QUEUE);
	return r < 0 ? r : ft__load_relaxed(&((ft_queue_t *)sq)->count) == 0;
}

FT_API int ft_simple_queue_free(ft_simple_queue_t *sq)
{
	return ft__queue_free((ft_queue_t *)sq, FT__TAG_SIMPLE_QUEUE);
}
