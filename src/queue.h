/* SPDX-License-Identifier: MIT */
/*
 * Layer 5: message queues.  Queue and SimpleQueue share one structure and
 * its operations; they differ in their tag and in task accounting.
 *
 * Producers and consumers are two sides, each with its own owner word, so
 * a put and a get never wait for each other.  What crosses between them is
 * two words: the producers' tail and the consumers' head, each a packed
 * { message counter, byte counter } published with one store (queue.c).
 * Fields are grouped by who writes them, one group per 128 bytes (two
 * cache lines, which some CPUs fetch as a pair), so the sides do not
 * steal each other's lines.  A handle is 32 bytes into a 64-byte aligned
 * block, so each group keeps to 32 bytes to stay within one line.
 */
#ifndef FT_QUEUE_H
#define FT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "freethreading.h"
#include "runtime.h"

struct ft__ring;

/*
 * A published position: the low half counts messages in its low 31 bits
 * (bit 31 marks a value someone sleeps on, see queue.c), the high half
 * counts bytes in units of 8 (records are 8-aligned).  The counters wrap
 * at 2^31 and 2^32, harmless while a ring holds fewer than 2^31 records
 * and 2^35 bytes.  Sleepers wait on the low half: every put (tail) or get
 * (head) changes it.
 */
union ft__queue_pos {
	uint64_t word;
	uint32_t half[2];
};

#define FT__QUEUE_GROUP 128

struct ft_queue {
	/* Read by everyone; ring switched only under both locks.  First:
	 * this line holds the arena's block header too, which every call
	 * reads for its handle check, so nothing hot may be written here. */
	int32_t maxsize;       /* messages; <= 0 unbounded */
	uint32_t unused;
	struct ft__ring *ring;
	char pad_ro[FT__QUEUE_GROUP - 16];

	/* Written by producers.  The side is held through put_lock, or
	 * without it by the one producer the side is biased to (queue.c). */
	uint32_t put_lock;     /* owner word of the producing side */
	int32_t put_streak;    /* puts in a row by put_last, none waiting */
	uint64_t head_seen;    /* producers' last look at head */
	uint32_t put_last;     /* tid of the last put under put_lock */
	uint32_t put_bias;     /* tid the side is biased to, or 0 */
	uint32_t put_inside;   /* that tid while it is in a put, else 0 */
	uint32_t put_unbiased; /* tid whose bias was taken, until it puts */
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
	char pad4[FT__QUEUE_GROUP - 12];

};

ft_queue_t *ft__queue_new(int maxsize, uint32_t tag);
int ft__queue_put(ft_queue_t *q, const void *data, size_t len, double timeout);
/* @out non-NULL: copy into malloc'd memory instead of @buf/@cap. */
int ft__queue_get(ft_queue_t *q, void *buf, size_t cap, size_t *len,
		  void **out, double timeout);
/* Messages queued now, read without a lock. */
uint32_t ft__queue_count(ft_queue_t *q);
int ft__queue_free(ft_queue_t *q, uint32_t tag);

/* For the repair pass: free the owner words of dead holders. */
void ft__queue_repair(ft_queue_t *q);

#endif
