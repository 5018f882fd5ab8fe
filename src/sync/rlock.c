/* SPDX-License-Identifier: MIT */
/* RLock: an owner word plus a depth that only the owner touches. */
#include <errno.h>

#include "base/atomic.h"
#include "sync/sync.h"
#include "wait/wait.h"

FT_API ft_rlock_t *ft_rlock_new(void)
{
	ft_rlock_t *l = ft__new_object(sizeof(*l));
	if (l)
		ft__arena_publish(l, FT__TAG_RLOCK);
	return l;
}

static bool owned_by(const struct ft_rlock *l, uint32_t me)
{
	return (ft__load_relaxed(&l->word) & FT__LW_ID_MASK) == me;
}

int ft__rlock_take(struct ft_rlock *l, struct ft__deadline *d)
{
	uint32_t me = ft__owner();
	/* Two holders of the anonymous id (a full owner table) would
	 * count as one: refused. */
	if (me == FT__OWNER_ANON)
		return -EAGAIN;
	if (owned_by(l, me)) {
		if (l->depth == UINT32_MAX)
			return -EOVERFLOW;
		l->depth++;
		return 0;
	}
	int r = ft__lockword_acquire(&l->word, me, d);
	if (r == 0 || r == -EOWNERDEAD) {
		l->depth = 1;
		ft__owner_holds++;
	}
	return r;
}

FT_API int ft_rlock_acquire(ft_rlock_t *l, double timeout)
{
	struct ft__deadline d;
	int r = ft__check_timed(l, FT__TAG_RLOCK, timeout, &d);
	return r < 0 ? r : ft__rlock_take(l, &d);
}

FT_API int ft_rlock_release(ft_rlock_t *l)
{
	int r = ft__check(l, FT__TAG_RLOCK);
	return r < 0 ? r : ft__rlock_give(l);
}

int ft__rlock_give(struct ft_rlock *l)
{
	if (!owned_by(l, ft__owner()))
		return -EPERM;
	if (--l->depth > 0)
		return 0;
	ft__lockword_release(&l->word);
	ft__owner_holds--;
	return 0;
}

FT_API int ft_rlock_locked(ft_rlock_t *l)
{
	int r = ft__check(l, FT__TAG_RLOCK);
	if (r < 0)
		return r;
	/* A word its dead (or ended) owner left reads as free. */
	ft__lockword_repair(&l->word, 0);
	return (ft__load_acquire(&l->word) & FT__LW_ID_MASK) != 0;
}

FT_API int ft_rlock_free(ft_rlock_t *l)
{
	int r = ft__check(l, FT__TAG_RLOCK);
	return r < 0 ? r : ft__arena_free(l, FT__TAG_RLOCK);
}

uint32_t ft__rlock_release_all(struct ft_rlock *l)
{
	uint32_t depth = l->depth;
	l->depth = 0;
	ft__lockword_release(&l->word);
	ft__owner_holds--;
	return depth;
}

int ft__rlock_take_back(struct ft_rlock *l, uint32_t depth)
{
	int r = ft__lockword_acquire_spin(&l->word, ft__owner());
	l->depth = depth;
	ft__owner_holds++;
	return r;
}
