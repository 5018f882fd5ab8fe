/* SPDX-License-Identifier: MIT */
/*
 * ft_worker_wait: which workers of a set have ended, in each mode, with
 * and without a deadline, for small sets (one futex_waitv over their
 * state words) and sets over 128 (the registry's ends word), woken while
 * asleep, from a process other than the workers' creator.  Each worker
 * waits on its own Event and returns the code set for it, so the test
 * decides which have ended.
 */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

#include "helpers.h"

#define MAX_W 150

struct shared {
	ft_event_t *go[MAX_W];
	int code[MAX_W];
	int waiting;      /* the watcher is about to wait */
	int watcher_saw;  /* what its ft_worker_wait returned */
	int returned;     /* ... once it has */
	bool watcher_ended[2];
};
static struct shared *sh;
static ft_worker_t *w[MAX_W];

static int gated(void *arg)
{
	size_t i = (size_t)(uintptr_t)arg;
	if (ft_event_wait(sh->go[i], FT_TEST_GUARD_S) != 0)
		return 100;
	return __atomic_load_n(&sh->code[i], __ATOMIC_ACQUIRE);
}

/* Make and start @n gated workers of kind @flags. */
static void start_set(size_t n, unsigned flags)
{
	sh = ft_test_shared(sizeof(*sh));
	for (size_t i = 0; i < n; i++) {
		sh->go[i] = ft_event_new();
		cr_assert_not_null(sh->go[i]);
		w[i] = ft_worker_new(NULL, gated, (void *)(uintptr_t)i, flags);
		cr_assert_not_null(w[i]);
		cr_assert_eq(ft_worker_start(w[i]), 0);
	}
}

static void release(size_t i, int code)
{
	__atomic_store_n(&sh->code[i], code, __ATOMIC_RELEASE);
	cr_assert_eq(ft_event_set(sh->go[i]), 0);
}

static void finish_set(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ft_event_set(sh->go[i]);
		cr_assert_eq(ft_worker_join(w[i], FT_TEST_GUARD_S), 0);
		cr_assert_eq(ft_worker_free(w[i]), 0);
		ft_event_free(sh->go[i]);
	}
}

static void expect_ended(const bool *ended, size_t n, size_t only, size_t also)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(ended[i], i == only || i == also,
			     "worker %zu: ended %d", i, ended[i]);
}

Test(worker_wait, first_completed_says_which, .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		bool ended[3];
		start_set(3, ft_test_kinds[k]);
		release(1, 0);
		cr_assert_eq(ft_worker_wait(w, 3, FT_FIRST_COMPLETED,
					    FT_FOREVER, ended), 1);
		expect_ended(ended, 3, 1, 1);
		release(0, 0);
		release(2, 0);
		cr_assert_eq(ft_worker_wait(w, 3, FT_ALL_COMPLETED, FT_FOREVER,
					    ended), 3);
		cr_assert(ended[0] && ended[1] && ended[2]);
		cr_assert_eq(ft_worker_wait(w, 3, FT_FIRST_COMPLETED, 0, NULL),
			     3, "NULL @ended");
		finish_set(3);
	}
}

Test(worker_wait, first_exception, .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		bool ended[3];
		start_set(3, ft_test_kinds[k]);
		release(0, 0);
		cr_assert_eq(ft_worker_join(w[0], FT_TEST_GUARD_S), 0);
		cr_assert_eq(ft_worker_wait(w, 3, FT_FIRST_EXCEPTION, 0, ended),
			     1, "a clean end is not an exception");
		expect_ended(ended, 3, 0, 0);
		release(2, 5);
		cr_assert_eq(ft_worker_wait(w, 3, FT_FIRST_EXCEPTION,
					    FT_FOREVER, ended), 2);
		expect_ended(ended, 3, 0, 2);
		finish_set(3);

		/* Every end clean: it returns when all have ended. */
		start_set(2, ft_test_kinds[k]);
		release(0, 0);
		release(1, 0);
		cr_assert_eq(ft_worker_wait(w, 2, FT_FIRST_EXCEPTION,
					    FT_FOREVER, ended), 2);
		finish_set(2);
	}
}

