/* Stress adapter: RLock, taken twice per round.  Invariant: the counter
 * incremented under it ends exact. */
#ifndef FT_STRESS_RLOCK_H
#define FT_STRESS_RLOCK_H

#include "driver.h"

struct stress_rlock {
	ft_rlock_t *lock;
	long counter;
};

static int stress_rlock_setup(void *ctx, unsigned workers, unsigned rounds)
{
	struct stress_rlock *s = ctx;
	(void)workers;
	(void)rounds;
	s->lock = ft_rlock_new();
	return s->lock ? 0 : -errno;
}

static int stress_rlock_round(void *ctx, unsigned id, unsigned round)
{
	struct stress_rlock *s = ctx;
	volatile long *c = &s->counter;
	(void)id;
	(void)round;
	int r = ft_rlock_acquire(s->lock, 20.0);
	if (r != 0)
		return r;
	if ((r = ft_rlock_acquire(s->lock, 0)) != 0)
		return r;
	long v = *c;
	stress_spin(10);
	if ((r = ft_rlock_release(s->lock)) != 0)
		return r;
	/* Still held at depth 1. */
	stress_spin(10);
	*c = v + 1;
	return ft_rlock_release(s->lock);
}

static void stress_rlock_check(void *ctx, unsigned workers, unsigned rounds)
{
	struct stress_rlock *s = ctx;
	cr_assert_eq(s->counter, (long)workers * rounds, "rlock: counter %ld",
		     s->counter);
	cr_assert_eq(ft_rlock_locked(s->lock), 0);
	cr_assert_eq(ft_rlock_free(s->lock), 0);
}

static const struct stress_adapter stress_rlock = {
	.name = "rlock",
	.ctx_size = sizeof(struct stress_rlock),
	.setup = stress_rlock_setup,
	.round = stress_rlock_round,
	.check = stress_rlock_check,
};

#endif
