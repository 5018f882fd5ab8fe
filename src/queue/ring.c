/* SPDX-License-Identifier: MIT */
/*
 * The queue's storage: a byte ring in the arena holding records
 *   { uint32 len, len bytes, padding to 4 }.
 * The live records are [head, tail) of the byte counters in the queue's
 * two positions.  The ring's capacity is a power of two, cut into
 * segments of 2^shift bytes: the byte at counter c lives in segment
 * (c >> shift) & (nseg - 1), at offset c & (2^shift - 1).  A ring of up to
 * 1 MiB is one segment, inline after its header; a larger one has 1 MiB
 * segments, each an arena block of its own, made when a producer first
 * writes into it.  So a queue holding N bytes costs about N, not the next
 * power of two, and growing moves segment pointers, not bytes.  Records
 * are 4-aligned and segments a power of two >= 64, so a record header
 * never crosses a segment; its bytes may.
 *
 * Invariants (docs/DESIGN.md, "Queues"):
 *  R1. Producers write only at and past tail, consumers read only below
 *      tail: a put and a get never touch the same bytes.
 *  R2. The ring is switched only by a holder of both side locks (put_lock
 *      first), after placing [head, tail) at the same counters in the new
 *      ring; so every holder of either lock sees whole records at the
 *      counters it expects.
 *  R3. A worker killed anywhere leaves [head, tail) whole: the switch is
 *      one store, made after the placing.  At worst the old ring, or a
 *      segment, leaks.
 *  R4. A segment pointer is written only by the producing side (a new
 *      segment, before the record that uses it is published: consumers
 *      see it through tail's release) or under both locks (growth, a
 *      shrink); a segment holding live bytes is never NULL.
 */
#include <errno.h>
#include <string.h>

#include "queue/queue.h"

#define REC_HDR 4u
#define MAX_RING ((uint64_t)1 << 32)  /* < 2^31 records of 4 bytes */
#define SEG_SHIFT 20                  /* segments of segmented rings */

struct ft__ring {
	uint64_t size;      /* capacity in bytes, a power of two */
	uint32_t shift;     /* log2 of the segment size */
	uint32_t nseg;      /* size >> shift, a power of two */
	unsigned char *seg[]; /* nseg pointers; one segment: data after them */
};

/* Segments are arena blocks of their own (a tag, so a stray handle to
 * one is refused like any other). */
static unsigned char *segment_new(void)
{
	unsigned char *s = ft__arena_alloc((size_t)1 << SEG_SHIFT);
	if (s)
		ft__arena_publish(s, FT__TAG_QUEUE_SEGMENT);
	return s;
}

static void segment_free(unsigned char *s)
{
	ft__arena_free(s, FT__TAG_QUEUE_SEGMENT);
}

struct ft__ring *ft__ring_new(uint64_t size)
{
	bool inline_data = size <= ((uint64_t)1 << SEG_SHIFT);
	uint32_t nseg = inline_data ? 1 : (uint32_t)(size >> SEG_SHIFT);
	size_t bytes = sizeof(struct ft__ring) + nseg * sizeof(unsigned char *);
	struct ft__ring *r = ft__arena_alloc(bytes + (inline_data ? size : 0));
	if (!r)
		return NULL;
	r->size = size;
	r->nseg = nseg;
	r->shift = inline_data ? (uint32_t)__builtin_ctzll(size) : SEG_SHIFT;
	if (inline_data)
		r->seg[0] = (unsigned char *)r + bytes;
	ft__arena_publish(r, FT__TAG_QUEUE_RING);
	return r;
}

uint64_t ft__ring_size(const struct ft__ring *r)
{
	return r->size;
}

static bool segmented(const struct ft__ring *r)
{
	return r->nseg > 1;
}

void ft__ring_free(struct ft__ring *r)
{
	if (segmented(r))
		for (uint32_t i = 0; i < r->nseg; i++)
			if (r->seg[i])
				segment_free(r->seg[i]);
	ft__arena_free(r, FT__TAG_QUEUE_RING);
}

static uint32_t slot_of(const struct ft__ring *r, uint64_t at)
{
	return (uint32_t)(at >> r->shift) & (r->nseg - 1);
}

static uint64_t seg_off(const struct ft__ring *r, uint64_t at)
{
	return at & (((uint64_t)1 << r->shift) - 1);
}

/* Where counter @at lives (its segment exists: R4). */
static unsigned char *at_ptr(const struct ft__ring *r, uint64_t at)
{
	return r->seg[slot_of(r, at)] + seg_off(r, at);
}

/* Bytes from @at to the end of its segment. */
static uint64_t seg_left(const struct ft__ring *r, uint64_t at)
{
	return ((uint64_t)1 << r->shift) - seg_off(r, at);
}

/* Copy @n bytes in or out at byte counter @at, across segments. */
static void ring_write(struct ft__ring *r, uint64_t at, const void *src, size_t n)
{
	while (n) {
		uint64_t chunk = seg_left(r, at);
		if (chunk > n)
			chunk = n;
		memcpy(at_ptr(r, at), src, (size_t)chunk);
		src = (const char *)src + chunk;
		at += chunk;
		n -= (size_t)chunk;
	}
}

