/* SPDX-License-Identifier: MIT */
/*
 * The shared arena.  One MAP_SHARED|MAP_NORESERVE mapping of a memfd,
 * made before any worker exists, at the same address in every worker
 * (threads share it, forked processes inherit it), so arena pointers are
 * valid everywhere.  Pages are committed when touched.
 *
 * Objects are small blocks carved from slabs, or large blocks sized to
 * the page; free neighbours merge, and free memory at the top goes back
 * below the bump offset (the invariants are in arena.c).  Each block
 * starts with a header naming its type; handles point just past it.
 */
#ifndef FT_ARENA_H
#define FT_ARENA_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "wait/wait.h"

/* Type tags.  A block whose tag differs from the one expected is -EBADF. */
enum {
	FT__TAG_FREE = 0x46540000,     /* on a free list */
	FT__TAG_RESERVED,              /* allocated, not yet published */
	FT__TAG_WORKER,
	FT__TAG_SHARED,                /* ft_shared_alloc memory */
	FT__TAG_LOCK,
	FT__TAG_RLOCK,
	FT__TAG_SEMAPHORE,
	FT__TAG_CONDITION,
	FT__TAG_EVENT,
	FT__TAG_BARRIER,
	FT__TAG_QUEUE,
	FT__TAG_SIMPLE_QUEUE,
	FT__TAG_QUEUE_RING,
	FT__TAG_REGISTRY,              /* the worker layer's list of records */
	FT__TAG_QUEUE_SEGMENT,         /* 1 MiB of a large queue's ring */
	FT__TAG_SLAB,                  /* the allocator's: small blocks' home */
};

/* The smallest arena ft_init accepts, and the floor a default one shrinks
 * to under address-space limits before set-up gives up. */
#define FT__ARENA_MIN_SIZE (1u << 20)
#define FT__ARENA_FLOOR ((size_t)16 << 20)

/* Map the arena: @size bytes exactly (rounded to pages, at least
 * FT__ARENA_MIN_SIZE), or with @size 0 as much as the host allows (see
 * arena.c).  0 or -ENOMEM. */
int ft__arena_init(size_t size);

/* Zeroed memory for an object of @size bytes, tagged RESERVED; NULL when
 * the arena is full. */
void *ft__arena_alloc(size_t size);

/* Make an initialised object visible as @tag (release: pairs with the
 * acquire in ft__arena_check and the walkers). */
void ft__arena_publish(void *obj, uint32_t tag);

/* Block header; the handle points just past it.  Exposed for the inline
 * check below, which every call on a handle makes. */
struct ft__block {
	uint32_t tag;   /* FT__TAG_*; changed with release stores / CAS */
	uint32_t cls;   /* log2 of a small block's size; 0: a large block */
	uint64_t check; /* offset ^ FT__CHECK_MAGIC: tells a block from a guess */
	/* Free-list link, outside the object: a caller still inside a freed
	 * object (a waiter on a freed lock) writes only object memory, never
	 * the allocator's lists. */
	uint64_t next_free;
	/* A large block: its bytes, header included, and in bit 0 whether
	 * its pages past the header's were given back.  A small block: the
	 * offset of its slab (arena.c). */
	uint64_t size;
};
#define FT__CHECK_MAGIC 0x9e3779b97f4a7c15ull
#define FT__ARENA_HDR_SIZE 4096

extern char *ft__arena_base;
/* The mapping's size less a block header: a header at an offset below it
 * can be read.  Process-local, unlike the bump offset (in the arena's
 * header, a line every allocation writes), so a check reads no shared
 * line but the object's own. */
extern uint64_t ft__arena_limit;

/* 0 if @obj is a live object of type @tag, -EINVAL for NULL, else -EBADF. */
static inline int ft__arena_check(const void *obj, uint32_t tag)
{
	if (!obj)
		return -EINVAL;
	uintptr_t lo = (uintptr_t)ft__arena_base + FT__ARENA_HDR_SIZE +
		       sizeof(struct ft__block);
	uintptr_t off = (uintptr_t)obj - (uintptr_t)ft__arena_base -
			sizeof(struct ft__block);
	if (!ft__arena_base || (uintptr_t)obj < lo || (off & 15) ||
	    off >= ft__arena_limit)
		return -EBADF;
	/* From the base, not from @obj: the same address, but the compiler
	 * then knows nothing of @obj's object (a caller's bad pointer to a
	 * local is what this check exists to refuse). */
	const struct ft__block *b =
		(const struct ft__block *)(ft__arena_base + off);
	/* A block not yet carved reads as zeros and fails here; a handle
	 * that came the legitimate way was passed on after its block was
	 * carved, so its header is visible.  Acquire pairs with
	 * ft__arena_publish: a matching tag means the object's fields are
	 * initialised. */
	if (b->check != (off ^ FT__CHECK_MAGIC) ||
	    __atomic_load_n(&b->tag, __ATOMIC_ACQUIRE) != tag)
		return -EBADF;
	return 0;
}

/* Every call on a handle starts here, at the public boundary and nowhere
 * below it: 0 if @obj is a live object of type @tag, -EINVAL for NULL,
 * -EBADF otherwise.  No set-up is needed: before it no object exists, and
 * the bounds (process-local) reject every pointer. */
static inline int ft__check(const void *obj, uint32_t tag)
{
	return ft__arena_check(obj, tag);
}

/* A blocking call's boundary: the handle, then its timeout converted into
 * *@d (wait/wait.h).  0, or the first error. */
static inline int ft__check_timed(const void *obj, uint32_t tag,
				  double timeout, struct ft__deadline *d)
{
	int r = ft__arena_check(obj, tag);
	return r < 0 ? r : ft__deadline_init(d, timeout);
}

/* Retire a live object of type @tag (only one caller wins a race); 0 or
 * -EINVAL/-EBADF. */
int ft__arena_free(void *obj, uint32_t tag);

/* Walk: the object after @prev (NULL: the first), with its tag in *@tag,
 * or NULL at the end.  Each step takes the arena lock (the caller must not
 * hold it); objects may come and go between steps, and @prev may have
 * been freed meanwhile: the walk goes on from where it stood. */
void *ft__arena_next(void *prev, uint32_t *tag);

/* Check the allocator's invariants (arena.c) under its lock: 0, or minus
 * the number of the first one found broken.  For tests. */
int ft__arena_verify(void);

/* The allocator's own owner word, for the supervisor's repair pass. */
uint32_t *ft__arena_lockword(void);

/* A program-wide counter in the arena (names like Worker-N): returns the
 * next value, starting at 1. */
enum { FT__SEQ_WORKER, FT__SEQ_DUMMY, FT__SEQ_COUNT };
uint32_t ft__arena_seq_next(int which);

/* A well-known slot in the arena header (the worker registry). */
void **ft__arena_root(void);

size_t ft__arena_size(void);
size_t ft__arena_used(void);

#endif
