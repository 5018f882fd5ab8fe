/* SPDX-License-Identifier: MIT */
/*
 * Layer 3: synchronization primitives, each a futex word (or a few) in the
 * arena.  Lock and RLock are owner words (lockword.h) so that a holder's
 * death can be repaired.
 */
#ifndef FT_SYNC_H
#define FT_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "arena/arena.h"
#include "freethreading.h"
#include "lockword/lockword.h"
#include "runtime/runtime.h"

struct ft_lock {
	uint32_t word; /* owner word; first (lock.c repairs the object as it) */
};

struct ft_rlock {
	uint32_t word;  /* owner word; first (lock.c repairs the object as it) */
	uint32_t depth; /* levels taken by the owner; only the owner writes */
};

/* Lock and RLock below the public calls, on handles already checked
 * (Condition comes here): take by @d (NULL: forever), give back. */
int ft__lock_take(struct ft_lock *l, struct ft__deadline *d);
int ft__lock_give(struct ft_lock *l);
int ft__rlock_take(struct ft_rlock *l, struct ft__deadline *d);
int ft__rlock_give(struct ft_rlock *l);

/* RLock internals, for Condition: release every level (returns the depth
 * it had), and take it back at that depth. */
uint32_t ft__rlock_release_all(struct ft_rlock *l);
int ft__rlock_take_back(struct ft_rlock *l, uint32_t depth);

#endif
