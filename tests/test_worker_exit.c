/* SPDX-License-Identifier: MIT */
/*
 * One exit path for both kinds of worker: a target's int return and
 * ft_worker_exit(code) give the same ft_worker_exitcode whether the worker
 * is a thread or a process; plain exit() does what the header says it
 * does in each.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static int return_0(void *arg) { (void)arg; return 0; }
static int return_9(void *arg) { (void)arg; return 9; }
static int return_300(void *arg) { (void)arg; return 300; }
static int return_minus_1(void *arg) { (void)arg; return -1; }
static void returns_nothing(void *arg) { (void)arg; }

/* From below the target: the call does not return.  (Called through a
 * pointer the compiler cannot see into, or it takes the recursion for
 * an endless one.) */
static void (*volatile exit_fn)(int) = ft_worker_exit;

static void deep(int depth, int code)
{
	if (depth == 0)
		exit_fn(code);
	else
		deep(depth - 1, code);
}

static int exit_5_deep(void *arg)
{
	(void)arg;
	deep(8, 5);
	return 99; /* never */
}

static int exit_256(void *arg)
{
	(void)arg;
	ft_worker_exit(256);
}

static void void_exit_6(void *arg)
{
	(void)arg;
	ft_worker_exit(6);
}

static int end_code(ft_worker_t *w)
{
	cr_assert_not_null(w);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_worker_join(w, FT_TEST_GUARD_S), 0);
	int code = 1234;
	cr_assert_eq(ft_worker_exitcode(w, &code), 0);
	cr_assert_eq(ft_worker_free(w), 0);
	return code;
}

Test(worker_exit, same_code_for_both_kinds, .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		unsigned f = ft_test_kinds[k];
		cr_assert_eq(end_code(ft_worker_new(NULL, return_0, NULL, f)), 0);
		cr_assert_eq(end_code(ft_worker_new(NULL, return_9, NULL, f)), 9,
			     "kind %u: return 9", f);
		cr_assert_eq(end_code(ft_worker_new(NULL, return_300, NULL, f)),
			     300 & 0377, "kind %u: taken & 0377, as exit(3)", f);
		cr_assert_eq(end_code(ft_worker_new(NULL, return_minus_1, NULL,
						    f)), 255, "kind %u", f);
		cr_assert_eq(end_code(ft_worker_new(NULL, returns_nothing, NULL,
						    f)), 0, "kind %u: void", f);
		cr_assert_eq(end_code(ft_worker_new_void(NULL, returns_nothing,
							 NULL, f)), 0);
		cr_assert_eq(end_code(ft_worker_new(NULL, exit_5_deep, NULL, f)),
			     5, "kind %u: ft_worker_exit from below", f);
		cr_assert_eq(end_code(ft_worker_new(NULL, exit_256, NULL, f)), 0,
			     "kind %u: 256 & 0377", f);
		cr_assert_eq(end_code(ft_worker_new(NULL, void_exit_6, NULL, f)),
			     6, "kind %u: void target, ft_worker_exit", f);
	}
}

/* A worker inside a worker: the inner one's exit ends only itself; the
 * outer returns what it saw plus 10. */
static int exits_7(void *arg)
{
	(void)arg;
	ft_worker_exit(7);
}

static int outer(void *arg)
{
	unsigned inner_kind = (unsigned)(uintptr_t)arg;
	ft_worker_t *w = ft_worker_new(NULL, exits_7, NULL, inner_kind);
	if (!w || ft_worker_start(w) != 0 ||
	    ft_worker_join(w, FT_TEST_GUARD_S) != 0)
		return 100;
	int code;
	if (ft_worker_exitcode(w, &code) != 0)
		return 101;
	ft_worker_free(w);
	return code + 10;
}

