/* RLock: owner and depth, re-entrance, release by non-owners, owner death
 * (killed, or ended holding it), bad handles. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static const unsigned kinds[] = { FT_WORKER_THREAD, FT_WORKER_PROCESS };

struct shared {
	int about;      /* a worker is about to make its blocking call */
	int done;       /* ... and that call has returned */
	int rc;         /* what it returned */
	int rc2;        /* the release that followed */
	int rc3;        /* one release too many */
	int locked;     /* ft_rlock_locked as the worker saw it */
	double timeout; /* for the acquirer */
};

static struct shared *sh;
static ft_rlock_t *rl;
static ft_event_t *ev_held, *ev_die;

static void reset_shared(void)
{
	memset(sh, 0, sizeof(*sh));
	sh->rc = sh->rc2 = sh->rc3 = 1;
}

/* Take the RLock with sh->timeout; if taken, release it once, then once
 * more (which must fail). */
static void acquire_then_release(void *arg)
{
	(void)arg;
	__atomic_store_n(&sh->about, 1, __ATOMIC_RELEASE);
	sh->rc = ft_rlock_acquire(rl, sh->timeout);
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
	if (sh->rc == 0 || sh->rc == -EOWNERDEAD) {
		sh->rc2 = ft_rlock_release(rl);
		sh->rc3 = ft_rlock_release(rl);
	}
}

/* What another worker of @kind gets from acquire(@timeout). */
static int probe(unsigned kind, double timeout)
{
	reset_shared();
	sh->timeout = timeout;
	ft_test_join(ft_test_start(acquire_then_release, kind));
	if (sh->rc == 0 || sh->rc == -EOWNERDEAD) {
		cr_assert_eq(sh->rc2, 0);
		cr_assert_eq(sh->rc3, -EPERM);
	}
	return sh->rc;
}

Test(rlock, reentrant_until_released_as_often_as_taken,
     .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	rl = ft_rlock_new();
	cr_assert_not_null(rl);
	cr_assert_eq(ft_rlock_locked(rl), 0);
	cr_assert_eq(ft_rlock_acquire(rl, FT_FOREVER), 0);
	cr_assert_eq(ft_rlock_acquire(rl, 0), 0, "re-entrant try");
	cr_assert_eq(ft_rlock_acquire(rl, 0.05), 0, "re-entrant timed");
	cr_assert_eq(ft_rlock_locked(rl), 1);
	for (size_t k = 0; k < 2; k++) {
		cr_assert_eq(probe(kinds[k], 0), -EAGAIN, "kind %zu", k);
		double t0 = ft_test_now();
		cr_assert_eq(probe(kinds[k], 0.05), -ETIMEDOUT, "kind %zu", k);
		cr_assert_geq(ft_test_now() - t0, 0.05);
	}
	for (int level = 2; level >= 0; level--) {
		cr_assert_eq(ft_rlock_release(rl), 0, "level %d", level);
		cr_assert_eq(ft_rlock_locked(rl), level > 0, "level %d", level);
		for (size_t k = 0; k < 2; k++)
			cr_assert_eq(probe(kinds[k], 0), level > 0 ? -EAGAIN : 0,
				     "level %d, kind %zu", level, k);
	}
	cr_assert_eq(ft_rlock_release(rl), -EPERM, "released once too often");
	cr_assert_eq(ft_rlock_locked(rl), 0);
	cr_assert_eq(ft_rlock_acquire(rl, 0), 0);
	cr_assert_eq(ft_rlock_release(rl), 0);
	cr_assert_eq(ft_rlock_free(rl), 0);
}

static void release_foreign(void *arg)
{
	(void)arg;
	sh->locked = ft_rlock_locked(rl);
	sh->rc = ft_rlock_release(rl);
	sh->rc2 = ft_rlock_release(rl);
}

