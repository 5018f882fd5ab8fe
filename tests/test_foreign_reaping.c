/* Process workers whose status someone else takes: SIGCHLD ignored
 * (inherited across exec or set by the program), SA_NOCLDWAIT, a program
 * that reaps with waitpid(-1) itself.  Joins return, a Lock held by a
 * killed worker is repaired, exit does not hang. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

#include "helpers.h"

enum mode { SIGCHLD_IGNORED, NOCLDWAIT, WAITPID_LOOP };
static const char *const mode_name[] = { "SIGCHLD ignored", "SA_NOCLDWAIT",
					 "waitpid(-1) loop" };

static ft_lock_t *lock;

static void exit_seven(void *arg)
{
	(void)arg;
	_exit(7);
}

static void die_holding_lock(void *arg)
{
	(void)arg;
	if (ft_lock_acquire(lock, FT_FOREVER) == 0)
		kill(getpid(), SIGKILL);
	_exit(1);
}

static void nothing(void *arg)
{
	(void)arg;
}

static void *reap_everything(void *arg)
{
	(void)arg;
	for (;;) {
		if (waitpid(-1, NULL, 0) < 0) {
			struct timespec ts = { 0, 200000 };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* In a child of the test: set @m up, then check.  Exit status 0, or the
 * number of the check that failed. */
static int run_in(enum mode m)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigemptyset(&sa.sa_mask);
	if (m == SIGCHLD_IGNORED)
		sa.sa_handler = SIG_IGN;
	if (m == NOCLDWAIT)
		sa.sa_flags = SA_NOCLDWAIT;
	if (sigaction(SIGCHLD, &sa, NULL) != 0)
		return 1;
	pthread_t t;
	if (m == WAITPID_LOOP && pthread_create(&t, NULL, reap_everything, NULL))
		return 2;

	int code = 0;
	/* A timed join and an untimed one (the creator's own reap). */
	for (int k = 0; k < 2; k++) {
		ft_worker_t *w = ft_worker_new(NULL, exit_seven, NULL,
					       FT_WORKER_PROCESS);
		if (!w || ft_worker_start(w) != 0)
			return 10 + k;
		if (ft_worker_join(w, k ? FT_FOREVER : 20.0) != 0)
			return 20 + k;
		if (ft_worker_exitcode(w, &code) != 0)
			return 30 + k;
		/* The real code where the kernel keeps it for pidfds. */
		if (code != 7 && code != FT_EXITCODE_UNKNOWN)
			return 40 + k;
		if (ft_worker_is_alive(w) != 0)
			return 50 + k;
		ft_worker_free(w);
	}

	/* A killed holder: the lock is repaired. */
	lock = ft_lock_new();
	ft_worker_t *w = ft_worker_new(NULL, die_holding_lock, NULL,
				       FT_WORKER_PROCESS);
	if (!lock || !w || ft_worker_start(w) != 0)
		return 60;
	if (ft_worker_join(w, 20.0) != 0)
		return 61;
	if (ft_worker_exitcode(w, &code) != 0 ||
	    (code != -SIGKILL && code != FT_EXITCODE_UNKNOWN))
		return 62;
	if (ft_lock_acquire(lock, 20.0) != -EOWNERDEAD)
		return 63;
	ft_lock_release(lock);

	/* Ended but never joined: the exit-time join must return. */
	w = ft_worker_new(NULL, nothing, NULL, FT_WORKER_PROCESS);
	if (!w || ft_worker_start(w) != 0)
		return 70;
	exit(0);
}

static void check_mode(enum mode m)
{
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(run_in(m));
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "%s: child status %#x", mode_name[m],
		  status);
	cr_assert_eq(WEXITSTATUS(status), 0, "%s: check %d failed",
		     mode_name[m], WEXITSTATUS(status));
}

Test(foreign_reaping, sigchld_ignored, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	check_mode(SIGCHLD_IGNORED);
}

Test(foreign_reaping, sa_nocldwait, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	check_mode(NOCLDWAIT);
}

Test(foreign_reaping, program_reaps_with_waitpid_any,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	check_mode(WAITPID_LOOP);
}
