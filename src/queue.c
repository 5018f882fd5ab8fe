/* SPDX-License-Identifier: MIT */
/*
 * The queue's storage: a byte ring in the arena holding records
 *   { uint32 len, uint32 unused, len bytes, padding to 8 }.
 * The live records are [head, tail) of the byte counters in the queue's
 * two published positions (queue.h); offset = counter & (size - 1).
 * Records are 8-aligned and the size a power of two >= 64, so a record
 * header never wraps; its bytes may.
 *
 * Two sides.  Producers hold put_lock and own tail; consumers hold
 * get_lock and own head.  A put writes beyond tail into bytes no consumer
 * reads, a get reads below tail from bytes no producer writes, so the
 * two run at once.  Each side reads the other's position only when its
 * cached copy says "full" or "empty": in a stream, once per batch of
 * messages rather than once per message.  FIFO across
 * producers follows from put_lock; across consumers from get_lock.
 *
 * Crash consistency, for a worker killed mid-call: a put copies its record
 * beyond tail and only then publishes it with one store of tail, which
 * moves the message and byte counts together; a get copies its record out
 * and only then drops it with one store of head.  Growing (under both
 * locks) copies the live bytes into a new ring at the same counters, then
 * switches the ring pointer with one store.  So [head, tail) always holds
 * whole records and the counts derived from the two words are exact:
 * a dead holder leaves nothing to repair but its owner word, which the
 * supervisor's pass frees.  That pass also wakes every sleeper on the
 * queue (ft__queue_repair), in case the dead worker published and died
 * before waking the one it should have.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "fence.h"
#include "lockword.h"
#include "queue.h"
#include "sys.h"
#include "wait.h"

#define INITIAL_RING 16384u
#define MAX_RING ((uint64_t)1 << 33)  /* < 2^31 records of 8 bytes */
#define REC_HDR 8u
/* How long a side that was streaming stays off the other side's lines
 * when it first finds the queue full or empty (see wait_on). */
#define BATCH_NS 2000u

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define MSG_HALF 1
#else
#define MSG_HALF 0
#endif

struct ft__ring {
	uint64_t size;   /* bytes of data[], a power of two */
	uint64_t pad;
	unsigned char data[];
};

/* ------------------------------------------------------------ positions */

/* In the low half: set on the value a sleeper waits on.  The next publish
 * replaces the value (without it) and so learns that it must wake. */
#define POS_SLEEPER ((uint64_t)0x80000000u)
#define MSG_MASK 0x7fffffffu

static uint32_t pos_msgs(uint64_t pos)
{
	return (uint32_t)pos & MSG_MASK;
}

/* The byte counter, modulo 2^35. */
static uint64_t pos_bytes(uint64_t pos)
{
	return (pos >> 32) << 3;
}

static uint64_t pos_next(uint64_t pos, uint64_t footprint)
{
	uint32_t msgs = ((uint32_t)pos + 1) & MSG_MASK;
	uint32_t units = (uint32_t)(pos >> 32) + (uint32_t)(footprint >> 3);
	return (uint64_t)units << 32 | msgs;
}

static uint32_t pos_count(uint64_t tail, uint64_t head)
{
	return (pos_msgs(tail) - pos_msgs(head)) & MSG_MASK;
}

static uint64_t pos_used(uint64_t tail, uint64_t head)
{
	return (uint64_t)((uint32_t)(tail >> 32) - (uint32_t)(head >> 32)) << 3;
}

/* The word sleepers wait on: the message half of a position.  Aligned
 * loads of either half or the whole are single-copy atomic on every
 * architecture Linux runs this on. */
static uint32_t *pos_futex(union ft__queue_pos *pos)
{
	return &pos->half[MSG_HALF];
}

/* ----------------------------------------------------------------- ring */

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

/* ---------------------------------------------------------------- sides */

/* -EOWNERDEAD needs nothing more: a dead holder published all or nothing
 * (see the top of this file).  No spinning: two workers of one side on
 * two CPUs would trade the lock's line per message (docs/DESIGN.md). */
static void side_lock(uint32_t *lock)
{
	(void)ft__lockword_acquire(lock, ft__tid(), -1.0);
}

static void side_unlock(uint32_t *lock)
{
	ft__lockword_release(lock);
}