Test(worker_exit, ends_only_the_calling_worker, .timeout = FT_TEST_TIMEOUT)
{
	for (size_t i = 0; i < FT_TEST_NKINDS; i++)
		for (size_t j = 0; j < FT_TEST_NKINDS; j++) {
			ft_worker_t *w = ft_worker_new(
				NULL, outer,
				(void *)(uintptr_t)ft_test_kinds[j],
				ft_test_kinds[i]);
			cr_assert_eq(end_code(w), 17, "outer %u, inner %u",
				     ft_test_kinds[i], ft_test_kinds[j]);
		}
}

/* A Lock held at ft_worker_exit is judged as at a return: the next
 * acquirer of a thread's hands-off lock gets it; an RLock's owner ended. */
static int exit_holding(void *arg)
{
	ft_rlock_t *r = arg;
	if (ft_rlock_acquire(r, FT_FOREVER) != 0)
		return 1;
	ft_worker_exit(3);
}

Test(worker_exit, rlock_held_at_exit_is_ownerdead, .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		ft_rlock_t *r = ft_rlock_new();
		cr_assert_not_null(r);
		ft_worker_t *w = ft_worker_new(NULL, exit_holding, r,
					       ft_test_kinds[k]);
		cr_assert_eq(end_code(w), 3);
		cr_assert_eq(ft_rlock_acquire(r, 5.0), -EOWNERDEAD,
			     "kind %u", ft_test_kinds[k]);
		cr_assert_eq(ft_rlock_release(r), 0);
		ft_rlock_free(r);
	}
}

/* What the header says of plain exit() and of ft_worker_exit outside a
 * worker: each checked in a child of fork(), whose status tells. */
static int child_status(void (*body)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		body();
		_exit(120); /* body did not end the program */
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		cr_assert_eq(errno, EINTR);
	cr_assert(WIFEXITED(st), "status %#x", st);
	return WEXITSTATUS(st);
}

static int plain_exit_4(void *arg)
{
	(void)arg;
	exit(4);
}

static void thread_worker_calls_exit(void)
{
	ft_worker_t *w = ft_worker_new(NULL, plain_exit_4, NULL,
				       FT_WORKER_THREAD);
	if (!w || ft_worker_start(w) != 0)
		_exit(121);
	ft_worker_join(w, FT_TEST_GUARD_S);
	_exit(122); /* the program went on */
}

static void process_worker_calls_exit(void)
{
	ft_worker_t *w = ft_worker_new(NULL, plain_exit_4, NULL,
				       FT_WORKER_PROCESS);
	int code = -1;
	if (!w || ft_worker_start(w) != 0 ||
	    ft_worker_join(w, FT_TEST_GUARD_S) != 0 ||
	    ft_worker_exitcode(w, &code) != 0)
		_exit(121);
	_exit(code == 4 ? 0 : 123);
}

static void main_calls_worker_exit(void)
{
	ft_worker_exit(11);
}

static void *foreign(void *arg)
{
	(void)arg;
	ft_worker_exit(12);
}

static void foreign_thread_calls_worker_exit(void)
{
	pthread_t t;
	void *ret = (void *)1;
	if (pthread_create(&t, NULL, foreign, NULL) != 0 ||
	    pthread_join(t, &ret) != 0)
		_exit(121);
	/* Only that thread ended (pthread_exit(NULL)). */
	_exit(ret == NULL ? 13 : 124);
}

Test(worker_exit, plain_exit_and_outside_workers, .timeout = FT_TEST_TIMEOUT)
{
	cr_assert_eq(child_status(thread_worker_calls_exit), 4,
		     "exit() in a thread worker ends the program");
	ft_test_needs_processes();
	cr_assert_eq(child_status(process_worker_calls_exit), 0,
		     "exit() in a process worker ends that worker");
	cr_assert_eq(child_status(main_calls_worker_exit), 11,
		     "ft_worker_exit in the main worker is exit()");
	cr_assert_eq(child_status(foreign_thread_calls_worker_exit), 13,
		     "a thread the library did not start ends alone");
}
