/* SPDX-License-Identifier: MIT */
/*
 * ft_wait (concurrent.futures.wait) and ft_as_completed over futures of an
 * executor: each mode, the done[] array, a timeout that runs out (not an
 * error), a waiter asleep woken by a finish (from a thread or a process
 * other than the executor's creator), sets of more than 128 futures,
 * as_completed's order, deadline and end, and bad input.  Each task waits
 * on an Event of its own and returns the code given with it, so the test
 * decides which futures are done and how.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "helpers.h"

#define MAX_F 150

struct shared {
	int started;
	int waiting;     /* the waiter is about to wait */
	int returned;    /* ... and its call has returned */
	int saw;         /* what it returned */
	bool saw_done[MAX_F];
};
static struct shared *sh;

struct job {
	int code;
	ft_event_t *gate;
};

static int task(const void *in, void *out)
{
	const struct job *j = in;
	__atomic_fetch_add(&sh->started, 1, __ATOMIC_ACQ_REL);
	if (j->gate && ft_event_wait(j->gate, FT_TEST_GUARD_S) != 0)
		return -ENOLINK; /* never opened: a code no test expects */
	int v = 1;
	memcpy(out, &v, sizeof(v));
	return j->code;
}

static ft_executor_t *ex;
static ft_future_t *fs[MAX_F];
static ft_event_t *gate[MAX_F];

/* An executor of @workers and @n futures, each gated by an event of its
 * own, future i returning @code(i). */
static void start_set(int workers, size_t n, const int *codes)
{
	sh = ft_test_shared(sizeof(*sh));
	ex = ft_executor_new(workers, NULL);
	cr_assert_not_null(ex, "errno %d", errno);
	for (size_t i = 0; i < n; i++) {
		gate[i] = ft_event_new();
		cr_assert_not_null(gate[i]);
		struct job j = { codes ? codes[i] : 0, gate[i] };
		fs[i] = ft_executor_submit(ex, task, &j, sizeof(j), sizeof(int));
		cr_assert_not_null(fs[i], "submit %zu: errno %d", i, errno);
	}
}

/* Open gate @i and wait for its future (whatever its code). */
static void finish(size_t i)
{
	cr_assert_eq(ft_event_set(gate[i]), 0);
	int rc = ft_future_result(fs[i], NULL, FT_TEST_GUARD_S);
	cr_assert_neq(rc, -ETIMEDOUT, "future %zu never finished", i);
	cr_assert_neq(rc, -ENOLINK);
}

static void end_set(size_t n)
{
	for (size_t i = 0; i < n; i++)
		ft_event_set(gate[i]);
	cr_assert_eq(ft_executor_free(ex), 0);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(ft_future_free(fs[i]), 0);
		ft_event_free(gate[i]);
	}
}

static void expect_done(const bool *done, size_t n, size_t a, size_t b)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(done[i], i == a || i == b, "future %zu: done %d", i,
			     done[i]);
}

#define NONE ((size_t)-1)

Test(future_wait, first_completed_says_which, .timeout = FT_TEST_TIMEOUT)
{
	bool done[3];
	start_set(3, 3, NULL);
	cr_assert(ft_test_await_int(&sh->started, 3));
	cr_assert_eq(ft_wait(fs, 3, FT_FIRST_COMPLETED, 0, done), 0,
		     "timeout 0 just looks");
	expect_done(done, 3, NONE, NONE);
	cr_assert_eq(ft_event_set(gate[1]), 0);
	cr_assert_eq(ft_wait(fs, 3, FT_FIRST_COMPLETED, FT_FOREVER, done), 1);
	expect_done(done, 3, 1, 1);
	finish(0);
	finish(2);
	cr_assert_eq(ft_wait(fs, 3, FT_ALL_COMPLETED, FT_FOREVER, done), 3);
	cr_assert(done[0] && done[1] && done[2]);
	cr_assert_eq(ft_wait(fs, 3, FT_FIRST_COMPLETED, 0, NULL), 3,
		     "NULL @done");
	end_set(3);
}