Test(rlock, release_by_non_owner_or_unheld_is_eperm, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	rl = ft_rlock_new();
	cr_assert_eq(ft_rlock_release(rl), -EPERM, "unheld");
	for (size_t k = 0; k < 2; k++) {
		reset_shared();
		ft_test_join(ft_test_start(release_foreign, kinds[k]));
		cr_assert_eq(sh->rc, -EPERM, "kind %zu: unheld", k);
	}
	cr_assert_eq(ft_rlock_acquire(rl, 0), 0);
	cr_assert_eq(ft_rlock_acquire(rl, 0), 0);
	for (size_t k = 0; k < 2; k++) {
		reset_shared();
		ft_test_join(ft_test_start(release_foreign, kinds[k]));
		cr_assert_eq(sh->locked, 1, "kind %zu", k);
		cr_assert_eq(sh->rc, -EPERM, "kind %zu: not the owner", k);
		cr_assert_eq(sh->rc2, -EPERM, "kind %zu: not the owner", k);
		cr_assert_eq(ft_rlock_locked(rl), 1);
	}
	cr_assert_eq(ft_rlock_release(rl), 0, "the owner's depth is intact");
	cr_assert_eq(ft_rlock_release(rl), 0);
	cr_assert_eq(ft_rlock_release(rl), -EPERM);
}

Test(rlock, waiter_gets_it_after_the_last_release, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	rl = ft_rlock_new();
	ft_event_t *never = ft_event_new();
	for (size_t k = 0; k < 2; k++) {
		reset_shared();
		sh->timeout = FT_FOREVER;
		cr_assert_eq(ft_rlock_acquire(rl, 0), 0);
		cr_assert_eq(ft_rlock_acquire(rl, 0), 0);
		ft_worker_t *w = ft_test_start(acquire_then_release, kinds[k]);
		cr_assert(ft_test_spin_until(&sh->about));
		ft_test_await_blocked(w, &sh->done);
		cr_assert_eq(__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE), 0, "kind %zu: took an owned RLock", k);
		cr_assert_eq(ft_rlock_release(rl), 0);
		/* One level is left: the waiter must stay asleep. */
		cr_assert_eq(ft_event_wait(never, 0.05), -ETIMEDOUT);
		cr_assert_eq(__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE), 0, "kind %zu: took it at depth 1", k);
		cr_assert_eq(ft_rlock_release(rl), 0);
		ft_test_join(w);
		cr_assert_eq(sh->rc, 0);
		cr_assert_eq(sh->rc2, 0);
		cr_assert_eq(sh->rc3, -EPERM);
		cr_assert_eq(ft_rlock_locked(rl), 0);
	}
}

/* Owner ends holding the RLock at depth 2: killed, or returning. */
static void hold(void *arg)
{
	bool kill_me = *(const bool *)arg;
	if (ft_rlock_acquire(rl, 10.0) != 0 || ft_rlock_acquire(rl, 0) != 0)
		_exit(1);
	ft_event_set(ev_held);
	if (ev_die)
		ft_event_wait(ev_die, 30.0);
	if (kill_me)
		raise(SIGKILL);
}

static bool killed = true, returned = false;

static void assert_ended(ft_worker_t *w, bool was_killed)
{
	int code = 1;
	cr_assert_eq(ft_worker_join(w, 30.0), 0);
	cr_assert_eq(ft_worker_exitcode(w, &code), 0);
	cr_assert_eq(code, was_killed ? -SIGKILL : 0);
	ft_worker_free(w);
}

/* After -EOWNERDEAD the caller holds it once: one release, not two. */
static void assert_taken_over(void)
{
	cr_assert_eq(ft_rlock_locked(rl), 1);
	cr_assert_eq(ft_rlock_release(rl), 0);
	cr_assert_eq(ft_rlock_release(rl), -EPERM, "depth restarts at 1");
	cr_assert_eq(ft_rlock_acquire(rl, 0), 0, "reported once");
	cr_assert_eq(ft_rlock_release(rl), 0);
}

