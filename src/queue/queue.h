/* SPDX-License-Identifier: MIT */
/*
 * Layer 5: message queues.  Queue and SimpleQueue share one structure and
 * its operations; they differ in their tag and in task accounting.
 *
 * One mechanism per file:
 *   ring.c          the ring of records: segments, growth, shrink
 *   wake.c          sleeping on the other side's position (marks)
 *   bias.c          the producer bias: puts without put_lock
 *   queue.c         put and get, built from the three above
 *   tasks.c         Queue's task accounting (task_done, join)
 *   shutdown.c      shutting a queue down, draining it
 *   api.c           Queue's public calls
 *   simple_queue.c  SimpleQueue's public calls
 *
 * Producers and consumers are two sides, each with its own owner word, so
 * a put and a get never wait for each other.  What crosses between them is
 * two words: the producers' tail and the consumers' head, each a packed
 * { message counter, byte counter } published with one store.  Fields are
 * grouped by who writes them, one group per 128 bytes (two cache lines,
 * which some CPUs fetch as a pair), so the sides do not steal each other's
 * lines.  A handle is 32 bytes into a 64-byte aligned block, so each group
 * keeps to 32 bytes to stay within one line.
 */
#ifndef FT_QUEUE_QUEUE_H
#define FT_QUEUE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "arena/arena.h"
#include "base/atomic.h"
#include "freethreading.h"
#include "lockword/lockword.h"
#include "runtime/runtime.h"

/* ------------------------------------------------------------ positions */

/*
 * A published position: the low half counts messages in its low 31 bits
 * (bit 31 marks a value someone sleeps on, wake.c), the high half counts
 * bytes in units of 4 (records are 4-aligned).  The counters wrap at 2^31
 * and 2^32, harmless while a ring holds fewer than 2^31 records and 2^34
 * bytes.  Sleepers wait on the low half: every put (tail) or get (head)
 * changes it.
 */
union ft__queue_pos {
	uint64_t word;
	uint32_t half[2];
};

#define FT__POS_SLEEPER ((uint64_t)0x80000000u)
#define FT__MSG_MASK 0x7fffffffu

static inline uint32_t ft__pos_msgs(uint64_t pos)
{
	return (uint32_t)pos & FT__MSG_MASK;
}

/* The byte counter, modulo 2^34. */
static inline uint64_t ft__pos_bytes(uint64_t pos)
{
	return (pos >> 32) << 2;
}

/* The position after a record of @footprint bytes; drops the mark. */
static inline uint64_t ft__pos_next(uint64_t pos, uint64_t footprint)
{
	uint32_t msgs = ((uint32_t)pos + 1) & FT__MSG_MASK;
	uint32_t units = (uint32_t)(pos >> 32) + (uint32_t)(footprint >> 2);
	return (uint64_t)units << 32 | msgs;
}

/* Messages between @head and @tail. */
static inline uint32_t ft__pos_count(uint64_t tail, uint64_t head)
{
	return (ft__pos_msgs(tail) - ft__pos_msgs(head)) & FT__MSG_MASK;
}

/* Bytes between @head and @tail. */
static inline uint64_t ft__pos_used(uint64_t tail, uint64_t head)
{
	return (uint64_t)((uint32_t)(tail >> 32) - (uint32_t)(head >> 32)) << 2;
}

/* The word sleepers wait on: the message half of a position.  Aligned
 * loads of either half or the whole are single-copy atomic on every
 * architecture Linux runs this on. */
static inline uint32_t *ft__pos_futex(union ft__queue_pos *pos)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return &pos->half[1];
#else
	return &pos->half[0];
#endif
}

/* ------------------------------------------------------------ structure */

struct ft__ring;

#define FT__QUEUE_GROUP 128

struct ft_queue {
	/* Read by everyone; ring switched only under both locks.  First:
	 * this line holds the arena's block header too, which every call
	 * reads for its handle check, so nothing hot may be written here. */
	int32_t maxsize;       /* messages; <= 0 unbounded */
	uint32_t shutdown;     /* 0, then 1 for good (shutdown.c); sleepers
				  of either side also sleep on it */
	struct ft__ring *ring;
	char pad_ro[FT__QUEUE_GROUP - 16];

