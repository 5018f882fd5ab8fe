/* SPDX-License-Identifier: MIT */
/*
 * Lock: one owner word.  Python's Lock has no owner, so any worker may
 * release it; the word still records who took it, so that a holder's
 * death can be told from a hand-off: a Lock whose holder *ended* normally
 * stays held until someone releases it (FT__TAKE_HANDOFF), one whose
 * holder died is taken with -EOWNERDEAD.
 */
#include <errno.h>

#include "base/atomic.h"
#include "sync/sync.h"
#include "arena/type.h"
#include "wait/wait.h"

FT_API ft_lock_t *ft_lock_new(void)
{
	ft_lock_t *l = ft__new_object(sizeof(*l));
	if (l)
		ft__arena_publish(l, FT__TAG_LOCK);
	return l;
}

int ft__lock_take(struct ft_lock *l, struct ft__deadline *d)
{
	return ft__lockword_take(&l->word, ft__owner(), d, FT__TAKE_HANDOFF);
}

FT_API int ft_lock_acquire(ft_lock_t *l, double timeout)
{
	int r = ft__check(l, FT__TAG_LOCK);
	if (r < 0)
		return r;
	if (__builtin_isnan(timeout))
		return -EINVAL;
	/* The uncontended case before the deadline is even classified:
	 * the slow path converts it (ft__deadline_init). */
	if (__builtin_expect(ft__lockword_try(&l->word, ft__owner()), 1))
		return 0;
	struct ft__deadline d;
	(void)ft__deadline_init(&d, timeout);
	return ft__lock_take(l, &d);
}

static inline int lock_give(struct ft_lock *l)
{
	uint32_t v = ft__load_relaxed(&l->word);
	do {
		if ((v & FT__LW_ID_MASK) == 0)
			return -EPERM;
		/* Release pairs with the next taker's acquire CAS.  A CAS,
		 * not an exchange: of two racing releases only one may free
		 * the lock, the other must see it unheld. */
	} while (!ft__cas_release(&l->word, &v, 0));
	if (v & FT__LW_WAITERS)
		ft__wake(&l->word, 1);
	return 0;
}

int ft__lock_give(struct ft_lock *l)
{
	return lock_give(l);
}

FT_API int ft_lock_release(ft_lock_t *l)
{
	int r = ft__check(l, FT__TAG_LOCK);
	return r < 0 ? r : lock_give(l);
}

FT_API int ft_lock_locked(ft_lock_t *l)
{
	int r = ft__check(l, FT__TAG_LOCK);
	if (r < 0)
		return r;
	/* A word its dead holder left reads as free (the man page). */
	ft__lockword_repair(&l->word, FT__TAKE_HANDOFF);
	return (ft__load_acquire(&l->word) & FT__LW_ID_MASK) != 0;
}

FT_API int ft_lock_free(ft_lock_t *l)
{
	int r = ft__check(l, FT__TAG_LOCK);
	return r < 0 ? r : ft__arena_free(l, FT__TAG_LOCK);
}

static void lock_repair(void *obj)
{
	ft__lockword_repair(&((struct ft_lock *)obj)->word, FT__TAKE_HANDOFF);
}

static void rlock_repair(void *obj)
{
	/* An RLock held by an ended worker can never be released. */
	ft__lockword_repair(&((struct ft_rlock *)obj)->word, 0);
}

FT__TYPE(lock_type) = { FT__TAG_LOCK, lock_repair };
FT__TYPE(rlock_type) = { FT__TAG_RLOCK, rlock_repair };