Test(future_wait, all_completed_waits_for_all, .timeout = FT_TEST_TIMEOUT)
{
	bool done[4];
	start_set(4, 4, NULL);
	finish(2);
	cr_assert_eq(ft_wait(fs, 4, FT_ALL_COMPLETED, 0, done), 1);
	expect_done(done, 4, 2, 2);
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(ft_event_set(gate[i]), 0);
	cr_assert_eq(ft_wait(fs, 4, FT_ALL_COMPLETED, FT_FOREVER, done), 4);
	for (size_t i = 0; i < 4; i++)
		cr_assert(done[i]);
	end_set(4);
}

Test(future_wait, first_exception, .timeout = FT_TEST_TIMEOUT)
{
	bool done[3];
	int codes[3] = { 0, 0, -5 };
	start_set(3, 3, codes);
	finish(0);
	cr_assert_eq(ft_wait(fs, 3, FT_FIRST_EXCEPTION, 0, done), 1,
		     "a clean end is not an exception");
	expect_done(done, 3, 0, 0);
	cr_assert_eq(ft_event_set(gate[2]), 0);
	cr_assert_eq(ft_wait(fs, 3, FT_FIRST_EXCEPTION, FT_FOREVER, done), 2);
	expect_done(done, 3, 0, 2);
	cr_assert_eq(ft_future_result(fs[2], NULL, 0), -5);
	end_set(3);

	/* Every end clean: it returns when all are done. */
	start_set(2, 2, NULL);
	cr_assert_eq(ft_event_set(gate[0]), 0);
	cr_assert_eq(ft_event_set(gate[1]), 0);
	cr_assert_eq(ft_wait(fs, 2, FT_FIRST_EXCEPTION, FT_FOREVER, done), 2);
	cr_assert(done[0] && done[1]);
	end_set(2);
}

/* A cancelled future counts as an exception. */
Test(future_wait, first_exception_on_a_cancelled_future,
     .timeout = FT_TEST_TIMEOUT)
{
	bool done[3];
	/* One worker: future 0 runs, 1 and 2 wait behind it. */
	start_set(1, 3, NULL);
	cr_assert(ft_test_await_int(&sh->started, 1));
	cr_assert_eq(ft_wait(fs, 3, FT_FIRST_EXCEPTION, 0, done), 0);
	cr_assert_eq(ft_future_cancel(fs[2], false), 1);
	cr_assert_eq(ft_wait(fs, 3, FT_FIRST_EXCEPTION, FT_FOREVER, done), 1);
	expect_done(done, 3, 2, 2);
	end_set(3);
}

Test(future_wait, timeout_is_not_an_error, .timeout = FT_TEST_TIMEOUT)
{
	bool done[2] = { true, true };
	start_set(2, 2, NULL);
	cr_assert_eq(ft_wait(fs, 2, FT_FIRST_COMPLETED, 0, done), 0);
	cr_assert(!done[0] && !done[1]);
	cr_assert_eq(ft_wait(fs, 2, FT_ALL_COMPLETED, -0.5, NULL), 0,
		     "a passed deadline just looks");
	double t0 = ft_test_now();
	cr_assert_eq(ft_wait(fs, 2, FT_FIRST_COMPLETED, 0.05, done), 0);
	cr_assert_geq(ft_test_now() - t0, 0.05, "returned early");
	finish(0);
	t0 = ft_test_now();
	cr_assert_eq(ft_wait(fs, 2, FT_ALL_COMPLETED, 0.05, done), 1,
		     "one of two, then time");
	cr_assert_geq(ft_test_now() - t0, 0.05, "returned early");
	expect_done(done, 2, 0, 0);
	cr_assert_eq(ft_wait(fs, 2, FT_FIRST_EXCEPTION, 0.05, done), 1);
	end_set(2);
}