Test(worker_wait, killed_process_worker_is_an_exception,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	bool ended[2];
	start_set(2, FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_kill(w[1]), 0);
	cr_assert_eq(ft_worker_wait(w, 2, FT_FIRST_EXCEPTION, FT_FOREVER,
				    ended), 1);
	expect_ended(ended, 2, 1, 1);
	int code;
	cr_assert_eq(ft_worker_exitcode(w[1], &code), 0);
	cr_assert_eq(code, -SIGKILL);
	finish_set(2);
}

Test(worker_wait, timeout_is_not_an_error, .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		bool ended[2] = { true, true };
		start_set(2, ft_test_kinds[k]);
		cr_assert_eq(ft_worker_wait(w, 2, FT_FIRST_COMPLETED, 0, ended),
			     0);
		cr_assert(!ended[0] && !ended[1]);
		cr_assert_eq(ft_worker_wait(w, 2, FT_ALL_COMPLETED, -0.5, NULL),
			     0, "a passed deadline just looks");
		double t0 = ft_test_now();
		cr_assert_eq(ft_worker_wait(w, 2, FT_FIRST_COMPLETED, 0.05,
					    ended), 0);
		cr_assert_geq(ft_test_now() - t0, 0.05, "returned early");
		release(0, 0);
		cr_assert_eq(ft_worker_wait(w, 2, FT_ALL_COMPLETED, 0.05,
					    ended), 1, "one of two, then time");
		expect_ended(ended, 2, 0, 0);
		finish_set(2);
	}
}

Test(worker_wait, more_than_128_workers, .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		bool ended[MAX_W];
		start_set(MAX_W, ft_test_kinds[k]);
		cr_assert_eq(ft_worker_wait(w, MAX_W, FT_FIRST_COMPLETED, 0,
					    ended), 0);
		release(137, 3);
		cr_assert_eq(ft_worker_wait(w, MAX_W, FT_FIRST_COMPLETED,
					    FT_FOREVER, ended), 1);
		expect_ended(ended, MAX_W, 137, 137);
		release(3, 0);
		cr_assert_eq(ft_worker_join(w[3], FT_TEST_GUARD_S), 0);
		cr_assert_eq(ft_worker_wait(w, MAX_W, FT_FIRST_EXCEPTION, 0,
					    ended), 2, "3 ended cleanly, 137 with 3");
		for (size_t i = 0; i < MAX_W; i++)
			if (i != 3 && i != 137)
				release(i, 0);
		cr_assert_eq(ft_worker_wait(w, MAX_W, FT_ALL_COMPLETED,
					    FT_FOREVER, ended), MAX_W);
		for (size_t i = 0; i < MAX_W; i++)
			cr_assert(ended[i]);
		finish_set(MAX_W);
	}
}

Test(worker_wait, a_worker_named_twice_counts_twice, .timeout = FT_TEST_TIMEOUT)
{
	start_set(1, 0);
	ft_worker_t *twice[2] = { w[0], w[0] };
	bool ended[2];
	release(0, 0);
	cr_assert_eq(ft_worker_wait(twice, 2, FT_ALL_COMPLETED, FT_FOREVER,
				    ended), 2);
	cr_assert(ended[0] && ended[1]);
	finish_set(1);
}

/* A sleeping waiter is woken by an end: the watcher waits on workers
 * 0..@n-1 (made by main) from a worker of its own, asleep before main
 * releases the one that ends. */
static size_t watched_n;

