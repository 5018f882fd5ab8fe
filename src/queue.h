/* SPDX-License-Identifier: MIT */
/*
 * Layer 5: message queues.  Queue and SimpleQueue share one structure and
 * its operations; they differ in their tag and in task accounting.
 */
#ifndef FT_QUEUE_H
#define FT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "freethreading.h"
#include "runtime.h"

struct ft__ring;

struct ft_queue {
	uint32_t lock;       /* owner word guarding every field below; first,
			      * for the repair pass (repair.c) */
	uint32_t put_seq;    /* futex word: bumped by each put (getters wait) */
	uint32_t get_seq;    /* futex word: bumped by each get (putters wait) */
	uint32_t done_seq;   /* futex word: bumped when unfinished hits 0 */
	int32_t maxsize;     /* messages; <= 0 unbounded */
	uint32_t count;      /* messages in the ring (repairable from it) */
	uint32_t unfinished; /* messages put and not yet task_done */
	uint32_t getters;    /* sleeping in get: a put must wake */
	uint32_t putters;    /* sleeping in put: a get must wake */
	uint32_t joiners;    /* sleeping in join */
	struct ft__ring *ring;
};

ft_queue_t *ft__queue_new(int maxsize, uint32_t tag);
int ft__queue_put(ft_queue_t *q, const void *data, size_t len, double timeout);
/* @out non-NULL: copy into malloc'd memory instead of @buf/@cap. */
int ft__queue_get(ft_queue_t *q, void *buf, size_t cap, size_t *len,
		  void **out, double timeout);
int ft__queue_free(ft_queue_t *q, uint32_t tag);

#endif