Test(future_wait, a_future_named_twice_counts_twice, .timeout = FT_TEST_TIMEOUT)
{
	start_set(1, 1, NULL);
	ft_future_t *twice[2] = { fs[0], fs[0] };
	bool done[2];
	cr_assert_eq(ft_wait(twice, 2, FT_ALL_COMPLETED, 0, done), 0);
	finish(0);
	cr_assert_eq(ft_wait(twice, 2, FT_ALL_COMPLETED, FT_FOREVER, done), 2);
	cr_assert(done[0] && done[1]);
	end_set(1);
}

/* Over 128: 150 futures on 2 workers, 137 and 3 submitted first (so they
 * run), the rest behind them. */
Test(future_wait, more_than_128_futures, .timeout = FT_TEST_TIMEOUT)
{
	static bool done[MAX_F];
	sh = ft_test_shared(sizeof(*sh));
	ex = ft_executor_new(2, NULL);
	cr_assert_not_null(ex);
	size_t order[MAX_F];
	size_t m = 0;
	order[m++] = 137;
	order[m++] = 3;
	for (size_t i = 0; i < MAX_F; i++)
		if (i != 137 && i != 3)
			order[m++] = i;
	for (size_t k = 0; k < MAX_F; k++) {
		size_t i = order[k];
		gate[i] = ft_event_new();
		cr_assert_not_null(gate[i]);
		struct job j = { i == 3 ? -7 : 0, gate[i] };
		fs[i] = ft_executor_submit(ex, task, &j, sizeof(j), sizeof(int));
		cr_assert_not_null(fs[i]);
	}
	cr_assert_eq(ft_wait(fs, MAX_F, FT_FIRST_COMPLETED, 0, done), 0);
	cr_assert_eq(ft_event_set(gate[137]), 0);
	cr_assert_eq(ft_wait(fs, MAX_F, FT_FIRST_COMPLETED, FT_FOREVER, done),
		     1);
	expect_done(done, MAX_F, 137, 137);
	cr_assert_eq(ft_wait(fs, MAX_F, FT_FIRST_EXCEPTION, 0, done), 1,
		     "137 ended cleanly");
	cr_assert_eq(ft_event_set(gate[3]), 0);
	cr_assert_eq(ft_wait(fs, MAX_F, FT_FIRST_EXCEPTION, FT_FOREVER, done),
		     2);
	expect_done(done, MAX_F, 3, 137);
	cr_assert_eq(ft_wait(fs, MAX_F, FT_ALL_COMPLETED, 0.01, done), 2);
	for (size_t i = 0; i < MAX_F; i++)
		cr_assert_eq(ft_event_set(gate[i]), 0);
	cr_assert_eq(ft_wait(fs, MAX_F, FT_ALL_COMPLETED, FT_FOREVER, done),
		     MAX_F);
	for (size_t i = 0; i < MAX_F; i++)
		cr_assert(done[i], "future %zu", i);
	end_set(MAX_F);
}

/* -------------------------------------------------- woken while asleep */

static size_t watched_n;

static int waiter(void *arg)
{
	int mode = (int)(uintptr_t)arg;
	static bool done[MAX_F];
	__atomic_store_n(&sh->waiting, 1, __ATOMIC_RELEASE);
	int r = ft_wait(fs, watched_n, mode, FT_TEST_GUARD_S, done);
	memcpy(sh->saw_done, done, sizeof(done));
	sh->saw = r;
	__atomic_store_n(&sh->returned, 1, __ATOMIC_RELEASE);
	return 0;
}

/* @n futures (the last two running on 2 workers, the rest pending behind
 * them); a waiter of each kind sleeps in ft_wait(FIRST_COMPLETED) before
 * the test opens the last one's gate. */
