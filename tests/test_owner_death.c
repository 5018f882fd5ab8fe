/* SPDX-License-Identifier: MIT */
/*
 * A dead holder is found even when no worker of ours was reaped
 * (src/lockword/owner.h, 3): a child of the program's own fork() that
 * dies holding a Lock or an RLock, and a thread killed alone by a seccomp
 * filter (SECCOMP_RET_KILL_THREAD) while holding one.  The waiter gets
 * -EOWNERDEAD within about FT__OWNER_CHECK_NS (one second), not never.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

struct held {
	ft_lock_t *lock;
	ft_rlock_t *rlock;
	bool use_rlock;
	int holding;
};

static int take(struct held *h)
{
	return h->use_rlock ? ft_rlock_acquire(h->rlock, FT_FOREVER)
			    : ft_lock_acquire(h->lock, FT_FOREVER);
}

static int take_within(struct held *h, double s)
{
	return h->use_rlock ? ft_rlock_acquire(h->rlock, s)
			    : ft_lock_acquire(h->lock, s);
}

static struct held *new_held(bool use_rlock)
{
	struct held *h = ft_test_shared(sizeof(*h));
	h->use_rlock = use_rlock;
	h->lock = ft_lock_new();
	h->rlock = ft_rlock_new();
	cr_assert(h->lock && h->rlock);
	return h;
}

/* The program's own fork(): no worker record, no reaper of ours. */
static void own_child_dies_holding(bool use_rlock)
{
	struct held *h = new_held(use_rlock);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (take(h) == 0)
			__atomic_store_n(&h->holding, 1, __ATOMIC_RELEASE);
		raise(SIGKILL);
		_exit(1);
	}
	cr_assert(ft_test_await_int(&h->holding, 1), "the child took nothing");
	/* Not reaped: a zombie has ended all the same. */
	double t0 = ft_test_now();
	cr_assert_eq(take_within(h, FT_TEST_GUARD_S), -EOWNERDEAD);
	double took = ft_test_now() - t0;
	cr_assert_lt(took, FT_TEST_GUARD_S / 2, "found after %.1f s", took);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSIGNALED(st));
}

Test(owner_death, own_fork_child_dies_holding_lock, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	own_child_dies_holding(false);
}

Test(owner_death, own_fork_child_dies_holding_rlock, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	own_child_dies_holding(true);
}

/* Install, for the calling thread only, a filter that kills the thread
 * (not the process) on getppid(). */
static int kill_me_on_getppid(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_THREAD),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
		return -errno;
	return 0;
}

static void killed_alone(void *arg)
{
	struct held *h = arg;
	if (kill_me_on_getppid() != 0 || take(h) != 0) {
		__atomic_store_n(&h->holding, -1, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&h->holding, 1, __ATOMIC_RELEASE);
	syscall(SYS_getppid); /* the end of this thread, and only it */
	__atomic_store_n(&h->holding, -2, __ATOMIC_RELEASE);
}

static void thread_killed_alone_holding(bool use_rlock)
{
	struct held *h = new_held(use_rlock);
	/* Not a daemon: the exit-time join must not wait for it either. */
	ft_worker_t *w = ft_worker_new("victim", killed_alone, h,
				       FT_WORKER_THREAD);
	cr_assert_not_null(w);
	cr_assert_eq(ft_worker_start(w), 0);
	double end = ft_test_now() + FT_TEST_GUARD_S;
	while (__atomic_load_n(&h->holding, __ATOMIC_ACQUIRE) == 0 &&
	       ft_test_now() < end)
		ft_test_nap();
	cr_assert_eq(h->holding, 1, "the victim took nothing (%d)", h->holding);
	double t0 = ft_test_now();
	cr_assert_eq(take_within(h, FT_TEST_GUARD_S), -EOWNERDEAD);
	double took = ft_test_now() - t0;
	cr_assert_lt(took, FT_TEST_GUARD_S / 2, "found after %.1f s", took);
	cr_assert_eq(h->holding, 1, "the victim ran on");
	/* Its record: nothing of it ran to finish it; the join finds it
	 * gone. */
	cr_assert_eq(ft_worker_join(w, FT_TEST_GUARD_S), 0);
	int code = 0;
	cr_assert_eq(ft_worker_exitcode(w, &code), 0);
	cr_assert_eq(code, FT_EXITCODE_UNKNOWN);
	cr_assert_eq(ft_worker_is_alive(w), 0);
	cr_assert_eq(ft_worker_free(w), 0);
}

Test(owner_death, thread_killed_alone_holding_lock, .timeout = FT_TEST_TIMEOUT)
{
	thread_killed_alone_holding(false);
}

Test(owner_death, thread_killed_alone_holding_rlock, .timeout = FT_TEST_TIMEOUT)
{
	thread_killed_alone_holding(true);
}