/* Publish @pos as the new value of @at (tail or head): true if a sleeper
 * marked the value it replaces, so one must be woken.  Release orders the
 * record (put) or the copy out (get) before the position; acquire pairs
 * with the sleeper's mark, so what it did before is visible to the wake. */
static bool publish(union ft__queue_pos *at, uint64_t pos)
{
	return ft__xchg_acq_rel(&at->word, pos) & POS_SLEEPER;
}

/* Mark the current value of @at as slept on (no-op if it is). */
static uint64_t mark_sleeper(union ft__queue_pos *at, uint64_t v)
{
	while (!(v & POS_SLEEPER) &&
	       !ft__cas_acq_rel(&at->word, &v, v | POS_SLEEPER))
		;
	return v | POS_SLEEPER;
}

/* A caller's deadline, computed only once it must wait: the fast path
 * never reads the clock. */
struct deadline {
	double timeout;
	bool set;
	struct timespec ts;
	const struct timespec *abs;
};

/* The absolute deadline, NULL for none. */
static const struct timespec *deadline_abs(struct deadline *d)
{
	if (!d->set) {
		d->abs = ft__deadline(d->timeout, &d->ts);
		d->set = true;
	}
	return d->abs;
}

/* Time left, as the owner-word calls take a timeout: -1 for none. */
static double deadline_left(struct deadline *d)
{
	int ms = ft__deadline_ms(deadline_abs(d));
	return ms < 0 ? -1.0 : ms / 1e3;
}

/* --------------------------------------------------------- producer bias */

/*
 * A producer that streams alone is given the producing side: it then puts
 * without put_lock and publishes tail with a plain store, so a put has no
 * read-modify-write.  Each of those waits for the record's stores to
 * reach lines the consumer has read, and that wait, once per message, is
 * what bounded a 1 -> 1 stream (docs/DESIGN.md).
 *
 * The biased producer announces itself in put_inside and then checks
 * put_bias, with only a compiler barrier between (ft__fence_light).
 * Whoever takes the bias away (unbias(), holding put_lock) clears
 * put_bias, runs a heavy fence, and waits for put_inside to be 0: either
 * it sees the producer inside, or the producer sees the bias gone.
 * Consumers never sleep on a biased queue: one that would sleep unbiases
 * first, and bias_try() gives no bias while one sleeps (a seq_cst
 * handshake on getters and put_bias), so a biased put never wakes anyone.
 */
#define BIAS_STREAK 64   /* puts in a row, none waiting, before a bias */
#define BIAS_RETRY 1024  /* puts between failed tries */

/* Leave a biased put; if the bias went meanwhile, whoever took it may
 * wait for us.  Release: our put is visible to it. */
static void bias_leave(ft_queue_t *q, uint32_t tid)
{
	ft__store_release(&q->put_inside, 0);
	if (ft__load_relaxed(&q->put_bias) != tid)
		ft__wake(&q->put_inside, INT_MAX);
}

/* With put_lock held, after a put that did not wait: give the side to
 * @tid if it put BIAS_STREAK times in a row.  Not while a consumer
 * sleeps (see above), and only in a process heavy fences reach.
 *
 * Nor to another producer while the last one whose bias was taken away
 * (put_unbiased) has not come through the locked path since: it may be
 * between its first look at put_bias and its store to put_inside, and
 * that store would overwrite the new holder's.  Its next locked put
 * clears put_unbiased (put_side_lock). */
static void bias_try(ft_queue_t *q, uint32_t tid)
{
	if (q->put_streak < BIAS_STREAK)
		return;
	/* On failure, try again after BIAS_RETRY more puts; once it is
	 * taken back, after a new streak. */
	q->put_streak = BIAS_STREAK - BIAS_RETRY;
	uint32_t stale = ft__load_relaxed(&q->put_unbiased);
	if (stale && stale != tid) {
		/* A thread that ended, a process that died (before repair):
		 * no longer anywhere. */
		if (ft__sys_tid_exists((pid_t)stale))
			return;
		ft__store_relaxed(&q->put_unbiased, 0);
	}
	if (!ft__fence_ready())
		return;
	ft__store_seq_cst(&q->put_bias, tid);
	if (ft__load_seq_cst(&q->getters))
		ft__store_relaxed(&q->put_bias, 0);
	else
		q->put_streak = 0;
}