static void woken_while_asleep(size_t n)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		sh = ft_test_shared(sizeof(*sh));
		ex = ft_executor_new(2, NULL);
		cr_assert_not_null(ex);
		for (size_t m = 0; m < n; m++) {
			size_t i = n - 1 - m; /* the last ones run first */
			gate[i] = ft_event_new();
			cr_assert_not_null(gate[i]);
			struct job j = { 0, gate[i] };
			fs[i] = ft_executor_submit(ex, task, &j, sizeof(j),
						   sizeof(int));
			cr_assert_not_null(fs[i]);
		}
		cr_assert(ft_test_await_int(&sh->started, 2));
		watched_n = n;
		ft_worker_t *v = ft_test_started(ft_worker_new(
			NULL, waiter, (void *)(uintptr_t)FT_FIRST_COMPLETED,
			ft_test_kinds[k]));
		cr_assert(ft_test_await_int(&sh->waiting, 1));
		ft_test_await_blocked(v, &sh->returned);
		cr_assert_eq(__atomic_load_n(&sh->returned, __ATOMIC_ACQUIRE),
			     0, "returned before any finish");
		double t0 = ft_test_now();
		cr_assert_eq(ft_event_set(gate[n - 1]), 0);
		cr_assert_eq(ft_worker_join(v, FT_TEST_GUARD_S), 0);
		/* A wake takes microseconds; a lost one would show as a
		 * return at a later time slice or at the guard. */
		cr_assert_lt(ft_test_now() - t0, 0.5,
			     "not woken by the finish (set of %zu, kind %u)",
			     n, ft_test_kinds[k]);
		cr_assert_eq(sh->saw, 1, "set of %zu, kind %u: %d", n,
			     ft_test_kinds[k], sh->saw);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(sh->saw_done[i], i == n - 1,
				     "future %zu", i);
		ft_worker_free(v);
		end_set(n);
	}
}

Test(future_wait, woken_while_asleep_small_set, .timeout = FT_TEST_TIMEOUT)
{
	woken_while_asleep(4);
}

Test(future_wait, woken_while_asleep_large_set, .timeout = FT_TEST_TIMEOUT)
{
	woken_while_asleep(MAX_F);
}

/* ------------------------------------------------------- as_completed */

Test(future_wait, as_completed_done_first_then_in_finishing_order,
     .timeout = FT_TEST_TIMEOUT)
{
	bool seen[4];
	start_set(4, 4, NULL);
	finish(2);
	ft_as_completed_t it;
	cr_assert_eq(ft_as_completed_init(&it, fs, 4, seen, FT_FOREVER), 0);
	cr_assert_eq(ft_as_completed(&it), 2, "the one done at init first");
	static const size_t then[3] = { 0, 3, 1 };
	for (size_t k = 0; k < 3; k++) {
		cr_assert_eq(ft_event_set(gate[then[k]]), 0);
		int i = ft_as_completed(&it);
		cr_assert_eq(i, (int)then[k], "step %zu: got %d", k, i);
		cr_assert_eq(ft_future_done(fs[i]), 1);
	}
	cr_assert_eq(ft_as_completed(&it), -ENODATA);
	cr_assert_eq(ft_as_completed(&it), -ENODATA, "and stays so");
	end_set(4);
}

Test(future_wait, as_completed_yields_each_once, .timeout = FT_TEST_TIMEOUT)
{
	bool seen[8];
	int count[8] = { 0 };
	start_set(3, 8, NULL);
	for (size_t i = 0; i < 8; i++)
		cr_assert_eq(ft_event_set(gate[i]), 0);
	/* Some are done at init, some not yet. */
	ft_as_completed_t it;
	cr_assert_eq(ft_as_completed_init(&it, fs, 8, seen, FT_FOREVER), 0);
	int i;
	while ((i = ft_as_completed(&it)) >= 0) {
		cr_assert_lt(i, 8);
		cr_assert_eq(ft_future_done(fs[i]), 1, "future %d not done", i);
		count[i]++;
	}
	cr_assert_eq(i, -ENODATA);
	for (size_t k = 0; k < 8; k++)
		cr_assert_eq(count[k], 1, "future %zu yielded %d times", k,
			     count[k]);
	end_set(8);
}

