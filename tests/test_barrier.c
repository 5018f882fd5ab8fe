/* Barrier: arrival indices, the action (once per round, before anyone is
 * released, a failing one breaking it), timeouts, abort, reset,
 * parties/n_waiting/broken, bad handles. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define PARTIES 3
#define ROUNDS 6
#define MAXW 4

struct shared {
	int about[MAXW];
	int done[MAXW];
	int rc[MAXW][ROUNDS];
	double timeout[MAXW];  /* per waiter */
	double took[MAXW];
	int passed[ROUNDS];    /* waiters released from round r */
	int actions;           /* action calls */
	int ran_by[ROUNDS];    /* which waiter ran the action of round r */
	int early;             /* the action saw someone already released */
	int late;              /* the action saw a round not drained */
	int fail_code;         /* the action returns this */
};

static struct shared *sh;
static ft_barrier_t *bar;
static __thread int my_id; /* per thread; a process has its own copy */

static int action(void *arg)
{
	struct shared *s = arg;
	int r = s->actions;
	if (r < ROUNDS) {
		if (__atomic_load_n(&s->passed[r], __ATOMIC_ACQUIRE) != 0)
			s->early++;
		if (r > 0 && __atomic_load_n(&s->passed[r - 1],
					     __ATOMIC_ACQUIRE) != PARTIES)
			s->late++;
		s->ran_by[r] = my_id;
	}
	s->actions++;
	return s->fail_code;
}

static void rounds_worker(void *arg)
{
	my_id = (int)(intptr_t)arg;
	for (int r = 0; r < ROUNDS; r++) {
		sh->rc[my_id][r] = ft_barrier_wait(bar, 30.0);
		__atomic_add_fetch(&sh->passed[r], 1, __ATOMIC_ACQ_REL);
	}
}

/* Every index 0..PARTIES-1 exactly once in round @r of waiters @n. */
static void assert_indices(int r, int n)
{
	int seen = 0;
	for (int i = 0; i < n; i++) {
		int x = sh->rc[i][r];
		cr_assert(x >= 0 && x < PARTIES, "round %d waiter %d: %d", r, i, x);
		cr_assert_eq(seen & (1 << x), 0, "round %d: index %d twice", r, x);
		seen |= 1 << x;
	}
	cr_assert_eq(seen, (1 << PARTIES) - 1);
}

Test(barrier, indices_and_one_action_per_round, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	static const unsigned kinds[] = { 0, FT_WORKER_PROCESS };

	sh = ft_test_shared(sizeof(*sh));
	for (size_t k = 0; k < 2; k++) {
		memset(sh, 0, sizeof(*sh));
		bar = ft_barrier_new(PARTIES, action, sh, FT_FOREVER);
		cr_assert_not_null(bar);
		ft_worker_t *w[PARTIES];
		for (int i = 0; i < PARTIES; i++) {
			/* Mixed kinds: the last is a process either way. */
			unsigned fl = i == PARTIES - 1 ? FT_WORKER_PROCESS : kinds[k];
			w[i] = ft_worker_new(NULL, rounds_worker, (void *)(intptr_t)i,
					     fl);
			cr_assert_eq(ft_worker_start(w[i]), 0);
		}
		for (int i = 0; i < PARTIES; i++)
			ft_test_join(w[i]);
		cr_assert_eq(sh->actions, ROUNDS, "one action per round");
		cr_assert_eq(sh->early, 0, "a waiter left before the action ran");
		cr_assert_eq(sh->late, 0);
		for (int r = 0; r < ROUNDS; r++) {
			assert_indices(r, PARTIES);
			cr_assert_eq(sh->rc[sh->ran_by[r]][r], PARTIES - 1,
				     "round %d: the last arrival runs the action", r);
		}
		cr_assert_eq(ft_barrier_broken(bar), 0);
		cr_assert_eq(ft_barrier_n_waiting(bar), 0);
		cr_assert_eq(ft_barrier_free(bar), 0);
	}
}