/*
 * With put_lock held: take the bias away, waiting for the biased producer
 * to finish a put it is in.  @holder_died (put_lock came with -EOWNERDEAD):
 * the dead holder may have been doing just that and cleared put_bias
 * already, so wait for put_inside whatever put_bias says.  Gives up at
 * @abs (NULL: never) with -ETIMEDOUT, or with the error of a refused heavy
 * fence (a seccomp filter); the bias is then put back as it was.
 */
static int unbias(ft_queue_t *q, bool holder_died, const struct timespec *abs)
{
	uint32_t me = ft__tid();
	/* Acquire pairs with the biased producer's release when it gave
	 * the bias up itself (put_biased): its last put is visible. */
	uint32_t tid = ft__load_acquire(&q->put_bias);
	if (tid == me) {       /* ours, and we are not in a put */
		ft__store_release(&q->put_bias, 0);
		return 0;
	}
	if (!tid && !holder_died)
		return 0;
	if (tid) {
		/* Before the clear: if we die after it, the producer that
		 * may sit in its window (bias_try) is already on record. */
		ft__store_relaxed(&q->put_unbiased, tid);
		/* Release: after our put_lock CAS, for unbias_for_sleeper's
		 * reading of the two. */
		ft__store_release(&q->put_bias, 0);
	}
	int e = ft__fence_heavy();
	/* Acquire pairs with bias_leave: its put is visible.  A producer
	 * killed inside is cleared by ft__queue_repair. */
	uint32_t in;
	while (e == 0 && (in = ft__load_acquire(&q->put_inside)))
		if (ft__wait(&q->put_inside, in, abs) == -ETIMEDOUT)
			e = -ETIMEDOUT;
	if (e < 0 && tid)
		ft__store_release(&q->put_bias, tid);
	return e;
}

/* Take the producing side through put_lock: whoever holds put_lock also
 * takes the bias away before touching the side.  0, or the error with
 * put_lock let go.  @lock_timeout, @abs: the caller's deadline, for
 * consumers (unbias_for_sleeper); producers wait without one, as for
 * any side lock, which is held for one put. */
static int put_side_lock(ft_queue_t *q, double lock_timeout,
			 const struct timespec *abs)
{
	int r = ft__lockword_acquire(&q->put_lock, ft__tid(), lock_timeout);
	if (r == -ETIMEDOUT || r == -EAGAIN)
		return -ETIMEDOUT;
	int e = unbias(q, r == -EOWNERDEAD, abs);
	if (e < 0)
		side_unlock(&q->put_lock);
	else if (ft__load_relaxed(&q->put_unbiased) == ft__tid())
		ft__store_relaxed(&q->put_unbiased, 0);
	return e;
}

/* A consumer about to sleep on tail, holding no lock, counted in getters:
 * biased puts would not wake it.  put_bias of 0 is not enough: it is 0
 * too while a revoker still waits for the biased producer to finish the
 * put it is in, so that case waits for put_lock, which the revoker holds.
 * Acquire loads, in this order: a 0 seen in put_bias was stored under a
 * put_lock that is either seen held or already let go.  Honours the
 * consumer's deadline. */
static int unbias_for_sleeper(ft_queue_t *q, struct deadline *d)
{
	if (!ft__load_seq_cst(&q->put_bias) && !ft__load_acquire(&q->put_lock))
		return 0;
	int e = put_side_lock(q, deadline_left(d), deadline_abs(d));
	if (e == 0)
		side_unlock(&q->put_lock);
	return e;
}


/* Spin while @at's message count is @seen, for at most ft__spin_ns:
 * true if it moved.  @sparse: look only every BATCH_NS (each look takes
 * the line from the writer, who must take it back to write the next). */
static bool spin_while_at(union ft__queue_pos *at, uint32_t seen, bool sparse)
{
	if (!sparse)
		return ft__spin_while_masked(pos_futex(at), seen, MSG_MASK);
	for (unsigned ns = 0; ns < ft__spin_ns; ns += BATCH_NS) {
		ft__spin_pause(BATCH_NS);
		if (pos_msgs(ft__load_relaxed(&at->word)) != seen)
			return true;
	}
	return false;
}