static void ring_read(const struct ft__ring *r, uint64_t at, void *dst, size_t n)
{
	while (n) {
		uint64_t chunk = seg_left(r, at);
		if (chunk > n)
			chunk = n;
		memcpy(dst, at_ptr(r, at), (size_t)chunk);
		dst = (char *)dst + chunk;
		at += chunk;
		n -= (size_t)chunk;
	}
}

int ft__ring_reserve(struct ft__ring *r, uint64_t at, uint64_t need)
{
	if (!segmented(r))
		return 0;
	uint64_t end = at + need;
	for (uint64_t c = at & ~(((uint64_t)1 << r->shift) - 1); c < end;
	     c += (uint64_t)1 << r->shift) {
		uint32_t i = slot_of(r, c);
		if (r->seg[i])
			continue;
		unsigned char *s = segment_new();
		if (!s)
			return -ENOMEM;
		/* R4: published to consumers by tail's release. */
		r->seg[i] = s;
	}
	return 0;
}

void ft__ring_write_record(struct ft__ring *r, uint64_t at, const void *data,
			   size_t len)
{
	uint32_t hdr = (uint32_t)len;
	memcpy(at_ptr(r, at), &hdr, sizeof(hdr));
	if (len)
		ring_write(r, at + REC_HDR, data, len);
}

uint32_t ft__ring_record_len(const struct ft__ring *r, uint64_t at)
{
	uint32_t len;
	memcpy(&len, at_ptr(r, at), sizeof(len));
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

/*
 * Growth places the live bytes of @old into the bigger @r at the same
 * counters, @old untouched (a death midway leaves it whole: R3).  Where
 * both are segmented (same segment size), a segment whose old slot holds
 * the bytes of this counter range alone moves whole: @r takes its
 * pointer.  A slot holding two ranges (the tail wrapped around into the
 * head's segment) and an inline ring are copied.  @r's slot count is a
 * multiple of @old's, so the old slot of new slot i is i & (old->nseg -
 * 1), and a moved segment is one both slots point to.
 */

/* Whether the old slot of counter range [c, c + seg) holds no other live
 * range of [@h, @h + @used). */
static bool alone(const struct ft__ring *old, uint64_t c, uint64_t h,
		  uint64_t used)
{
	uint64_t seg = (uint64_t)1 << old->shift;
	uint64_t before = c - old->size, after = c + old->size;
	return !(before + seg > h && before < h + used) &&
	       !(after < h + used && after + seg > h);
}

static int place(struct ft__ring *r, const struct ft__ring *old, uint64_t h,
		 uint64_t used)
{
	bool move = segmented(r) && segmented(old);
	uint64_t at = h, n = used;
	while (n) {
		uint64_t chunk = seg_left(r, at);
		if (chunk > n)
			chunk = n;
		uint32_t ni = slot_of(r, at);
		if (!r->seg[ni]) {
			uint64_t c = at & ~(((uint64_t)1 << r->shift) - 1);
			if (move && alone(old, c, h, used)) {
				/* The bytes are in place already. */
				r->seg[ni] = old->seg[slot_of(old, at)];
				at += chunk;
				n -= chunk;
				continue;
			}
			if (!(r->seg[ni] = segment_new()))
				return -ENOMEM;
		}
		/* Copy, across the old ring's segment ends. */
		for (uint64_t left = chunk, c = at; left;) {
			uint64_t part = seg_left(old, c);
			if (part > left)
				part = left;
			memcpy(r->seg[ni] + seg_off(r, c),
			       old->seg[slot_of(old, c)] + seg_off(old, c),
			       (size_t)part);
			c += part;
			left -= part;
		}
		at += chunk;
		n -= chunk;
	}
	return 0;
}

/* Whether @r's slot @i holds a segment it took from @old. */
static bool moved(const struct ft__ring *r, const struct ft__ring *old,
		  uint32_t i)
{
	return segmented(r) && segmented(old) && r->seg[i] &&
	       r->seg[i] == old->seg[i & (old->nseg - 1)];
}

/* After place() and the switch (@switched), or a failure: give back what
 * @old no longer needs, or what @r took.  Nobody else can reach either:
 * both side locks are held, and no producer holds the side (B1). */
static void settle(struct ft__ring *r, struct ft__ring *old, bool switched)
{
	for (uint32_t i = 0; segmented(r) && i < r->nseg; i++) {
		if (!moved(r, old, i))
			continue;
		if (switched)
			old->seg[i & (old->nseg - 1)] = NULL; /* r's now */
		else
			r->seg[i] = NULL;                     /* still old's */
	}
	ft__ring_free(switched ? old : r);
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
	if (place(r, old, ft__pos_bytes(h), used) < 0) {
		settle(r, old, false);
		ft__lockword_release(&q->get_lock);
		return -ENOMEM;
	}
	/* R3.  Release orders the placing before the switch for a holder of
	 * either lock after a death; the lock releases order it for the
	 * rest.  A death before it leaves the old ring whole (and leaks
	 * new segments); after it, the old ring and its unmoved segments. */
	ft__store_release(&q->ring, r);
	settle(r, old, true);
	ft__lockword_release(&q->get_lock);
	return 0;
}
