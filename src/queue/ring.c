/* SPDX-License-Identifier: MIT */
/*
 * The queue's storage: a byte ring in the arena holding records
 *   { uint32 len, len bytes, padding to 4 }.
 * The live records are [head, tail) of the byte counters in the queue's
 * two positions; offset = counter & (size - 1).  Records are 4-aligned and
 * the size a power of two >= 64, so a record header never wraps; its bytes
 * may.
 *
 * Invariants (docs/DESIGN.md, "Queues"):
 *  R1. Producers write only at and past tail, consumers read only below
 *      tail: a put and a get never touch the same bytes.
 *  R2. The ring is switched only by a holder of both side locks (put_lock
 *      first), after copying [head, tail) to the same counters in the new
 *      ring; so every holder of either lock sees whole records at the
 *      counters it expects.
 *  R3. A worker killed anywhere leaves [head, tail) whole: the switch is
 *      one store, made after the copy.  At worst the old ring leaks.
 */
#include <errno.h>
#include <string.h>

#include "queue/queue.h"

#define REC_HDR 4u
#define MAX_RING ((uint64_t)1 << 32)  /* < 2^31 records of 4 bytes */

struct ft__ring {
	uint64_t size;   /* bytes of data[], a power of two */
	uint64_t pad;
	unsigned char data[];
};

struct ft__ring *ft__ring_new(uint64_t size)
{
	struct ft__ring *r = ft__arena_alloc(sizeof(*r) + size);
	if (!r)
		return NULL;
	r->size = size;
	ft__arena_publish(r, FT__TAG_QUEUE_RING);
	return r;
}

uint64_t ft__ring_size(const struct ft__ring *r)
{
	return r->size;
}

void ft__ring_free(struct ft__ring *r)
{
	ft__arena_free(r, FT__TAG_QUEUE_RING);
}

/* Copy @n bytes in or out at byte counter @at, wrapping at the end. */
static void ring_write(struct ft__ring *r, uint64_t at, const void *src, size_t n)
{
	uint64_t off = at & (r->size - 1);
	if (n <= r->size - off) {        /* the usual case: one call */
		memcpy(r->data + off, src, n);
		return;
	}
	size_t first = (size_t)(r->size - off);
	memcpy(r->data + off, src, first);
	memcpy(r->data, (const char *)src + first, n - first);
}

static void ring_read(const struct ft__ring *r, uint64_t at, void *dst, size_t n)
{
	uint64_t off = at & (r->size - 1);
	if (n <= r->size - off) {
		memcpy(dst, r->data + off, n);
		return;
	}
	size_t first = (size_t)(r->size - off);
	memcpy(dst, r->data + off, first);
	memcpy((char *)dst + first, r->data, n - first);
}

void ft__ring_write_record(struct ft__ring *r, uint64_t at, const void *data,
			   size_t len)
{
	uint32_t hdr = (uint32_t)len;
	memcpy(r->data + (at & (r->size - 1)), &hdr, sizeof(hdr));
	if (len)
		ring_write(r, at + REC_HDR, data, len);
}

uint32_t ft__ring_record_len(const struct ft__ring *r, uint64_t at)
{
	uint32_t len;
	memcpy(&len, r->data + (at & (r->size - 1)), sizeof(len));
	return len;
}

void ft__ring_read_record(const struct ft__ring *r, uint64_t at, void *dst,
			  size_t n)
{
	if (n)
		ring_read(r, at + REC_HDR, dst, n);
}

bool ft__ring_has_room(ft_queue_t *q, uint64_t t, const struct ft__ring *r,
		       uint64_t need)
{
	if (ft__pos_used(t, q->head_seen) + need <= r->size)
		return true;
	/* Acquire pairs with the consumers' publish of head: their copies
	 * out of these bytes are done before we write over them (R1). */
	q->head_seen = ft__load_acquire(&q->head.word);
	return ft__pos_used(t, q->head_seen) + need <= r->size;
}

/* Copy the live bytes of @old into @r at the same counters. */
static void ring_move(struct ft__ring *r, const struct ft__ring *old,
		      uint64_t at, uint64_t n)
{
	while (n) {
		uint64_t off = at & (old->size - 1);
		uint64_t chunk = n < old->size - off ? n : old->size - off;
		ring_write(r, at, old->data + off, (size_t)chunk);
		at += chunk;
		n -= chunk;
	}
}

void ft__ring_shrink(ft_queue_t *q)
{
	/* The producing side as a consumer takes it (B1-B5), but without
	 * waiting: a producer inside a put, or put_lock held, and the
	 * shrink is left to the next drain.  Taking back an idle producer's
	 * bias costs one heavy fence, once per drained large ring. */
	struct ft__deadline now;
	(void)ft__deadline_init(&now, 0);
	if (ft__put_side_lock(q, &now, true) < 0)
		return;
	/* R2: get_lock after put_lock.  A consumer holds it for one get. */
	(void)ft__lockword_acquire(&q->get_lock, ft__owner(), NULL);
	struct ft__ring *old = NULL, *r = NULL;
	uint64_t h = ft__load_relaxed(&q->head.word);
	uint64_t t = ft__load_relaxed(&q->tail.word);
	if (ft__pos_used(t, h) == 0 && q->ring->size >= FT__RING_SHRINK_FROM &&
	    (r = ft__ring_new(FT__RING_INITIAL))) {
		old = q->ring;
		/* R3: nothing to copy; the counters go on. */
		ft__store_release(&q->ring, r);
	}
	ft__lockword_release(&q->get_lock);
	ft__lockword_release(&q->put_lock);
	if (old)
		ft__ring_free(old);
}

int ft__ring_grow(ft_queue_t *q, uint64_t t, uint64_t need)
{
	/* R2: get_lock too, always after put_lock, so nobody is inside. */
	(void)ft__lockword_acquire(&q->get_lock, ft__owner(), NULL);
	struct ft__ring *old = q->ring;
	uint64_t h = ft__load_relaxed(&q->head.word);
	q->head_seen = h;
	uint64_t used = ft__pos_used(t, h);
	if (used + need <= old->size) {   /* consumers made room meanwhile */
		ft__lockword_release(&q->get_lock);
		return 0;
	}
	uint64_t size = old->size * 2;
	while (size < used + need)
		size *= 2;
	struct ft__ring *r = NULL;
	if (size <= MAX_RING && size <= ft__arena_size())
		r = ft__ring_new(size);
	if (!r) {
		ft__lockword_release(&q->get_lock);
		return -ENOMEM;
	}
	ring_move(r, old, ft__pos_bytes(h), used);
	/* R3.  Release orders the copy before the switch for a holder of
	 * either lock after a death; the lock releases order it for the
	 * rest. */
	ft__store_release(&q->ring, r);
	ft__lockword_release(&q->get_lock);
	ft__ring_free(old);
	return 0;
}
