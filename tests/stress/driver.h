/*
 * The stress driver, as ck's regressions/<module>/validate/validate.h: one
 * loop, bound to each primitive by a small adapter (tests/stress/<x>.h).
 *
 * stress_drive() gives the adapter a zeroed context in memory every worker
 * sees (ft_test_shared), lets it make its primitive, starts @workers
 * workers of the backend's kind, releases them together, and has each call
 * round() @rounds times.  Workers never assert: round() returns 0 or a
 * negative code that stops that worker, and the driver reports it.  Then,
 * in the test body, check() asserts the adapter's invariant.
 */
#ifndef FT_STRESS_DRIVER_H
#define FT_STRESS_DRIVER_H

#include <stdint.h>

#include "../helpers.h"

#define STRESS_MAX_WORKERS 16

struct stress_adapter {
	const char *name;
	size_t ctx_size;
	/* Make the primitive(s) in @ctx: 0 or a negative code. */
	int (*setup)(void *ctx, unsigned workers, unsigned rounds);
	/* One round of worker @id: 0, or a negative code (stops it). */
	int (*round)(void *ctx, unsigned id, unsigned round);
	/* Assert the invariant, in the test body, after every worker ended. */
	void (*check)(void *ctx, unsigned workers, unsigned rounds);
};

struct stress_run {
	const struct stress_adapter *a;
	void *ctx;
	unsigned rounds;
	ft_event_t *go;
	int err[STRESS_MAX_WORKERS];
	unsigned err_round[STRESS_MAX_WORKERS];
	unsigned done[STRESS_MAX_WORKERS];
};

static struct stress_run *stress_run;

/* The spin inside a critical section: long enough that a broken lock
 * would let another worker in, cheap enough for many rounds. */
static inline void stress_spin(unsigned n)
{
	for (volatile unsigned i = 0; i < n; i++)
		;
}

static void stress_worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	struct stress_run *run = stress_run;

	int r = ft_event_wait(run->go, 30.0);
	for (unsigned i = 0; r == 0 && i < run->rounds; i++) {
		r = run->a->round(run->ctx, id, i);
		if (r < 0)
			run->err_round[id] = i;
		else
			run->done[id]++;
	}
	run->err[id] = r;
}

static inline void stress_drive(const struct stress_adapter *a,
				unsigned workers, unsigned rounds)
{
	cr_assert(workers > 0 && workers <= STRESS_MAX_WORKERS);
	stress_run = ft_test_shared(sizeof(*stress_run));
	stress_run->a = a;
	stress_run->ctx = ft_test_shared(a->ctx_size);
	stress_run->rounds = rounds;
	stress_run->go = ft_event_new();
	cr_assert_not_null(stress_run->go);
	int r = a->setup(stress_run->ctx, workers, rounds);
	cr_assert_eq(r, 0, "%s: setup: %s", a->name, ft_strerror(r));

	ft_worker_t *w[STRESS_MAX_WORKERS];
	for (unsigned i = 0; i < workers; i++) {
		w[i] = ft_worker_new(NULL, stress_worker, (void *)(uintptr_t)i, 0);
		cr_assert_not_null(w[i]);
		cr_assert_eq(ft_worker_start(w[i]), 0);
	}
	cr_assert_eq(ft_event_set(stress_run->go), 0);
	for (unsigned i = 0; i < workers; i++) {
		cr_assert_eq(ft_worker_join(w[i], 50.0), 0, "%s: worker %u hangs",
			     a->name, i);
		int code = -1;
		cr_assert_eq(ft_worker_exitcode(w[i], &code), 0);
		cr_assert_eq(code, 0, "%s: worker %u ended with %d", a->name, i,
			     code);
		ft_worker_free(w[i]);
	}
	for (unsigned i = 0; i < workers; i++) {
		cr_assert_eq(stress_run->err[i], 0,
			     "%s: worker %u, round %u: %s", a->name, i,
			     stress_run->err_round[i],
			     ft_strerror(stress_run->err[i]));
		cr_assert_eq(stress_run->done[i], rounds);
	}
	a->check(stress_run->ctx, workers, rounds);
}

#endif