/*
 * Let go of @lock (the caller's side) and wait until the message count of
 * @at (the other side's position) is no longer @seen.  The caller takes
 * its side again (each side its own way: producers through
 * put_side_lock()), then looks again on 0, or gives up with the code
 * returned if its condition still holds: -ETIMEDOUT once the deadline
 * passed, or the error of a heavy fence refused while unbiasing
 * (unbias()).  Not for a timeout of 0: the caller gives up at once.
 *
 * @flowing: this side's last call did not wait, so the two sides are
 * streaming and this one caught up.  Polling @at at once would then take
 * each message as it lands, moving @at's line and a ring line between the
 * CPUs per message, which is what bounds a streaming pair (the two sides
 * run 8M 64-byte messages/s that way on the machine measured, 20M with
 * this).
 * Staying off for BATCH_NS lets the other side run ahead on lines it
 * owns; a side that waited last time (request/reply, sparse traffic)
 * polls at once.
 *
 * Sleeping is the owner word's protocol applied to a position: the
 * sleeper marks the very value it waits on (CAS), so a publish either
 * comes first (the CAS fails and the sleeper sees the new count) or
 * replaces the marked value and wakes one sleeper.  Only the first
 * publish after a mark wakes; later ones make no syscall while the woken
 * sleeper waits for a CPU.  With several sleepers one wake leaves the
 * others on a value no longer marked, so each sleeper leaving marks the
 * current value again while others sleep (*@sleepers counts them), and
 * a put or get that waited passes a wake on (pass_wake_to_putter(),
 * pass_wake_to_getter()) if its side still has sleepers and the other
 * side left them something to do.
 */
static int wait_on(ft_queue_t *q, uint32_t *lock, union ft__queue_pos *at,
		   uint32_t *sleepers, uint32_t seen, bool flowing,
		   struct deadline *d)
{
	(void)deadline_abs(d);
	side_unlock(lock);
	int r = 0;
	if (!spin_while_at(at, seen, flowing)) {
		/* Seq_cst: the handshake with bias_try(). */
		ft__fetch_add_seq_cst(sleepers, 1u);
		if (at == &q->tail)
			r = unbias_for_sleeper(q, d);
		uint64_t v = ft__load_acquire(&at->word);
		if (r == 0 && pos_msgs(v) == seen) {
			v = mark_sleeper(at, v);
			if (pos_msgs(v) == seen)
				r = ft__wait(pos_futex(at), (uint32_t)v, d->abs);
		}
		if (ft__fetch_add_acq_rel(sleepers, (uint32_t)-1) > 1)
			mark_sleeper(at, ft__load_relaxed(&at->word));
	}
	return r == -EAGAIN ? 0 : r;
}

/* ------------------------------------------------------------- producers */

/* With put_lock held, leaving a put that @waited (so may have taken a
 * wake): if other producers sleep and the queue still has room, pass a
 * wake on (wait_on). */
static void pass_wake_to_putter(ft_queue_t *q, uint64_t t, bool waited)
{
	if (!waited || !ft__load_relaxed(&q->putters))
		return;
	q->head_seen = ft__load_acquire(&q->head.word);
	if (pos_count(t, q->head_seen) < (uint32_t)q->maxsize)
		ft__wake(pos_futex(&q->head), 1);
}

/* With put_lock held: true if a bounded queue holds maxsize messages
 * before tail @t.  Looks at head only when the cached copy says full. */
