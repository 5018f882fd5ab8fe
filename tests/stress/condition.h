/*
 * Stress adapter: Condition, a bounded buffer.  Even workers produce, odd
 * ones consume, one item per round, through two conditions over one Lock
 * (not_full, not_empty) woken with notify(1).  Invariants: the count of
 * items never leaves 0..STRESS_COND_CAP, and what was produced was
 * consumed, exactly.
 */
#ifndef FT_STRESS_CONDITION_H
#define FT_STRESS_CONDITION_H

#include "driver.h"

#define STRESS_COND_CAP 3

struct stress_condition {
	ft_lock_t *lock;
	ft_condition_t *not_full, *not_empty;
	int items;      /* under the lock */
	long produced;  /* under the lock */
	long consumed;  /* under the lock */
	int out_of_range;
};

static int stress_condition_setup(void *ctx, unsigned workers, unsigned rounds)
{
	struct stress_condition *s = ctx;
	(void)rounds;
	if (workers % 2)
		return -EINVAL; /* as many consumers as producers */
	s->lock = ft_lock_new();
	s->not_full = ft_condition_new(s->lock);
	s->not_empty = ft_condition_new(s->lock);
	return s->lock && s->not_full && s->not_empty ? 0 : -errno;
}

/* Wait on @c until @ready, a deadlock guard turning a lost wake-up into an
 * error instead of a hang.  The lock is held on return. */
static int stress_condition_await(ft_condition_t *c, const int *items,
				  bool producer)
{
	while (producer ? *items >= STRESS_COND_CAP : *items == 0) {
		int r = ft_condition_wait(c, 20.0);
		if (r < 0 && (producer ? *items >= STRESS_COND_CAP : *items == 0))
			return r;
	}
	return 0;
}

static int stress_condition_round(void *ctx, unsigned id, unsigned round)
{
	struct stress_condition *s = ctx;
	bool producer = id % 2 == 0;
	(void)round;
	int r = ft_lock_acquire(s->lock, 20.0);
	if (r != 0)
		return r;
	r = stress_condition_await(producer ? s->not_full : s->not_empty,
				   &s->items, producer);
	if (r == 0) {
		if (producer) {
			s->items++;
			s->produced++;
		} else {
			s->items--;
			s->consumed++;
		}
		if (s->items < 0 || s->items > STRESS_COND_CAP)
			s->out_of_range++;
		r = ft_condition_notify(producer ? s->not_empty : s->not_full, 1);
	}
	int r2 = ft_lock_release(s->lock);
	return r ? r : r2;
}

static void stress_condition_check(void *ctx, unsigned workers, unsigned rounds)
{
	struct stress_condition *s = ctx;
	long each = (long)(workers / 2) * rounds;
	cr_assert_eq(s->out_of_range, 0);
	cr_assert_eq(s->produced, each);
	cr_assert_eq(s->consumed, each, "condition: %ld of %ld consumed",
		     s->consumed, each);
	cr_assert_eq(s->items, 0);
	cr_assert_eq(ft_condition_free(s->not_full), 0);
	cr_assert_eq(ft_condition_free(s->not_empty), 0);
	cr_assert_eq(ft_lock_locked(s->lock), 0);
	cr_assert_eq(ft_lock_free(s->lock), 0);
}

static const struct stress_adapter stress_condition = {
	.name = "condition",
	.ctx_size = sizeof(struct stress_condition),
	.setup = stress_condition_setup,
	.round = stress_condition_round,
	.check = stress_condition_check,
};

#endif