static void next_acquirer(unsigned kind, bool *how)
{
	rl = ft_rlock_new();
	ev_held = ft_event_new();
	ev_die = NULL;
	ft_worker_t *w = ft_worker_new(NULL, hold, how, kind);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_event_wait(ev_held, 30.0), 0);
	assert_ended(w, *how);
	cr_assert_eq(ft_rlock_acquire(rl, 0), -EOWNERDEAD);
	assert_taken_over();
}

static void sleeping_waiter(unsigned kind, bool *how)
{
	reset_shared();
	sh->timeout = FT_FOREVER;
	rl = ft_rlock_new();
	ev_held = ft_event_new();
	ev_die = ft_event_new();
	ft_worker_t *w = ft_worker_new(NULL, hold, how, kind);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_event_wait(ev_held, 30.0), 0);
	ft_worker_t *waiter = ft_test_start(acquire_then_release, 0);
	cr_assert(ft_test_spin_until(&sh->about));
	ft_test_await_blocked(waiter, &sh->done);
	cr_assert_eq(__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE), 0, "took an owned RLock");
	cr_assert_eq(ft_event_set(ev_die), 0);
	assert_ended(w, *how);
	ft_test_join(waiter);
	cr_assert_eq(sh->rc, -EOWNERDEAD);
	cr_assert_eq(sh->rc2, 0);
	cr_assert_eq(sh->rc3, -EPERM, "depth restarts at 1");
	cr_assert_eq(ft_rlock_acquire(rl, 0), 0);
	cr_assert_eq(ft_rlock_release(rl), 0);
}

Test(rlock, killed_owner_next_acquirer_gets_ownerdead,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	next_acquirer(FT_WORKER_PROCESS, &killed);
}

Test(rlock, killed_owner_wakes_sleeping_waiter, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	sh = ft_test_shared(sizeof(*sh));
	sleeping_waiter(FT_WORKER_PROCESS, &killed);
}

Test(rlock, killed_owner_unjoined_timed_acquirer_gets_ownerdead,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	rl = ft_rlock_new();
	ev_held = ft_event_new();
	ev_die = NULL;
	ft_worker_t *w = ft_worker_new(NULL, hold, &killed, FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_event_wait(ev_held, 30.0), 0);
	cr_assert_eq(ft_rlock_acquire(rl, 30.0), -EOWNERDEAD);
	assert_taken_over();
	assert_ended(w, true);
}

Test(rlock, returning_owner_next_acquirer_gets_ownerdead,
     .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < 2; k++)
		next_acquirer(kinds[k], &returned);
}

Test(rlock, returning_owner_wakes_sleeping_waiter, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	for (size_t k = 0; k < 2; k++)
		sleeping_waiter(kinds[k], &returned);
}

Test(rlock, bad_handles, .timeout = FT_TEST_TIMEOUT)
{
	int local = 0;
	ft_lock_t *l = ft_lock_new();
	ft_semaphore_t *s = ft_semaphore_new(1);
	ft_rlock_t *freed = ft_rlock_new();
	cr_assert_eq(ft_rlock_free(freed), 0);

	cr_assert_eq(ft_rlock_acquire(NULL, 0), -EINVAL);
	cr_assert_eq(ft_rlock_acquire(NULL, FT_FOREVER), -EINVAL);
	cr_assert_eq(ft_rlock_release(NULL), -EINVAL);
	cr_assert_eq(ft_rlock_locked(NULL), -EINVAL);
	cr_assert_eq(ft_rlock_free(NULL), -EINVAL);

	ft_rlock_t *bad[] = { freed, (ft_rlock_t *)&local, (ft_rlock_t *)l,
			      (ft_rlock_t *)s };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(ft_rlock_acquire(bad[i], 0), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_rlock_acquire(bad[i], FT_FOREVER), -EBADF);
		cr_assert_eq(ft_rlock_release(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_rlock_locked(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_rlock_free(bad[i]), -EBADF, "bad[%zu]", i);
	}
	cr_assert_eq(local, 0);
	cr_assert_eq(ft_lock_locked(l), 0, "the Lock is untouched");
	cr_assert_eq(ft_semaphore_value(s), 1, "the Semaphore is untouched");
}
