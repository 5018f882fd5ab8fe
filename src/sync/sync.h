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

/* Locks and RLocks the calling thread took and has not itself released.
 * When a worker ends with this at zero, nothing needs a look; otherwise
 * its end walks the arena (another worker may have released a Lock for
 * it, so the count is an upper bound). */
extern FT__TLS unsigned ft__locks_taken;
extern FT__TLS bool ft__exit_hook_armed;
void ft__sync_arm_exit_hook(void);

/* Count a Lock/RLock taken by the calling thread (and make sure its end
 * will settle what it holds). */
static inline void ft__sync_note_taken(void)
{
	if (__builtin_expect(!ft__exit_hook_armed, 0))
		ft__sync_arm_exit_hook();
	ft__locks_taken++;
}

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

/*
 * What a worker leaves as it ends normally (called by the worker layer):
 * Locks it holds become HANDOFF (held, deliberately, by nobody alive);
 * RLocks it holds are owner deaths.
 */
void ft__sync_worker_ending(uint32_t tid);

#endif
