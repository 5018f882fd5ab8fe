/* SPDX-License-Identifier: MIT */
/*
 * A future outlives the process that created its executor: that process
 * is killed while one task runs and another waits in the queue.  Its
 * workers die with it (PDEATHSIG) and its manager is gone, so nobody but
 * the repair pass can end the futures: a waiter in another process must
 * get -ESRCH for the running one and -EPIPE for the queued one, not
 * sleep for ever.  Forced process workers: the same under both backends.
 */
#include <signal.h>

#include "helpers.h"

struct shared {
	ft_future_t *running, *queued;
	ft_event_t *started;   /* the first task runs */
	ft_event_t *submitted; /* both are queued */
	ft_event_t *never;
};

static int blocked(const void *in, void *out)
{
	(void)out;
	struct shared *sh = *(struct shared *const *)in;
	ft_event_set(sh->started);
	ft_event_wait(sh->never, FT_FOREVER);
	return 0;
}

static int creator(void *arg)
{
	struct shared *sh = arg;
	struct ft_pool_options o = { .flags = FT_WORKER_PROCESS };
	ft_executor_t *ex = ft_executor_new(1, &o);
	if (!ex)
		return 1;
	sh->running = ft_executor_submit(ex, blocked, &sh, sizeof(sh), 0);
	sh->queued = ft_executor_submit(ex, blocked, &sh, sizeof(sh), 0);
	if (!sh->running || !sh->queued)
		return 2;
	ft_event_set(sh->submitted);
	ft_event_wait(sh->never, FT_FOREVER);
	return 0;
}

Test(future_repair, creator_killed_ends_its_futures, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	struct shared *sh = ft_shared_alloc(sizeof(*sh));
	cr_assert_not_null(sh);
	sh->started = ft_event_new();
	sh->submitted = ft_event_new();
	sh->never = ft_event_new();
	cr_assert(sh->started && sh->submitted && sh->never);
	ft_worker_t *w = ft_worker_new(NULL, creator, sh, FT_WORKER_PROCESS);
	cr_assert_not_null(w);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_event_wait(sh->submitted, FT_TEST_GUARD_S), 0);
	cr_assert_eq(ft_event_wait(sh->started, FT_TEST_GUARD_S), 0);
	cr_assert_eq(ft_future_running(sh->running), 1);
	cr_assert_eq(ft_future_done(sh->queued), 0);

	cr_assert_eq(ft_worker_kill(w), 0);
	cr_assert_eq(ft_worker_join(w, FT_TEST_GUARD_S), 0);
	cr_assert_eq(ft_future_result(sh->running, NULL, FT_TEST_GUARD_S), -ESRCH);
	cr_assert_eq(ft_future_result(sh->queued, NULL, FT_TEST_GUARD_S), -EPIPE);
	/* The handles are still good here, and free. */
	cr_assert_eq(ft_future_free(sh->running), 0);
	cr_assert_eq(ft_future_free(sh->queued), 0);
	cr_assert_eq(ft_future_free(sh->queued), -EBADF);
	ft_worker_free(w);
}
