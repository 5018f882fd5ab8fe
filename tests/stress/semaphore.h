/* Stress adapter: BoundedSemaphore(k).  Invariant: never more than k
 * holders at once (an atomic in-section count, its maximum tracked), and
 * the value is back to k at the end. */
#ifndef FT_STRESS_SEMAPHORE_H
#define FT_STRESS_SEMAPHORE_H

#include "driver.h"

#define STRESS_SEM_K 2

struct stress_semaphore {
	ft_semaphore_t *sem;
	int inside;
	int max_inside;
};

static int stress_semaphore_setup(void *ctx, unsigned workers, unsigned rounds)
{
	struct stress_semaphore *s = ctx;
	(void)workers;
	(void)rounds;
	s->sem = ft_bounded_semaphore_new(STRESS_SEM_K);
	return s->sem ? 0 : -errno;
}

static int stress_semaphore_round(void *ctx, unsigned id, unsigned round)
{
	struct stress_semaphore *s = ctx;
	(void)id;
	(void)round;
	int r = ft_semaphore_acquire(s->sem, 20.0);
	if (r != 0)
		return r;
	int n = __atomic_add_fetch(&s->inside, 1, __ATOMIC_ACQ_REL);
	int m = __atomic_load_n(&s->max_inside, __ATOMIC_RELAXED);
	while (n > m && !__atomic_compare_exchange_n(&s->max_inside, &m, n, true,
						     __ATOMIC_RELAXED,
						     __ATOMIC_RELAXED))
		;
	stress_spin(50);
	__atomic_sub_fetch(&s->inside, 1, __ATOMIC_ACQ_REL);
	return ft_semaphore_release(s->sem, 1);
}

static void stress_semaphore_check(void *ctx, unsigned workers, unsigned rounds)
{
	struct stress_semaphore *s = ctx;
	(void)workers;
	(void)rounds;
	cr_assert_leq(s->max_inside, STRESS_SEM_K, "semaphore: %d holders at once",
		      s->max_inside);
	cr_assert_geq(s->max_inside, 1);
	cr_assert_eq(s->inside, 0);
	cr_assert_eq(ft_semaphore_value(s->sem), STRESS_SEM_K);
	cr_assert_eq(ft_semaphore_free(s->sem), 0);
}

static const struct stress_adapter stress_semaphore = {
	.name = "semaphore",
	.ctx_size = sizeof(struct stress_semaphore),
	.setup = stress_semaphore_setup,
	.round = stress_semaphore_round,
	.check = stress_semaphore_check,
};

#endif
