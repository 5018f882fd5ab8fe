/* SPDX-License-Identifier: MIT */
/*
 * The exit path: a fatal exit (non-zero status) does not wait for a
 * blocked non-daemon worker, and terminates its process workers (SIGTERM,
 * then SIGKILL for one that ignores it); an exit with status 0 joins them
 * for at most the configured exit timeout; bad exit timeouts and bad
 * environment values are refused, and the variable is named on stderr.
 * Each program under test is a child of fork(): its status is the result.
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

struct shared {
	int started;
	int termed;     /* a process worker's SIGTERM handler ran */
	long pid;       /* its pid */
};
static struct shared *S;

static void on_term(int sig)
{
	(void)sig;
	__atomic_store_n(&S->termed, 1, __ATOMIC_RELEASE);
	_exit(0);
}

#define IS_PROCESS 1
#define HANDLES_TERM 2

/* Blocks for good; a process one (IS_PROCESS) records its pid and
 * handles SIGTERM (HANDLES_TERM) or ignores it. */
static int block(void *arg)
{
	uintptr_t how = (uintptr_t)arg;
	if (how & IS_PROCESS) {
		signal(SIGTERM, (how & HANDLES_TERM) ? on_term : SIG_IGN);
		__atomic_store_n(&S->pid, (long)getpid(), __ATOMIC_RELEASE);
	}
	__atomic_fetch_add(&S->started, 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
	return 0;
}

/* The program: a blocked thread worker and a blocked process worker,
 * both non-daemon, then exit(@status). */
static _Noreturn void program(int status, bool handle_term, double timeout)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct ft_config cfg = { .exit_timeout = timeout };
	if (ft_init(&cfg) != 0)
		_exit(100);
	ft_worker_t *t = ft_worker_new(NULL, block, NULL, FT_WORKER_THREAD);
	uintptr_t how = IS_PROCESS | (handle_term ? HANDLES_TERM : 0);
	ft_worker_t *p = ft_worker_new(NULL, block, (void *)how,
				       FT_WORKER_PROCESS);
	if (!t || !p || ft_worker_start(t) || ft_worker_start(p))
		_exit(101);
	if (!ft_test_await_int(&S->started, 2))
		_exit(102);
	exit(status);
}

/* Run program() in a child; its exit status, or -1 if it hung past the
 * deadlock guard (then it is killed). */
static int run(int status, bool handle_term, double timeout)
{
	memset(S, 0, sizeof(*S));
	fflush(NULL);
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0)
		program(status, handle_term, timeout);
	int st = 0;
	pid_t r;
	double end = ft_test_now() + FT_TEST_GUARD_S;
	while ((r = waitpid(c, &st, WNOHANG)) == 0 && ft_test_now() < end)
		ft_test_nap();
	if (r == 0) {
		kill(c, SIGKILL);
		waitpid(c, &st, 0);
		return -1;
	}
	cr_assert(WIFEXITED(st), "status %#x", st);
	return WEXITSTATUS(st);
}

static void expect_worker_gone(void)
{
	pid_t w = (pid_t)S->pid;
	cr_assert_gt(w, 0);
	cr_assert(kill(w, 0) < 0 && errno == ESRCH,
		  "process worker %d outlived the exit", w);
}

Test(exit_path, fatal_exit_terminates_and_does_not_hang,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	S = ft_test_shared(sizeof(*S));
	cr_assert_eq(run(1, true, 0), 1, "exit(1) hung or failed");
	cr_assert_eq(S->termed, 1, "the process worker got no SIGTERM");
	expect_worker_gone();
}

Test(exit_path, fatal_exit_kills_a_worker_that_ignores_sigterm,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	S = ft_test_shared(sizeof(*S));
	cr_assert_eq(run(3, false, 0), 3, "exit(3) hung or failed");
	cr_assert_eq(S->termed, 0);
	expect_worker_gone();
}

Test(exit_path, clean_exit_waits_at_most_the_exit_timeout,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	S = ft_test_shared(sizeof(*S));
	cr_assert_eq(run(0, true, 0.2), 0, "exit(0) hung past its timeout");
	cr_assert_eq(S->termed, 1, "terminated once the timeout passed");
	expect_worker_gone();
}

Test(exit_path, bad_exit_timeouts, .timeout = FT_TEST_TIMEOUT)
{
	struct ft_config cfg = { .exit_timeout = NAN };
	cr_assert_eq(ft_init(&cfg), -EINVAL);
	cfg.exit_timeout = -0.5;
	cr_assert_eq(ft_init(&cfg), -EINVAL);
	cfg.exit_timeout = FT_FOREVER;
	cr_assert_eq(ft_init(&cfg), 0, "a bad config is the caller's to retry");
}

/* A child with @name=@value in its environment makes two calls; what it
 * printed on stderr comes back in @err. */
static void bad_env(const char *name, const char *value, char *err, size_t cap)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	fflush(NULL);
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0) {
		dup2(pfd[1], 2);
		setenv(name, value, 1);
		int a = ft_lock_new() ? 0 : errno;
		int b = ft_event_new() ? 0 : errno;
		_exit(a == EINVAL && b == EINVAL ? 0 : 1);
	}
	close(pfd[1]);
	size_t n = 0;
	ssize_t r;
	while (n < cap - 1 && (r = read(pfd[0], err + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	err[n] = '\0';
	close(pfd[0]);
	int st;
	cr_assert_eq(waitpid(c, &st, 0), c);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "%s=%s: calls did not fail with EINVAL", name, value);
}

Test(exit_path, bad_environment_is_named_once, .timeout = FT_TEST_TIMEOUT)
{
	static const char *const cases[][2] = {
		{ "FREETHREADING_BACKEND", "thread" },
		{ "FREETHREADING_WAIT", "poll" },
		{ "FREETHREADING_ARENA_SIZE", "12Q" },
		{ "FREETHREADING_EXIT_TIMEOUT", "soon" },
		{ "FREETHREADING_EXIT_TIMEOUT", "-3" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[1024];
		bad_env(cases[i][0], cases[i][1], err, sizeof(err));
		char want[128];
		snprintf(want, sizeof(want), "%s=\"%s\"", cases[i][0],
			 cases[i][1]);
		const char *at = strstr(err, want);
		cr_assert_not_null(at, "stderr does not name %s: '%s'", want,
				   err);
		cr_assert_null(strstr(at + 1, want), "named twice: '%s'", err);
	}
}
