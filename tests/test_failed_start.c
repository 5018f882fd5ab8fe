/* A start the system refuses: -EAGAIN, the record as if never started
 * (and startable later), and whoever waited on it meanwhile returns. */
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "helpers.h"

static void nothing(void *arg)
{
	(void)arg;
}

/* In a child of the test: the start of each kind fails for real under
 * RLIMIT_NPROC 0, then succeeds once the limit is lifted.  Returns the
 * child's exit status: 0, 77 when the limit does not bite here (a
 * privileged user), else the number of the check that failed. */
static int start_under_nproc_limit(void)
{
	struct rlimit lim;
	if (getrlimit(RLIMIT_NPROC, &lim) != 0)
		return 1;
	/* Root is not held to RLIMIT_NPROC: become nobody first. */
	if (geteuid() == 0 &&
	    (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
		return 2;
	struct rlimit none = { 0, lim.rlim_max };
	if (setrlimit(RLIMIT_NPROC, &none) != 0)
		return 3;
	pid_t probe = fork();
	if (probe == 0)
		_exit(0);
	if (probe > 0) {
		waitpid(probe, NULL, 0);
		return 77;
	}
	static const unsigned kinds[] = { FT_WORKER_THREAD, FT_WORKER_PROCESS };
	ft_worker_t *w[2];
	for (int k = 0; k < 2; k++) {
		w[k] = ft_worker_new(NULL, nothing, NULL, kinds[k]);
		if (!w[k])
			return 10 + k;
		if (ft_worker_start(w[k]) != -EAGAIN)
			return 20 + k;
		if (ft_worker_is_alive(w[k]) != 0 || ft_worker_ident(w[k]) != 0)
			return 30 + k;
		if (ft_worker_join(w[k], 0) != -EINVAL)
			return 40 + k; /* as if never started */
	}
	if (setrlimit(RLIMIT_NPROC, &lim) != 0)
		return 4;
	for (int k = 0; k < 2; k++) {
		int code = -1;
		if (ft_worker_start(w[k]) != 0)
			return 50 + k;
		if (ft_worker_join(w[k], 30.0) != 0)
			return 60 + k;
		if (ft_worker_exitcode(w[k], &code) != 0 || code != 0)
			return 70 + k;
		ft_worker_free(w[k]);
	}
	return 0;
}

Test(failed_start, rlimit_nproc_gives_eagain_and_the_record_survives,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(start_under_nproc_limit());
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "child status %#x", status);
	if (WEXITSTATUS(status) == 77)
		cr_skip_test("RLIMIT_NPROC does not bind this user");
	cr_assert_eq(WEXITSTATUS(status), 0, "check %d failed",
		     WEXITSTATUS(status));
}

#if !defined(__SANITIZE_THREAD__)
/*
 * The window between a start's RUNNING and its failure is a few system
 * calls long.  To put waiters in it for certain, this program's own
 * pthread_create and fork (which the library's calls reach first) fail
 * while @fail_start is set, and only once the waiters sleep.
 */
struct window {
	int fail_start;   /* the next start fails */
	int in_start;     /* a start is inside the window */
	int joiner_tid, ident_tid;
	int join_rc;
	long ident;
};
static struct window *win;

static bool waiter_asleep(const int *tid)
{
	double end = ft_test_now() + FT_TEST_GUARD_S;
	while (ft_test_now() < end) {
		int t = __atomic_load_n(tid, __ATOMIC_ACQUIRE);
		if (t && ft_test_in_wait_syscall(t) == 1)
			return true;
		ft_test_nap();
	}
	return false;
}

/* True if this call is the start that must fail, once the waiters sleep. */
static bool fail_this_start(void)
{
	int one = 1;
	if (!win || !__atomic_compare_exchange_n(&win->fail_start, &one, 0,
						 false, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
		return false;
	__atomic_store_n(&win->in_start, 1, __ATOMIC_RELEASE);
	(void)waiter_asleep(&win->joiner_tid);
	(void)waiter_asleep(&win->ident_tid);
	return true;
}

int pthread_create(pthread_t *t, const pthread_attr_t *a,
		   void *(*fn)(void *), void *arg)
{
	static int (*real)(pthread_t *, const pthread_attr_t *,
			   void *(*)(void *), void *);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
	if (fail_this_start())
		return EAGAIN;
	return real(t, a, fn, arg);
}

pid_t fork(void)
{
	static pid_t (*real)(void);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "fork");
	if (fail_this_start()) {
		errno = EAGAIN;
		return -1;
	}
	return real();
}

static ft_worker_t *target;

static void *joiner(void *arg)
{
	(void)arg;
	__atomic_store_n(&win->joiner_tid, (int)gettid(), __ATOMIC_RELEASE);
	while (!__atomic_load_n(&win->in_start, __ATOMIC_ACQUIRE))
		ft_test_nap();
	win->join_rc = ft_worker_join(target, FT_FOREVER);
	return NULL;
}

static void *ident_waiter(void *arg)
{
	(void)arg;
	__atomic_store_n(&win->ident_tid, (int)gettid(), __ATOMIC_RELEASE);
	while (!__atomic_load_n(&win->in_start, __ATOMIC_ACQUIRE))
		ft_test_nap();
	win->ident = ft_worker_ident(target);
	return NULL;
}

Test(failed_start, waiters_inside_a_failing_start_return,
     .timeout = FT_TEST_TIMEOUT)
{
	static const unsigned kinds[] = { FT_WORKER_THREAD, FT_WORKER_PROCESS };
	win = ft_test_shared(sizeof(*win));
	for (int k = 0; k < 2; k++) {
		if (kinds[k] == FT_WORKER_PROCESS) {
			ft_test_needs_processes();
		}
		memset(win, 0, sizeof(*win));
		win->join_rc = win->ident = 12345;
		target = ft_worker_new(NULL, nothing, NULL, kinds[k]);
		cr_assert_not_null(target);
		pthread_t j, i;
		cr_assert_eq(pthread_create(&j, NULL, joiner, NULL), 0);
		cr_assert_eq(pthread_create(&i, NULL, ident_waiter, NULL), 0);
		__atomic_store_n(&win->fail_start, 1, __ATOMIC_RELEASE);
		cr_assert_eq(ft_worker_start(target), -EAGAIN, "kind %d", k);
		cr_assert_eq(pthread_join(j, NULL), 0);
		cr_assert_eq(pthread_join(i, NULL), 0);
		cr_assert_eq(win->join_rc, -EINVAL, "kind %d: join gave %d", k,
			     win->join_rc);
		cr_assert_eq(win->ident, 0, "kind %d: ident gave %ld", k,
			     win->ident);
		/* And it starts for real afterwards. */
		cr_assert_eq(ft_worker_start(target), 0);
		ft_test_join(target);
	}
}
#endif