Test(barrier, new_and_accessors, .timeout = FT_TEST_TIMEOUT)
{
	errno = 0;
	cr_assert_null(ft_barrier_new(0, NULL, NULL, FT_FOREVER));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(ft_barrier_new((unsigned)-1, NULL, NULL, FT_FOREVER));
	cr_assert_eq(errno, EINVAL);
	ft_barrier_t *b = ft_barrier_new(5, NULL, NULL, 1.0);
	cr_assert_not_null(b);
	cr_assert_eq(ft_barrier_parties(b), 5);
	cr_assert_eq(ft_barrier_n_waiting(b), 0);
	cr_assert_eq(ft_barrier_broken(b), 0);
	cr_assert_eq(ft_barrier_reset(b), 0, "reset when idle");
	cr_assert_eq(ft_barrier_broken(b), 0);
	cr_assert_eq(ft_barrier_free(b), 0);

	/* One party: every wait is a full round, index 0, action each time. */
	sh = ft_test_shared(sizeof(*sh));
	b = ft_barrier_new(1, action, sh, FT_FOREVER);
	for (int r = 0; r < 3; r++)
		cr_assert_eq(ft_barrier_wait(b, FT_FOREVER), 0);
	cr_assert_eq(ft_barrier_wait(b, 0), 0);
	cr_assert_eq(sh->actions, 4);
	cr_assert_eq(ft_barrier_n_waiting(b), 0);
	cr_assert_eq(ft_barrier_broken(b), 0);
}

static void waiter(void *arg)
{
	my_id = (int)(intptr_t)arg;
	__atomic_store_n(&sh->about[my_id], 1, __ATOMIC_RELEASE);
	double t0 = ft_test_now();
	sh->rc[my_id][0] = ft_barrier_wait(bar, sh->timeout[my_id]);
	sh->took[my_id] = ft_test_now() - t0;
	__atomic_store_n(&sh->done[my_id], 1, __ATOMIC_RELEASE);
}

static ft_worker_t *start_waiter(int i, double timeout)
{
	sh->rc[i][0] = 1;
	sh->timeout[i] = timeout;
	ft_worker_t *w = ft_worker_new(NULL, waiter, (void *)(intptr_t)i, 0);
	cr_assert_eq(ft_worker_start(w), 0);
	return w;
}

/* Poll the barrier's own count (a deadlock guard, not a timing). */
static void await_n_waiting(ft_barrier_t *b, int n)
{
	for (int i = 0; i < 200000 && ft_barrier_n_waiting(b) != n; i++)
		usleep(100);
	cr_assert_eq(ft_barrier_n_waiting(b), n);
}

/* @n blocked waiters (ids 0..n-1) in the current round. */
static void block_waiters(ft_worker_t **w, int n)
{
	for (int i = 0; i < n; i++) {
		w[i] = start_waiter(i, FT_FOREVER);
		await_n_waiting(bar, i + 1);
	}
	for (int i = 0; i < n; i++)
		cr_assert_eq(__atomic_load_n(&sh->done[i], __ATOMIC_ACQUIRE), 0, "waiter %d left a round not full", i);
}

/* A whole round: the test body and PARTIES-1 workers. */
static void full_round(void)
{
	memset(sh, 0, sizeof(*sh));
	ft_worker_t *w[PARTIES - 1];
	block_waiters(w, PARTIES - 1);
	sh->rc[PARTIES - 1][0] = ft_barrier_wait(bar, 30.0);
	for (int i = 0; i < PARTIES - 1; i++)
		ft_test_join(w[i]);
	cr_assert_eq(sh->rc[PARTIES - 1][0], PARTIES - 1, "the last to arrive");
	assert_indices(0, PARTIES);
	cr_assert_eq(ft_barrier_n_waiting(bar), 0);
	cr_assert_eq(ft_barrier_broken(bar), 0);
}

Test(barrier, n_waiting_and_last_arrival, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	bar = ft_barrier_new(PARTIES, action, sh, FT_FOREVER);
	cr_assert_eq(ft_barrier_parties(bar), PARTIES);
	full_round();
	cr_assert_eq(sh->actions, 1);
	full_round();
	cr_assert_eq(sh->actions, 1, "counted afresh: full_round clears sh");
}

Test(barrier, failing_action_breaks_it, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	bar = ft_barrier_new(PARTIES, action, sh, FT_FOREVER);
	sh->fail_code = -ENOENT;
	ft_worker_t *w[PARTIES];
	for (int i = 0; i < PARTIES; i++)
		w[i] = start_waiter(i, FT_FOREVER);
	for (int i = 0; i < PARTIES; i++)
		ft_test_join(w[i]);
	cr_assert_eq(sh->actions, 1);
	int runner = sh->ran_by[0];
	for (int i = 0; i < PARTIES; i++)
		cr_assert_eq(sh->rc[i][0], i == runner ? -ENOENT : -EPIPE,
			     "waiter %d (runner %d): %d", i, runner, sh->rc[i][0]);
	cr_assert_eq(ft_barrier_broken(bar), 1);
	cr_assert_eq(ft_barrier_wait(bar, 0), -EPIPE);
	cr_assert_eq(ft_barrier_wait(bar, FT_FOREVER), -EPIPE);
	cr_assert_eq(ft_barrier_n_waiting(bar), 0);
	cr_assert_eq(sh->actions, 1, "a broken barrier runs no action");
	cr_assert_eq(ft_barrier_reset(bar), 0);
	cr_assert_eq(ft_barrier_broken(bar), 0);
	full_round();
	cr_assert_eq(sh->actions, 1);
}

