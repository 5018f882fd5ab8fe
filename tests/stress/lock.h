/* Stress adapter: Lock.  Invariant: a non-atomic counter, incremented
 * only under the lock, ends exact. */
#ifndef FT_STRESS_LOCK_H
#define FT_STRESS_LOCK_H

#include "driver.h"

struct stress_lock {
	ft_lock_t *lock;
	long counter;
};

static int stress_lock_setup(void *ctx, unsigned workers, unsigned rounds)
{
	struct stress_lock *s = ctx;
	(void)workers;
	(void)rounds;
	s->lock = ft_lock_new();
	return s->lock ? 0 : -errno;
}

static int stress_lock_round(void *ctx, unsigned id, unsigned round)
{
	struct stress_lock *s = ctx;
	volatile long *c = &s->counter;
	(void)id;
	(void)round;
	int r = ft_lock_acquire(s->lock, 20.0);
	if (r != 0)
		return r;
	long v = *c;
	stress_spin(20);
	*c = v + 1;
	return ft_lock_release(s->lock);
}

static void stress_lock_check(void *ctx, unsigned workers, unsigned rounds)
{
	struct stress_lock *s = ctx;
	cr_assert_eq(s->counter, (long)workers * rounds, "lock: counter %ld",
		     s->counter);
	cr_assert_eq(ft_lock_locked(s->lock), 0);
	cr_assert_eq(ft_lock_free(s->lock), 0);
}

static const struct stress_adapter stress_lock = {
	.name = "lock",
	.ctx_size = sizeof(struct stress_lock),
	.setup = stress_lock_setup,
	.round = stress_lock_round,
	.check = stress_lock_check,
};

#endif