	/* Written by producers.  The side is held through put_lock, or
	 * without it by the one producer the side is biased to (bias.c). */
	uint32_t put_lock;     /* owner word of the producing side */
	int32_t put_streak;    /* puts in a row by put_last, none waiting */
	uint64_t head_seen;    /* producers' last look at head */
	uint32_t put_last;     /* tid of the last put under put_lock */
	uint32_t put_bias;     /* 0, the biased tid, or it | REVOKING */
	uint32_t put_inside;   /* that tid while it is in a put, else 0 */
	uint32_t put_unbiased; /* a former holder not yet back, else 0 */
	char pad0[FT__QUEUE_GROUP - 32];

	/* Published by producers (sleeping consumers mark it). */
	union ft__queue_pos tail;
	char pad1[FT__QUEUE_GROUP - 8];

	/* Written by consumers. */
	uint32_t get_lock;     /* owner word of the consuming side */
	uint32_t get_flowing;  /* the last get found a message without waiting */
	uint64_t tail_seen;    /* consumers' last look at tail (get_lock) */
	uint32_t getters;      /* consumers asleep on tail */
	char pad2[FT__QUEUE_GROUP - 20];

	/* Published by consumers (sleeping producers mark it). */
	union ft__queue_pos head;
	char pad3[FT__QUEUE_GROUP - 8];

	/* Task accounting (Queue only): unfinished = puts - done. */
	uint32_t done;         /* task_done calls; joiners sleep on it */
	uint32_t joiners;
	/* Producers asleep on head: here, off the producers' hot line. */
	uint32_t putters;
	/* Rarely written bias state (bias.c). */
	int32_t put_bias_pid;  /* process of the last biased producer */
	uint32_t put_bias_off; /* a heavy fence was refused: no more bias */
	char pad4[FT__QUEUE_GROUP - 20];
};

/* With the producing side held: true if a bounded queue holds maxsize
 * messages before tail @t.  Looks at head only when the cached copy says
 * full. */
static inline bool ft__queue_full_at(ft_queue_t *q, uint64_t t)
{
	if (q->maxsize <= 0 ||
	    ft__pos_count(t, q->head_seen) < (uint32_t)q->maxsize)
		return false;
	/* Acquire pairs with the consumers' publish: their copies out of the
	 * ring are done before we write over those bytes. */
	q->head_seen = ft__load_acquire(&q->head.word);
	return ft__pos_count(t, q->head_seen) >= (uint32_t)q->maxsize;
}

/* --------------------------------------------------------------- ring.c */

/* Bytes a message of @len takes in the ring: a 4-byte length, then the
 * bytes padded to 4 (an 8-byte message costs 12, not 16). */
static inline uint64_t ft__footprint(size_t len)
{
	return 4 + (((uint64_t)len + 3) & ~(uint64_t)3);
}

struct ft__ring *ft__ring_new(uint64_t size);
void ft__ring_free(struct ft__ring *r);
uint64_t ft__ring_size(const struct ft__ring *r);
/* Write a record of @len bytes at byte counter @at. */
void ft__ring_write_record(struct ft__ring *r, uint64_t at, const void *data,
			   size_t len);
/* The length of the record at @at, and a copy of its @n bytes. */
uint32_t ft__ring_record_len(const struct ft__ring *r, uint64_t at);
void ft__ring_read_record(const struct ft__ring *r, uint64_t at, void *dst,
			  size_t n);
/* With the producing side held: true if @need more bytes fit in @r past
 * tail @t.  Looks at head only when the cached copy says they don't. */
bool ft__ring_has_room(ft_queue_t *q, uint64_t t, const struct ft__ring *r,
		       uint64_t need);
/* With put_lock held: make room for @need bytes past tail @t.  -ENOMEM if
 * the arena cannot. */
int ft__ring_grow(ft_queue_t *q, uint64_t t, uint64_t need);
/* With the producing side held, room made: make the segments of bytes
 * [@at, @at + @need) that do not exist yet.  0 or -ENOMEM. */
int ft__ring_reserve(struct ft__ring *r, uint64_t at, uint64_t need);

