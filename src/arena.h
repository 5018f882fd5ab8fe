/* SPDX-License-Identifier: MIT */
/*
 * Layer 1: the shared arena.  One anonymous MAP_SHARED|MAP_NORESERVE
 * mapping, made before any worker exists, at the same address in every
 * worker (threads share it, forked processes inherit it), so arena
 * pointers are valid everywhere.  Pages are committed when touched.
 *
 * Objects are carved from power-of-two blocks that are never split or
 * merged, so the arena can be walked block by block without a lock (the
 * supervisor does that to repair what a dead worker held).  Each block
 * starts with a header naming its type; handles point just past it.
 */
#ifndef FT_ARENA_H
#define FT_ARENA_H

#include <stddef.h>
#include <stdint.h>

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
};

#define FT__ARENA_MIN_SIZE (1u << 20)
#define FT__ARENA_DEFAULT_SIZE ((size_t)1 << 30)

int ft__arena_init(size_t size);

/* Zeroed memory for an object of @size bytes, tagged RESERVED; NULL when
 * the arena is full. */
void *ft__arena_alloc(size_t size);

/* Make an initialised object visible as @tag (release: pairs with the
 * acquire in ft__arena_check and the walkers). */
void ft__arena_publish(void *obj, uint32_t tag);

/* 0 if @obj is a live object of type @tag, -EINVAL for NULL, else -EBADF. */
int ft__arena_check(const void *obj, uint32_t tag);

/* Retire a live object of type @tag (only one caller wins a race); 0 or
 * -EINVAL/-EBADF. */
int ft__arena_free(void *obj, uint32_t tag);

/* Walk: the object after @prev (NULL: the first), with its tag in *@tag,
 * or NULL at the end.  Objects may come and go during the walk. */
void *ft__arena_next(void *prev, uint32_t *tag);

/* The allocator's own owner word, for the supervisor's repair pass. */
uint32_t *ft__arena_lockword(void);

/* A program-wide counter in the arena (names like Worker-N): returns the
 * next value, starting at 1. */
enum { FT__SEQ_WORKER, FT__SEQ_DUMMY, FT__SEQ_COUNT };
uint32_t ft__arena_seq_next(int which);

/* A well-known slot in the arena header (the main worker record). */
void **ft__arena_root(void);

size_t ft__arena_size(void);
size_t ft__arena_used(void);

#endif