Test(future_wait, as_completed_deadline, .timeout = FT_TEST_TIMEOUT)
{
	bool seen[4];
	int count[4] = { 0 };
	start_set(4, 4, NULL);
	finish(1);
	finish(3);
	ft_as_completed_t it;
	double t0 = ft_test_now();
	cr_assert_eq(ft_as_completed_init(&it, fs, 4, seen, 0.05), 0);
	for (int k = 0; k < 2; k++) {
		int i = ft_as_completed(&it);
		cr_assert(i == 1 || i == 3, "step %d: got %d", k, i);
		count[i]++;
	}
	cr_assert_eq(ft_as_completed(&it), -ETIMEDOUT);
	cr_assert_geq(ft_test_now() - t0, 0.05, "returned early");
	cr_assert_eq(ft_as_completed(&it), -ETIMEDOUT, "nothing more done");
	/* Later calls still yield what is done by then. */
	finish(0);
	finish(2);
	for (int k = 0; k < 2; k++) {
		int i = ft_as_completed(&it);
		cr_assert(i == 0 || i == 2, "step %d: got %d", k, i);
		count[i]++;
	}
	cr_assert_eq(ft_as_completed(&it), -ENODATA);
	for (size_t k = 0; k < 4; k++)
		cr_assert_eq(count[k], 1);

	/* A zero timeout just looks. */
	cr_assert_eq(ft_as_completed_init(&it, fs, 4, seen, 0), 0);
	for (int k = 0; k < 4; k++)
		cr_assert_geq(ft_as_completed(&it), 0);
	cr_assert_eq(ft_as_completed(&it), -ENODATA);
	end_set(4);
}

Test(future_wait, as_completed_of_nothing, .timeout = FT_TEST_TIMEOUT)
{
	ft_as_completed_t it;
	cr_assert_eq(ft_as_completed_init(&it, NULL, 0, NULL, FT_FOREVER), 0);
	cr_assert_eq(ft_as_completed(&it), -ENODATA);
}

/* ----------------------------------------------------------- bad input */

Test(future_wait, bad_input, .timeout = FT_TEST_TIMEOUT)
{
	start_set(1, 1, NULL);
	bool done = true;
	cr_assert_eq(ft_wait(fs, 1, 0, 0, &done), -EINVAL);
	cr_assert_eq(ft_wait(fs, 1, 4, 0, &done), -EINVAL);
	cr_assert_eq(ft_wait(fs, 1, FT_ALL_COMPLETED, NAN, &done), -EINVAL);
	cr_assert_eq(ft_wait(NULL, 1, FT_ALL_COMPLETED, 0, &done), -EINVAL);
	cr_assert_eq(ft_wait(NULL, 0, FT_ALL_COMPLETED, FT_FOREVER, NULL), 0,
		     "an empty set");
	ft_future_t *null_in_set[2] = { fs[0], NULL };
	cr_assert_eq(ft_wait(null_in_set, 2, FT_FIRST_COMPLETED, 0, &done),
		     -EINVAL);
	ft_future_t *not_f = (ft_future_t *)(void *)gate[0];
	ft_future_t *bad_in_set[2] = { fs[0], not_f };
	cr_assert_eq(ft_wait(bad_in_set, 2, FT_FIRST_COMPLETED, 0, &done),
		     -EBADF);
	cr_assert(done, "@done untouched on error");

	ft_as_completed_t it;
	bool seen[2];
	cr_assert_eq(ft_as_completed_init(NULL, fs, 1, seen, 0), -EINVAL);
	cr_assert_eq(ft_as_completed_init(&it, NULL, 1, seen, 0), -EINVAL);
	cr_assert_eq(ft_as_completed_init(&it, fs, 1, NULL, 0), -EINVAL);
	cr_assert_eq(ft_as_completed_init(&it, fs, 1, seen, NAN), -EINVAL);
	cr_assert_eq(ft_as_completed_init(&it, bad_in_set, 2, seen, 0), -EBADF);
	cr_assert_eq(ft_as_completed(NULL), -EINVAL);
	end_set(1);
}