/* A new queue's ring; a ring this large or more goes back to it when the
 * queue is drained (ft__ring_shrink). */
#define FT__RING_INITIAL 16384u
#define FT__RING_SHRINK_FROM ((uint64_t)1 << 20)

/* A consumer that found the queue drained with a ring of at least
 * FT__RING_SHRINK_FROM, holding no lock: swap it for a FT__RING_INITIAL
 * one if both side locks are free now (never waits) and no producer
 * holds the side (B1), so memory a burst took goes back to the arena
 * and, freed, to the kernel. */
void ft__ring_shrink(ft_queue_t *q);

/* --------------------------------------------------------------- wake.c */

/* Publish @pos as the new value of @at: true if a sleeper marked the
 * value it replaces, so one must be woken (ft__queue_wake_one). */
bool ft__queue_publish(union ft__queue_pos *at, uint64_t pos);
void ft__queue_wake_one(union ft__queue_pos *at);

/* Let go of @lock and wait until the message count of @at is no longer
 * @seen (see wake.c).  @at == &q->tail for consumers. */
int ft__queue_wait_on(ft_queue_t *q, uint32_t *lock, union ft__queue_pos *at,
		      uint32_t *sleepers, uint32_t seen, bool flowing,
		      struct ft__deadline *d);

/* With put_lock / get_lock held, leaving a call that @waited: pass a wake
 * on to a sleeper of the same side if there is work for it. */
void ft__queue_pass_wake_to_putter(ft_queue_t *q, uint64_t t, bool waited);
void ft__queue_pass_wake_to_getter(ft_queue_t *q, uint64_t h, bool waited);

/* --------------------------------------------------------------- bias.c */

/* The put of the producer the side is biased to: true if done; false,
 * having queued nothing, if the caller must take the locked path. */
bool ft__bias_put(ft_queue_t *q, uint32_t tid, const void *data, size_t len,
		  uint64_t need);

static inline bool ft__bias_is(const ft_queue_t *q, uint32_t tid)
{
	return ft__load_relaxed(&q->put_bias) == tid;
}

/* Take the producing side through put_lock: 0 with the side held and no
 * biased put running, or a negative code with put_lock let go.  Producers
 * pass @consumer false; a consumer about to sleep passes true and its
 * deadline. */
int ft__put_side_lock(ft_queue_t *q, struct ft__deadline *d, bool consumer);

/* With put_lock held, after a put that did not wait. */
void ft__bias_try(ft_queue_t *q, uint32_t tid);

/* A consumer about to sleep on tail, counted in getters: 0 once no biased
 * put can publish without waking it, or the deadline's code. */
int ft__bias_for_sleeper(ft_queue_t *q, struct ft__deadline *d);

/* The repair pass: the bias state of dead producers. */
void ft__bias_repair(ft_queue_t *q);

/* ----------------------------------------------------------- shutdown.c */

/* Whether the queue is shut down.  Acquire: a shutdown's puts (those
 * before it, S1) are visible to a caller that sees it. */
static inline bool ft__queue_is_shut(ft_queue_t *q)
{
	return ft__load_acquire(&q->shutdown) != 0;
}

int ft__queue_shutdown(ft_queue_t *q, bool immediate);

/* -------------------------------------------------------------- queue.c */

ft_queue_t *ft__queue_new(int maxsize, uint32_t tag);
int ft__queue_put(ft_queue_t *q, const void *data, size_t len,
		  struct ft__deadline *d);
/* @out non-NULL: copy into malloc'd memory instead of @buf/@cap. */
int ft__queue_get(ft_queue_t *q, void *buf, size_t cap, size_t *len,
		  void **out, struct ft__deadline *d);
/* The public get_alloc of either type: handle @tag, @out, timeout. */
int ft__queue_get_alloc(ft_queue_t *q, uint32_t tag, void **out, size_t *len,
			double timeout);
/* Messages queued now, read without a lock. */
uint32_t ft__queue_count(ft_queue_t *q);
int ft__queue_free(ft_queue_t *q, uint32_t tag);

/* For the repair pass: free the owner words of dead holders, wake. */
void ft__queue_repair(ft_queue_t *q);

#endif