static bool full_at(ft_queue_t *q, uint64_t t)
{
	if (q->maxsize <= 0 ||
	    pos_count(t, q->head_seen) < (uint32_t)q->maxsize)
		return false;
	/* Acquire pairs with the consumers' publish: their copies out of
	 * the ring are done before we write over those bytes. */
	q->head_seen = ft__load_acquire(&q->head.word);
	return pos_count(t, q->head_seen) >= (uint32_t)q->maxsize;
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

/* With put_lock held: make room for @need bytes past tail @t, in a ring
 * at least twice the size.  Takes get_lock too (always after put_lock), so
 * nobody is inside the ring.  -ENOMEM if the arena cannot. */
static int grow(ft_queue_t *q, uint64_t t, uint64_t need)
{
	side_lock(&q->get_lock);
	struct ft__ring *old = q->ring;
	uint64_t h = ft__load_relaxed(&q->head.word);
	q->head_seen = h;
	uint64_t used = pos_used(t, h);
	if (used + need <= old->size) {   /* consumers made room meanwhile */
		side_unlock(&q->get_lock);
		return 0;
	}
	uint64_t size = old->size * 2;
	while (size < used + need)
		size *= 2;
	struct ft__ring *r = NULL;
	if (size <= MAX_RING && size <= ft__arena_size())
		r = ring_new(size);
	if (!r) {
		side_unlock(&q->get_lock);
		return -ENOMEM;
	}
	ring_move(r, old, pos_bytes(h), used);
	/* Release orders the copy before the switch for a holder of either
	 * lock after a death; the lock releases order it for the rest. */
	ft__store_release(&q->ring, r);
	side_unlock(&q->get_lock);
	/* A worker killed between the switch and here leaks @old. */
	ft__arena_free(old, FT__TAG_QUEUE_RING);
	return 0;
}

/* With the producing side held: true if @need more bytes fit in @r past
 * tail @t.  Looks at head only when the cached copy says they don't. */
static bool ring_has_room(ft_queue_t *q, uint64_t t, const struct ft__ring *r,
			  uint64_t need)
{
	if (pos_used(t, q->head_seen) + need <= r->size)
		return true;
	/* Acquire, as in full_at. */
	q->head_seen = ft__load_acquire(&q->head.word);
	return pos_used(t, q->head_seen) + need <= r->size;
}

static void write_record(struct ft__ring *r, uint64_t t, const void *data,
			 size_t len)
{
	uint64_t at = pos_bytes(t);
	/* The header never wraps (records are 8-aligned). */
	uint32_t hdr[2] = { (uint32_t)len, 0 };
	memcpy(r->data + (at & (r->size - 1)), hdr, sizeof(hdr));
	if (len)
		ring_write(r, at + REC_HDR, data, len);
}

/* The put of the producer the side is biased to (see "producer bias").
 * False, having queued nothing, if the bias is gone, or if the put must
 * wait or grow the ring: the bias is then given up and the caller takes
 * the locked path. */
static bool put_biased(ft_queue_t *q, uint32_t tid, const void *data,
		       size_t len, uint64_t need)
{
	ft__store_relaxed(&q->put_inside, tid);
	ft__fence_light();
	if (ft__load_relaxed(&q->put_bias) != tid) {
		bias_leave(q, tid);
		return false;
	}
	uint64_t t = ft__load_relaxed(&q->tail.word);
	struct ft__ring *r = ft__load_relaxed(&q->ring);
	if (full_at(q, t) || !ring_has_room(q, t, r, need)) {
		/* Release: for the next holder of put_lock (unbias). */
		ft__store_release(&q->put_bias, 0);
		bias_leave(q, tid);
		return false;
	}
	write_record(r, t, data, len);
	/* The publishing store, plain: no consumer sleeps on a biased
	 * side.  Release: the record is whole before tail covers it. */
	ft__store_release(&q->tail.word, pos_next(t, need));
	bias_leave(q, tid);
	return true;
}

int ft__queue_put(ft_queue_t *q, const void *data, size_t len, double timeout)
{
	if (!data && len)
		return -EINVAL;
	/* Larger than the arena: -ENOMEM at once, not after waiting for
	 * room.  (No arena is below FT__ARENA_MIN_SIZE: small messages skip
	 * the call.) */
	if (len > UINT32_MAX - 16 ||
	    (len >= FT__ARENA_MIN_SIZE / 2 && footprint(len) > ft__arena_size()))
		return -ENOMEM;
	uint64_t need = footprint(len);
	uint32_t tid = ft__tid();
	if (ft__load_relaxed(&q->put_bias) == tid &&
	    put_biased(q, tid, data, len, need))
		return 0;

	struct deadline d = { .timeout = timeout };
	int e = put_side_lock(q, -1.0, NULL);
	if (e < 0)
		return e;
	uint64_t t = ft__load_relaxed(&q->tail.word);
	bool waited = false;
	while (full_at(q, t)) {
		if (timeout == 0) {
			side_unlock(&q->put_lock);
			return -EAGAIN;
		}
		e = wait_on(q, &q->put_lock, &q->head, &q->putters,
			    pos_msgs(q->head_seen), q->put_streak && !waited,
			    &d);
		waited = true;
		int u = put_side_lock(q, -1.0, NULL);
		if (u < 0) {
			/* Not queued: pass on the wake we may have taken. */
			ft__wake(pos_futex(&q->head), 1);
			return u;
		}
		t = ft__load_relaxed(&q->tail.word);
		if (e < 0 && full_at(q, t)) {
			side_unlock(&q->put_lock);
			return e;
		}
	}
	struct ft__ring *r = ft__load_relaxed(&q->ring);
	if (!ring_has_room(q, t, r, need)) {
		e = grow(q, t, need);
		if (e < 0) {
			pass_wake_to_putter(q, t, waited);
			side_unlock(&q->put_lock);
			return e;
		}
		r = ft__load_relaxed(&q->ring);
	}
	write_record(r, t, data, len);
	/* The publishing store: the record is whole before tail covers it. */
	uint64_t next = pos_next(t, need);
	bool wake = publish(&q->tail, next);
	q->put_streak = waited ? 0 : q->put_last == tid ? q->put_streak + 1 : 1;
	q->put_last = tid;
	bias_try(q, tid);
	pass_wake_to_putter(q, next, waited);
	side_unlock(&q->put_lock);
	if (wake)
		ft__wake(pos_futex(&q->tail), 1);
	return 0;
}

/* ------------------------------------------------------------- consumers */

/* With get_lock held, leaving a get that @waited (so may have taken a
 * wake): if other consumers sleep and messages remain past @h, pass a
 * wake on (wait_on).  Also when the get fails without taking its message
 * (too small a buffer): that message may be what the wake was for. */
static void pass_wake_to_getter(ft_queue_t *q, uint64_t h, bool waited)
{
	if (!waited || !ft__load_relaxed(&q->getters))
		return;
	q->tail_seen = ft__load_acquire(&q->tail.word);
	if (pos_msgs(q->tail_seen) != pos_msgs(h))
		ft__wake(pos_futex(&q->tail), 1);
}

/* With get_lock held: true if nothing lies past head @h.  Looks at tail
 * only when the cached copy says empty. */
static bool empty_at(ft_queue_t *q, uint64_t h)
{
	if (pos_msgs(q->tail_seen) != pos_msgs(h))
		return false;
	/* Acquire pairs with the producers' publish: the record is whole. */
	q->tail_seen = ft__load_acquire(&q->tail.word);
	return pos_msgs(q->tail_seen) == pos_msgs(h);
}

int ft__queue_get(ft_queue_t *q, void *buf, size_t cap, size_t *len,
		  void **out, double timeout)
{
	struct deadline d = { .timeout = timeout };

	if (!len || (!out && !buf && cap))
		return -EINVAL;
	side_lock(&q->get_lock);
	uint64_t h = ft__load_relaxed(&q->head.word);
	bool waited = false;
	while (empty_at(q, h)) {
		if (timeout == 0) {
			side_unlock(&q->get_lock);
			return -EAGAIN;
		}
		int e = wait_on(q, &q->get_lock, &q->tail, &q->getters,
				pos_msgs(h), q->get_flowing && !waited, &d);
		waited = true;
		side_lock(&q->get_lock);
		h = ft__load_relaxed(&q->head.word);
		if (e < 0 && empty_at(q, h)) {
			side_unlock(&q->get_lock);
			return e;
		}
	}
	struct ft__ring *r = ft__load_relaxed(&q->ring);
	uint64_t at = pos_bytes(h);
	uint32_t n = rec_len(r, at);
	*len = n;
	if (out) {
		/* malloc holding get_lock is brief; a failure leaves the
		 * message queued, as a too-small buffer does. */
		buf = malloc(n ? n : 1);
		if (!buf) {
			pass_wake_to_getter(q, h, waited);
			side_unlock(&q->get_lock);
			return -ENOMEM;
		}
	} else if (n > cap) {
		pass_wake_to_getter(q, h, waited);
		side_unlock(&q->get_lock);
		return -EMSGSIZE;
	}
	if (n)
		ring_read(r, at + REC_HDR, buf, n);
	/* The dropping store: the record is copied out before head passes.
	 * Producers sleep on head only when bounded. */
	uint64_t next = pos_next(h, footprint(n));
	bool wake = false;
	if (q->maxsize > 0)
		wake = publish(&q->head, next);
	else
		ft__store_release(&q->head.word, next);
	q->get_flowing = !waited;
	pass_wake_to_getter(q, next, waited);
	side_unlock(&q->get_lock);
	if (wake)
		ft__wake(pos_futex(&q->head), 1);
	if (out)
		*out = buf;
	return 0;
}

/* --------------------------------------------------------------- shared */

uint32_t ft__queue_count(ft_queue_t *q)
{
	/* Head first: the tail read after it is at least as new, so the
	 * difference never goes below 0. */
	uint64_t h = ft__load_acquire(&q->head.word);
	uint64_t t = ft__load_acquire(&q->tail.word);
	uint32_t n = pos_count(t, h);
	if (q->maxsize > 0 && n > (uint32_t)q->maxsize)
		n = (uint32_t)q->maxsize;   /* gets between the two reads */
	return n < INT_MAX ? n : INT_MAX;
}

void ft__queue_repair(ft_queue_t *q)
{
	ft__lockword_repair(&q->put_lock);
	ft__lockword_repair(&q->get_lock);
	/* A biased producer killed in a put (or after it) must not keep
	 * unbias() waiting, nor the bias. */
	uint32_t tid = ft__load_acquire(&q->put_inside);
	if (tid && !ft__sys_tid_exists((pid_t)tid) &&
	    ft__cas_acq_rel(&q->put_inside, &tid, 0))
		ft__wake(&q->put_inside, INT_MAX);
	tid = ft__load_acquire(&q->put_bias);
	if (tid && !ft__sys_tid_exists((pid_t)tid))
		ft__cas_acq_rel(&q->put_bias, &tid, 0);
	tid = ft__load_acquire(&q->put_unbiased);
	if (tid && !ft__sys_tid_exists((pid_t)tid))
		ft__cas_acq_rel(&q->put_unbiased, &tid, 0);
	/* A worker may have died between publishing and waking, or woken
	 * and died before passing the wake on. */
	if (ft__load_acquire(&q->getters))
		ft__wake(pos_futex(&q->tail), INT_MAX);
	if (ft__load_acquire(&q->putters))
		ft__wake(pos_futex(&q->head), INT_MAX);
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
	return r < 0 ? r : (int)ft__queue_count(q);
}

FT_API int ft_queue_empty(ft_queue_t *q)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	return r < 0 ? r : ft__queue_count(q) == 0;
}