static int watcher(void *arg)
{
	int mode = (int)(uintptr_t)arg;
	bool ended[MAX_W];
	__atomic_store_n(&sh->waiting, 1, __ATOMIC_RELEASE);
	int r = ft_worker_wait(w, watched_n, mode, FT_TEST_GUARD_S, ended);
	sh->watcher_ended[0] = ended[0];
	sh->watcher_ended[1] = ended[watched_n - 1];
	sh->watcher_saw = r;
	__atomic_store_n(&sh->returned, 1, __ATOMIC_RELEASE);
	return 0;
}

static void woken_while_asleep(size_t n, size_t kinds)
{
	for (size_t k = 0; k < kinds; k++)
		for (size_t j = 0; j < FT_TEST_NKINDS; j++) {
			watched_n = n;
			start_set(n, ft_test_kinds[k]);
			ft_worker_t *v = ft_worker_new(
				NULL, watcher,
				(void *)(uintptr_t)FT_FIRST_COMPLETED,
				ft_test_kinds[j]);
			cr_assert_eq(ft_worker_start(v), 0);
			cr_assert(ft_test_await_int(&sh->waiting, 1));
			ft_test_await_blocked(v, &sh->returned);
			cr_assert_eq(__atomic_load_n(&sh->returned,
						     __ATOMIC_ACQUIRE), 0,
				     "returned before any end");
			double t0 = ft_test_now();
			release(n - 1, 0);
			cr_assert_eq(ft_worker_join(v, FT_TEST_GUARD_S), 0);
			/* The wait sleeps in 1 s slices (to notice a thread
			 * killed alone), which would hide a lost wake-up as a
			 * late return: a wake takes microseconds. */
			cr_assert_lt(ft_test_now() - t0, 0.5,
				     "woken by the slice's end, not the end");
			cr_assert_eq(sh->watcher_saw, 1, "set of %zu, kinds %u/%u",
				     n, ft_test_kinds[k], ft_test_kinds[j]);
			cr_assert(!sh->watcher_ended[0]);
			cr_assert(sh->watcher_ended[1]);
			ft_worker_free(v);
			finish_set(n);
		}
}

Test(worker_wait, woken_while_asleep_small_set, .timeout = FT_TEST_TIMEOUT)
{
	woken_while_asleep(4, FT_TEST_NKINDS);
}

Test(worker_wait, woken_while_asleep_large_set, .timeout = FT_TEST_TIMEOUT)
{
	/* The workers of the backend's kind (150 of each is slow), the
	 * watcher of each. */
	woken_while_asleep(MAX_W, 1);
}

Test(worker_wait, bad_input, .timeout = FT_TEST_TIMEOUT)
{
	start_set(1, 0);
	bool ended = true;
	cr_assert_eq(ft_worker_wait(w, 1, 0, 0, &ended), -EINVAL);
	cr_assert_eq(ft_worker_wait(w, 1, 4, 0, &ended), -EINVAL);
	cr_assert_eq(ft_worker_wait(w, 1, FT_ALL_COMPLETED, NAN, &ended),
		     -EINVAL);
	cr_assert_eq(ft_worker_wait(NULL, 1, FT_ALL_COMPLETED, 0, &ended),
		     -EINVAL);
	cr_assert_eq(ft_worker_wait(NULL, 0, FT_ALL_COMPLETED, FT_FOREVER,
				    NULL), 0, "an empty set");
	ft_worker_t *unstarted = ft_worker_new(NULL, gated, NULL, 0);
	cr_assert_not_null(unstarted);
	ft_worker_t *pair[2] = { w[0], unstarted };
	cr_assert_eq(ft_worker_wait(pair, 2, FT_FIRST_COMPLETED, 0, &ended),
		     -EINVAL, "a worker never started");
	ft_worker_t *null_in_set[2] = { w[0], NULL };
	cr_assert_eq(ft_worker_wait(null_in_set, 2, FT_FIRST_COMPLETED, 0,
				    NULL), -EINVAL);
	cr_assert(ended, "@ended untouched on error");
	cr_assert_eq(ft_worker_free(unstarted), 0);
	finish_set(1);
}
