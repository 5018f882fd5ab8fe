/* The supervisor: reaping children nobody in the creator joins, and
 * forking for threads other than a process's main thread. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "helpers.h"

struct shared {
	uint32_t release;    /* the test lets workers finish */
	int32_t child_pid;
	int32_t joined_rc;
	int32_t joined_code;
	int32_t survivor_seen;
};

static struct shared *sh;
static ft_worker_t *target_worker;

static void wait_for_release(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&sh->release, __ATOMIC_ACQUIRE))
		usleep(1000);
	_exit(3);
}

static void join_other(void *arg)
{
	(void)arg;
	int code = -1;
	sh->joined_rc = ft_worker_join(target_worker, 30.0);
	if (sh->joined_rc == 0)
		ft_worker_exitcode(target_worker, &code);
	sh->joined_code = code;
}

Test(supervisor, non_creator_join_sees_exit_code, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	sh = ft_test_shared(sizeof(*sh));
	target_worker = ft_worker_new("target", wait_for_release, NULL,
				      FT_WORKER_PROCESS);
	ft_worker_t *joiner = ft_worker_new("joiner", join_other, NULL,
					    FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_start(target_worker), 0);
	cr_assert_eq(ft_worker_start(joiner), 0);
	/* The joiner is not the target's creator: only our supervisor can
	 * reap the target and publish its exit code to it. */
	__atomic_store_n(&sh->release, 1, __ATOMIC_RELEASE);
	cr_assert_eq(ft_worker_join(joiner, FT_FOREVER), 0);
	cr_assert_eq(sh->joined_rc, 0);
	cr_assert_eq(sh->joined_code, 3);
	cr_assert_eq(ft_worker_join(target_worker, FT_FOREVER), 0);
}

Test(supervisor, unjoined_dead_child_is_reaped, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	sh = ft_test_shared(sizeof(*sh));
	ft_worker_t *w = ft_worker_new("doomed", wait_for_release, NULL,
				       FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_start(w), 0);
	pid_t pid = (pid_t)ft_worker_ident(w);
	cr_assert_gt(pid, 0);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	/* A timed join waits for the supervisor's DONE; it does not reap. */
	cr_assert_eq(ft_worker_join(w, 30.0), 0);
	int code = 0;
	cr_assert_eq(ft_worker_exitcode(w, &code), 0);
	cr_assert_eq(code, -SIGKILL);
	cr_assert_eq(kill(pid, 0), -1, "reaped, not a zombie");
	cr_assert_eq(errno, ESRCH);
}

static void report_and_wait(void *arg)
{
	(void)arg;
	sh->child_pid = getpid();
	while (!__atomic_load_n(&sh->release, __ATOMIC_ACQUIRE))
		usleep(1000);
	sh->survivor_seen = 1;
}

static ft_worker_t *grandchild;

static void start_process_and_return(void *arg)
{
	(void)arg;
	grandchild = ft_worker_new("outliver", report_and_wait, NULL,
				   FT_WORKER_PROCESS);
	ft_worker_start(grandchild);
}

Test(supervisor, process_started_by_thread_outlives_the_thread,
     .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	ft_worker_t *t = ft_worker_new("starter", start_process_and_return, NULL,
				       FT_WORKER_THREAD);
	cr_assert_eq(ft_worker_start(t), 0);
	cr_assert_eq(ft_worker_join(t, FT_FOREVER), 0);
	/* The thread that asked for the child has ended; the child must not
	 * have been killed with it. */
	cr_assert_not_null(grandchild);
	cr_assert_eq(ft_worker_is_alive(grandchild), 1);
	__atomic_store_n(&sh->release, 1, __ATOMIC_RELEASE);
	cr_assert_eq(ft_worker_join(grandchild, FT_FOREVER), 0);
	int code = -1;
	cr_assert_eq(ft_worker_exitcode(grandchild, &code), 0);
	cr_assert_eq(code, 0);
	cr_assert_eq(sh->survivor_seen, 1);
}

static void block_signals_then_start(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	grandchild = ft_worker_new("masked", report_and_wait, NULL,
				   FT_WORKER_PROCESS);
	ft_worker_start(grandchild);
}

Test(supervisor, delegated_child_keeps_the_requesters_signal_mask,
     .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	ft_worker_t *t = ft_worker_new("starter", block_signals_then_start, NULL,
				       FT_WORKER_THREAD);
	cr_assert_eq(ft_worker_start(t), 0);
	cr_assert_eq(ft_worker_join(t, FT_FOREVER), 0);
	/* SIGUSR2 was blocked by the requester: it stays pending, harmless.
	 * SIGTERM was not: it kills the child (the supervisor blocks all
	 * signals, so a child with its mask would survive). */
	pid_t pid = (pid_t)ft_worker_ident(grandchild);
	cr_assert_eq(kill(pid, SIGUSR2), 0);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert_eq(ft_worker_join(grandchild, 20.0), 0, "SIGTERM was blocked");
	int code = 0;
	cr_assert_eq(ft_worker_exitcode(grandchild, &code), 0);
	cr_assert_eq(code, -SIGTERM);
}