Test(barrier, timeout_breaks_it_for_everyone, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	bar = ft_barrier_new(PARTIES, NULL, NULL, FT_FOREVER);
	ft_worker_t *patient = start_waiter(0, FT_FOREVER);
	await_n_waiting(bar, 1);
	ft_worker_t *hasty = start_waiter(1, 0.1);
	ft_test_join(hasty);
	ft_test_join(patient);
	cr_assert_eq(sh->rc[1][0], -ETIMEDOUT, "its deadline passed");
	cr_assert_geq(sh->took[1], 0.1);
	cr_assert_eq(sh->rc[0][0], -EPIPE, "broken under it");
	cr_assert_eq(ft_barrier_broken(bar), 1);
	cr_assert_eq(ft_barrier_wait(bar, 5.0), -EPIPE);
	cr_assert_eq(ft_barrier_wait(bar, FT_FOREVER), -EPIPE);
	cr_assert_eq(ft_barrier_broken(bar), 1, "broken until reset");
	cr_assert_eq(ft_barrier_reset(bar), 0);
	cr_assert_eq(ft_barrier_broken(bar), 0);
	full_round();
}

Test(barrier, forever_uses_the_barriers_own, .timeout = FT_TEST_TIMEOUT)
{
	ft_event_t *never = ft_event_new();
	sh = ft_test_shared(sizeof(*sh));

	ft_barrier_t *b = ft_barrier_new(2, NULL, NULL, 0.1);
	double t0 = ft_test_now();
	cr_assert_eq(ft_barrier_wait(b, FT_FOREVER), -ETIMEDOUT);
	cr_assert_geq(ft_test_now() - t0, 0.1);
	cr_assert_eq(ft_barrier_broken(b), 1);
	cr_assert_eq(ft_barrier_reset(b), 0);
	cr_assert_eq(ft_barrier_wait(b, -7.5), -ETIMEDOUT,
		     "another negative value: a deadline already passed");
	cr_assert_eq(ft_barrier_reset(b), 0);
	t0 = ft_test_now();
	cr_assert_eq(ft_barrier_wait(b, 0.3), -ETIMEDOUT);
	cr_assert_geq(ft_test_now() - t0, 0.3, "a given timeout wins over the default");
	cr_assert_eq(ft_barrier_free(b), 0);

	/* A default of FT_FOREVER: forever. */
	bar = ft_barrier_new(2, NULL, NULL, FT_FOREVER);
	ft_worker_t *w = start_waiter(0, FT_FOREVER);
	await_n_waiting(bar, 1);
	cr_assert_eq(ft_event_wait(never, 0.05), -ETIMEDOUT);
	cr_assert_eq(__atomic_load_n(&sh->done[0], __ATOMIC_ACQUIRE), 0);
	cr_assert_eq(ft_barrier_n_waiting(bar), 1);
	cr_assert_eq(ft_barrier_wait(bar, FT_FOREVER), 1);
	ft_test_join(w);
	cr_assert_eq(sh->rc[0][0], 0);
}

Test(barrier, abort_breaks_current_and_later_waits, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	bar = ft_barrier_new(PARTIES, action, sh, FT_FOREVER);
	ft_worker_t *w[PARTIES - 1];
	block_waiters(w, PARTIES - 1);
	cr_assert_eq(ft_barrier_abort(bar), 0);
	for (int i = 0; i < PARTIES - 1; i++) {
		ft_test_join(w[i]);
		cr_assert_eq(sh->rc[i][0], -EPIPE, "waiter %d: %d", i, sh->rc[i][0]);
	}
	cr_assert_eq(ft_barrier_broken(bar), 1);
	cr_assert_eq(ft_barrier_n_waiting(bar), 0);
	cr_assert_eq(ft_barrier_wait(bar, 1.0), -EPIPE);
	cr_assert_eq(ft_barrier_abort(bar), 0, "aborting twice");
	cr_assert_eq(ft_barrier_broken(bar), 1);
	cr_assert_eq(sh->actions, 0);
	cr_assert_eq(ft_barrier_reset(bar), 0);
	cr_assert_eq(ft_barrier_broken(bar), 0);
	full_round();
	cr_assert_eq(sh->actions, 1);
}

