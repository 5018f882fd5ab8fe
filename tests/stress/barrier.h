/*
 * Stress adapter: Barrier(workers) with an action.  Invariants, per round
 * r: the indices are exactly 0..parties-1; nobody leaves round r before
 * all arrived in it (a shared per-round arrival count), nor before all
 * left round r-1; the action ran once for round r, before anyone left it.
 */
#ifndef FT_STRESS_BARRIER_H
#define FT_STRESS_BARRIER_H

#include "driver.h"

#define STRESS_BARRIER_ROUNDS 2000

struct stress_barrier {
	ft_barrier_t *bar;
	unsigned parties;
	int arrived[STRESS_BARRIER_ROUNDS];
	int left[STRESS_BARRIER_ROUNDS];
	int actions;       /* under the barrier: only the action writes */
	int bad_action;    /* the action ran with arrivals missing */
	int early;         /* a waiter left before all arrived */
	int overtaken;     /* a waiter left round r before r-1 drained */
	int bad_gen;       /* a waiter left round r with actions != r+1 */
	signed char index[STRESS_MAX_WORKERS][STRESS_BARRIER_ROUNDS];
};

static int stress_barrier_action(void *arg)
{
	struct stress_barrier *s = arg;
	int r = s->actions;
	if (r >= STRESS_BARRIER_ROUNDS ||
	    __atomic_load_n(&s->arrived[r], __ATOMIC_ACQUIRE) != (int)s->parties ||
	    __atomic_load_n(&s->left[r], __ATOMIC_ACQUIRE) != 0)
		s->bad_action++;
	__atomic_store_n(&s->actions, r + 1, __ATOMIC_RELEASE);
	return 0;
}

static int stress_barrier_setup(void *ctx, unsigned workers, unsigned rounds)
{
	struct stress_barrier *s = ctx;
	if (rounds > STRESS_BARRIER_ROUNDS)
		return -EINVAL;
	s->parties = workers;
	s->bar = ft_barrier_new(workers, stress_barrier_action, s, 20.0);
	return s->bar ? 0 : -errno;
}

static int stress_barrier_round(void *ctx, unsigned id, unsigned r)
{
	struct stress_barrier *s = ctx;
	__atomic_add_fetch(&s->arrived[r], 1, __ATOMIC_ACQ_REL);
	int x = ft_barrier_wait(s->bar, FT_FOREVER); /* its own 20 s */
	if (x < 0)
		return x;
	if (__atomic_load_n(&s->arrived[r], __ATOMIC_ACQUIRE) != (int)s->parties)
		s->early++;
	if (r > 0 &&
	    __atomic_load_n(&s->left[r - 1], __ATOMIC_ACQUIRE) != (int)s->parties)
		s->overtaken++;
	if (__atomic_load_n(&s->actions, __ATOMIC_ACQUIRE) != (int)r + 1)
		s->bad_gen++;
	s->index[id][r] = (signed char)x;
	__atomic_add_fetch(&s->left[r], 1, __ATOMIC_ACQ_REL);
	return 0;
}

static void stress_barrier_check(void *ctx, unsigned workers, unsigned rounds)
{
	struct stress_barrier *s = ctx;
	cr_assert_eq(s->early, 0, "barrier: %d left before all arrived", s->early);
	cr_assert_eq(s->overtaken, 0, "barrier: %d overtook a round", s->overtaken);
	cr_assert_eq(s->bad_gen, 0, "barrier: %d saw the wrong action count",
		     s->bad_gen);
	cr_assert_eq(s->bad_action, 0);
	cr_assert_eq(s->actions, (int)rounds);
	for (unsigned r = 0; r < rounds; r++) {
		unsigned seen = 0;
		for (unsigned i = 0; i < workers; i++) {
			int x = s->index[i][r];
			cr_assert(x >= 0 && x < (int)workers, "round %u: index %d", r, x);
			cr_assert_eq(seen & (1u << x), 0, "round %u: index %d twice",
				     r, x);
			seen |= 1u << x;
		}
		cr_assert_eq(s->arrived[r], (int)workers);
		cr_assert_eq(s->left[r], (int)workers);
	}
	cr_assert_eq(ft_barrier_broken(s->bar), 0);
	cr_assert_eq(ft_barrier_n_waiting(s->bar), 0);
	cr_assert_eq(ft_barrier_free(s->bar), 0);
}

static const struct stress_adapter stress_barrier = {
	.name = "barrier",
	.ctx_size = sizeof(struct stress_barrier),
	.setup = stress_barrier_setup,
	.round = stress_barrier_round,
	.check = stress_barrier_check,
};

#endif
