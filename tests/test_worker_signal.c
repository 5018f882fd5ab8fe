/* SPDX-License-Identifier: MIT */
/*
 * ft_worker_terminate and ft_worker_kill: a process worker is stopped
 * through its pidfd and reports the signal; a thread worker is refused
 * (-EOPNOTSUPP) and runs on; bad handles, unstarted and ended workers and
 * callers other than the creator get the documented codes.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

struct shared {
	int ready;
	int handled;
	ft_worker_t *target; /* for the sibling that is not its creator */
	int sibling_rc;
};
static struct shared *sh;

static void setup(void)
{
	sh = ft_test_shared(sizeof(*sh));
}

static int block_forever(void *arg)
{
	(void)arg;
	__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
	return 0; /* not reached */
}

static void on_term(int sig)
{
	(void)sig;
	__atomic_store_n(&sh->handled, 1, __ATOMIC_RELEASE);
	_exit(42);
}

static int block_with_handler(void *arg)
{
	(void)arg;
	signal(SIGTERM, on_term);
	__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
	return 0; /* not reached */
}

static ft_worker_t *start_ready(ft_target_fn fn, void *arg, unsigned flags)
{
	__atomic_store_n(&sh->ready, 0, __ATOMIC_RELAXED);
	ft_worker_t *w = ft_test_started(ft_worker_new(NULL, fn, arg, flags));
	cr_assert(ft_test_await_int(&sh->ready, 1), "worker never started");
	return w;
}

static int code_after_join(ft_worker_t *w)
{
	cr_assert_eq(ft_worker_join(w, FT_TEST_GUARD_S), 0);
	int code = 1234;
	cr_assert_eq(ft_worker_exitcode(w, &code), 0);
	return code;
}

Test(worker_signal, terminate_and_kill_report_the_signal, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	ft_worker_t *w = start_ready(block_forever, NULL, FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_terminate(w), 0);
	cr_assert_eq(code_after_join(w), -SIGTERM);
	cr_assert_eq(ft_worker_terminate(w), 0, "ended: nothing to do");
	cr_assert_eq(ft_worker_kill(w), 0);
	cr_assert_eq(ft_worker_free(w), 0);

	w = start_ready(block_forever, NULL, FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_kill(w), 0);
	cr_assert_eq(code_after_join(w), -SIGKILL);
	cr_assert_eq(ft_worker_free(w), 0);
}

Test(worker_signal, terminate_runs_the_workers_handler, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	ft_worker_t *w = start_ready(block_with_handler, NULL, FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_terminate(w), 0);
	cr_assert_eq(code_after_join(w), 42, "SIGTERM, not SIGKILL");
	cr_assert_eq(__atomic_load_n(&sh->handled, __ATOMIC_ACQUIRE), 1);
	cr_assert_eq(ft_worker_free(w), 0);
}

/* A stopped holder's Lock is recovered as any dead holder's. */
static int hold_lock_forever(void *arg)
{
	ft_lock_t *l = arg;
	if (ft_lock_acquire(l, FT_FOREVER) != 0)
		return 1;
	__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
	return 0; /* not reached */
}

Test(worker_signal, killed_holder_gives_ownerdead, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	ft_lock_t *l = ft_lock_new();
	cr_assert_not_null(l);
	ft_worker_t *w = start_ready(hold_lock_forever, l, FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_kill(w), 0);
	cr_assert_eq(ft_lock_acquire(l, FT_TEST_GUARD_S), -EOWNERDEAD);
	cr_assert_eq(ft_lock_release(l), 0);
	cr_assert_eq(code_after_join(w), -SIGKILL);
	ft_worker_free(w);
	ft_lock_free(l);
}

/* A thread worker is refused and keeps running until told to stop. */
static int wait_for_event(void *arg)
{
	__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
	return ft_event_wait(arg, FT_TEST_GUARD_S) == 0 ? 8 : 1;
}

Test(worker_signal, thread_worker_is_eopnotsupp, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_event_t *stop = ft_event_new();
	cr_assert_not_null(stop);
	ft_worker_t *w = start_ready(wait_for_event, stop, FT_WORKER_THREAD);
	cr_assert_eq(ft_worker_terminate(w), -EOPNOTSUPP);
	cr_assert_eq(ft_worker_kill(w), -EOPNOTSUPP);
	cr_assert_eq(ft_worker_is_alive(w), 1, "refused: it runs on");
	cr_assert_eq(ft_event_set(stop), 0);
	cr_assert_eq(code_after_join(w), 8);
	cr_assert_eq(ft_worker_kill(w), -EOPNOTSUPP, "ended, still a thread");
	ft_worker_free(w);
	ft_event_free(stop);
}

/* Only the process that started a worker holds its pidfd. */
static int sibling(void *arg)
{
	(void)arg;
	sh->sibling_rc = ft_worker_terminate(sh->target);
	return 0;
}

Test(worker_signal, bad_input_and_other_callers, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	cr_assert_eq(ft_worker_terminate(NULL), -EINVAL);
	cr_assert_eq(ft_worker_kill(NULL), -EINVAL);
	int junk[64] = { 0 };
	cr_assert_eq(ft_worker_kill((ft_worker_t *)junk), -EBADF);

	ft_test_needs_processes();
	ft_worker_t *w = ft_worker_new(NULL, block_forever, NULL,
				       FT_WORKER_PROCESS);
	cr_assert_not_null(w);
	cr_assert_eq(ft_worker_terminate(w), -EINVAL, "not started");
	cr_assert_eq(ft_worker_kill(w), -EINVAL, "not started");
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert(ft_test_await_int(&sh->ready, 1));

	sh->target = w;
	sh->sibling_rc = 1;
	ft_worker_t *s = ft_test_start(sibling, FT_WORKER_PROCESS);
	cr_assert_eq(code_after_join(s), 0);
	cr_assert_eq(sh->sibling_rc, -ECHILD);
	cr_assert_eq(ft_worker_is_alive(w), 1);
	ft_worker_free(s);

	cr_assert_eq(ft_worker_kill(w), 0);
	cr_assert_eq(code_after_join(w), -SIGKILL);
	cr_assert_eq(ft_worker_free(w), 0);
	cr_assert_eq(ft_worker_kill(w), -EBADF, "freed handle");
}