Test(barrier, reset_releases_waiters_then_works, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	bar = ft_barrier_new(PARTIES, action, sh, FT_FOREVER);
	ft_worker_t *w[PARTIES - 1];
	block_waiters(w, PARTIES - 1);
	cr_assert_eq(ft_barrier_reset(bar), 0);
	for (int i = 0; i < PARTIES - 1; i++) {
		ft_test_join(w[i]);
		cr_assert_eq(sh->rc[i][0], -EPIPE, "waiter %d: %d", i, sh->rc[i][0]);
	}
	cr_assert_eq(ft_barrier_broken(bar), 0, "reset is not broken");
	cr_assert_eq(ft_barrier_n_waiting(bar), 0);
	cr_assert_eq(sh->actions, 0);
	full_round();
	cr_assert_eq(sh->actions, 1);
	full_round();
}

Test(barrier, timeout_while_the_last_round_drains_breaks_it,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	/* A released waiter that cannot leave (stopped) keeps the round
	 * draining; a new arrival whose deadline passes meanwhile gets
	 * -ETIMEDOUT, which means "broken for everyone until reset". */
	sh = ft_test_shared(sizeof(*sh));
	bar = ft_barrier_new(2, NULL, NULL, FT_FOREVER);
	sh->rc[0][0] = 1;
	sh->timeout[0] = 30.0;
	ft_worker_t *w = ft_worker_new(NULL, waiter, (void *)0, FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_start(w), 0);
	await_n_waiting(bar, 1);
	long pid = ft_worker_ident(w);
	cr_assert_eq(kill((pid_t)pid, SIGSTOP), 0);
	for (int i = 0; i < 20000 && ft_test_proc_state(pid) != 'T'; i++)
		usleep(500);
	char st = ft_test_proc_state(pid);
	int last = ft_barrier_wait(bar, 30.0);
	int late = ft_barrier_wait(bar, 0.1);
	int broken = ft_barrier_broken(bar);
	kill((pid_t)pid, SIGCONT);
	ft_test_join(w);
	cr_assert_eq(st, 'T');
	cr_assert_eq(last, 1);
	/* Released, but it ran only after the break: as in CPython, either
	 * its index or -EPIPE. */
	cr_assert(sh->rc[0][0] == 0 || sh->rc[0][0] == -EPIPE, "%d", sh->rc[0][0]);
	cr_assert_eq(late, -ETIMEDOUT);
	cr_assert_eq(broken, 1, "-ETIMEDOUT, yet the barrier is not broken");
	cr_assert_eq(ft_barrier_wait(bar, 0), -EPIPE, "broken until reset");
}

Test(barrier, bad_handles, .timeout = FT_TEST_TIMEOUT)
{
	int local = 0;
	ft_event_t *e = ft_event_new();
	ft_semaphore_t *s = ft_semaphore_new(0);
	ft_barrier_t *freed = ft_barrier_new(1, NULL, NULL, FT_FOREVER);
	cr_assert_eq(ft_barrier_free(freed), 0);

	cr_assert_eq(ft_barrier_wait(NULL, 0), -EINVAL);
	cr_assert_eq(ft_barrier_wait(NULL, FT_FOREVER), -EINVAL);
	cr_assert_eq(ft_barrier_reset(NULL), -EINVAL);
	cr_assert_eq(ft_barrier_abort(NULL), -EINVAL);
	cr_assert_eq(ft_barrier_parties(NULL), -EINVAL);
	cr_assert_eq(ft_barrier_n_waiting(NULL), -EINVAL);
	cr_assert_eq(ft_barrier_broken(NULL), -EINVAL);
	cr_assert_eq(ft_barrier_free(NULL), -EINVAL);

	ft_barrier_t *bad[] = { freed, (ft_barrier_t *)&local,
				(ft_barrier_t *)e, (ft_barrier_t *)s };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(ft_barrier_wait(bad[i], 0), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_barrier_wait(bad[i], FT_FOREVER), -EBADF);
		cr_assert_eq(ft_barrier_reset(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_barrier_abort(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_barrier_parties(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_barrier_n_waiting(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_barrier_broken(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_barrier_free(bad[i]), -EBADF, "bad[%zu]", i);
	}
	cr_assert_eq(local, 0);
	cr_assert_eq(ft_event_is_set(e), 0, "the Event is untouched");
	cr_assert_eq(ft_semaphore_value(s), 0, "the Semaphore is untouched");
}