FT_API int ft_queue_full(ft_queue_t *q)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	if (r < 0)
		return r;
	return q->maxsize > 0 && ft__queue_count(q) >= (uint32_t)q->maxsize;
}

/* unfinished = puts - done, both modulo 2^31. */
static uint32_t unfinished(ft_queue_t *q, uint32_t done)
{
	return (pos_msgs(ft__load_seq_cst(&q->tail.word)) - done) & MSG_MASK;
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
	} while (!ft__cas_seq_cst(&q->done, &done, (done + 1) & MSG_MASK));
	/* The CAS and the look at joiners are the waker's half of the
	 * handshake in ft_queue_join(). */
	if (unfinished(q, (done + 1) & MSG_MASK) == 0 &&
	    ft__load_seq_cst(&q->joiners))
		ft__wake(&q->done, INT_MAX);
	return 0;
}

FT_API int ft_queue_join(ft_queue_t *q, double timeout)
{
	struct timespec ts;
	const struct timespec *abs = NULL;
	int r = ft__check(q, FT__TAG_QUEUE);
	if (r < 0)
		return r;
	for (bool first = true;; first = false) {
		uint32_t done = ft__load_seq_cst(&q->done);
		if (unfinished(q, done) == 0)
			return 0;
		if (timeout == 0)
			return -EAGAIN;
		if (first)
			abs = ft__deadline(timeout, &ts);
		else if (r == -ETIMEDOUT)
			return r;
		/* Count ourselves, then look again (see task_done). */
		ft__fetch_add_seq_cst(&q->joiners, 1u);
		done = ft__load_seq_cst(&q->done);
		r = unfinished(q, done) == 0 ? 0 : ft__wait(&q->done, done, abs);
		ft__fetch_sub_release(&q->joiners, 1u);
	}
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
	return r < 0 ? r : ft__queue_count((ft_queue_t *)sq) == 0;
}

FT_API int ft_simple_queue_free(ft_simple_queue_t *sq)
{
	return ft__queue_free((ft_queue_t *)sq, FT__TAG_SIMPLE_QUEUE);
}
