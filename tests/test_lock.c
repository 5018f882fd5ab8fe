/* Lock: acquire/release/locked, hand-offs between workers, owner death,
 * objects made by a process worker, bad handles. */
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
	int about;       /* a worker is about to make its blocking call */
	int done;        /* ... and that call has returned */
	int rc;          /* what it returned */
	int rc2;         /* what a follow-up call returned */
	double timeout;  /* for the acquirer */
	ft_lock_t *made; /* published by a process worker */
	ft_event_t *made_ev;
};

static struct shared *sh;
static ft_lock_t *lk;
static ft_event_t *ev_held, *ev_die, *ev_pub;

static void reset_shared(void)
{
	memset(sh, 0, sizeof(*sh));
}

Test(lock, acquire_release_locked, .timeout = FT_TEST_TIMEOUT)
{
	ft_lock_t *l = ft_lock_new();
	cr_assert_not_null(l);
	cr_assert_eq(ft_lock_locked(l), 0);
	cr_assert_eq(ft_lock_acquire(l, FT_FOREVER), 0);
	cr_assert_eq(ft_lock_locked(l), 1);
	cr_assert_eq(ft_lock_acquire(l, 0), -EAGAIN, "try on a held lock");
	double t0 = ft_test_now();
	cr_assert_eq(ft_lock_acquire(l, 0.05), -ETIMEDOUT);
	cr_assert_geq(ft_test_now() - t0, 0.05, "returned before its deadline");
	cr_assert_eq(ft_lock_locked(l), 1);
	cr_assert_eq(ft_lock_release(l), 0);
	cr_assert_eq(ft_lock_locked(l), 0);
	cr_assert_eq(ft_lock_release(l), -EPERM, "release of an unheld lock");
	cr_assert_eq(ft_lock_acquire(l, 0), 0, "try on a free lock");
	cr_assert_eq(ft_lock_release(l), 0);
	cr_assert_eq(ft_lock_acquire(l, 1.5), 0, "timed on a free lock");
	cr_assert_eq(ft_lock_release(l), 0);
	cr_assert_eq(ft_lock_acquire(l, 1e12), 0, "huge timeout = forever");
	cr_assert_eq(ft_lock_release(l), 0);
	cr_assert_eq(ft_lock_free(l), 0);
}

static void acquire_then_release(void *arg)
{
	(void)arg;
	__atomic_store_n(&sh->about, 1, __ATOMIC_RELEASE);
	sh->rc = ft_lock_acquire(lk, sh->timeout);
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
	if (sh->rc == 0 || sh->rc == -EOWNERDEAD)
		sh->rc2 = ft_lock_release(lk);
}

Test(lock, second_acquirer_waits_for_release, .timeout = FT_TEST_TIMEOUT)
{
	/* FT_FOREVER, one too large to represent (forever too), a long
	 * one, a longer one. */
	static const double timeouts[] = { FT_FOREVER, 1e300, 1e10, 30.0 };

	sh = ft_test_shared(sizeof(*sh));
	lk = ft_lock_new();
	for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		reset_shared();
		sh->timeout = timeouts[i];
		sh->rc2 = 1;
		cr_assert_eq(ft_lock_acquire(lk, 0), 0);
		ft_worker_t *w = ft_test_start(acquire_then_release, 0);
		cr_assert(ft_test_spin_until(&sh->about));
		ft_test_await_blocked(w, &sh->done);
		cr_assert_eq(__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE), 0, "timeout %g: acquired a held lock",
			     timeouts[i]);
		cr_assert_eq(ft_lock_release(lk), 0);
		ft_test_join(w);
		cr_assert_eq(sh->rc, 0, "timeout %g: got %d", timeouts[i], sh->rc);
		cr_assert_eq(sh->rc2, 0);
		cr_assert_eq(ft_lock_locked(lk), 0);
	}
}

static void timed_acquire(void *arg)
{
	(void)arg;
	double t0 = ft_test_now();
	sh->rc = ft_lock_acquire(lk, 0.05);
	sh->timeout = ft_test_now() - t0;
	sh->rc2 = ft_lock_acquire(lk, 0);
}

Test(lock, held_by_another_worker_times_out, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	lk = ft_lock_new();
	cr_assert_eq(ft_lock_acquire(lk, 0), 0);
	ft_test_join(ft_test_start(timed_acquire, 0));
	cr_assert_eq(sh->rc, -ETIMEDOUT);
	cr_assert_geq(sh->timeout, 0.05);
	cr_assert_eq(sh->rc2, -EAGAIN);
	cr_assert_eq(ft_lock_release(lk), 0);
}

static void release_it(void *arg)
{
	(void)arg;
	sh->rc = ft_lock_release(lk);
	sh->rc2 = ft_lock_release(lk);
}

Test(lock, any_worker_may_release, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	lk = ft_lock_new();
	for (size_t k = 0; k < 2; k++) {
		reset_shared();
		cr_assert_eq(ft_lock_acquire(lk, 0), 0);
		ft_test_join(ft_test_start(release_it, kinds[k]));
		cr_assert_eq(sh->rc, 0, "kind %zu: release by another worker", k);
		cr_assert_eq(sh->rc2, -EPERM, "kind %zu: then it is unheld", k);
		cr_assert_eq(ft_lock_locked(lk), 0);
		cr_assert_eq(ft_lock_acquire(lk, 0), 0);
		cr_assert_eq(ft_lock_release(lk), 0);
	}
}

static void release_for_waiter(void *arg)
{
	(void)arg;
	sh->rc2 = ft_lock_release(lk);
}

static void acquire_keep(void *arg)
{
	(void)arg;
	__atomic_store_n(&sh->about, 1, __ATOMIC_RELEASE);
	sh->rc = ft_lock_acquire(lk, 30.0);
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
}

Test(lock, release_by_a_third_worker_wakes_a_waiter,
     .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	lk = ft_lock_new();
	for (size_t k = 0; k < 2; k++) {
		reset_shared();
		cr_assert_eq(ft_lock_acquire(lk, 0), 0);
		ft_worker_t *waiter = ft_test_start(acquire_keep, kinds[1 - k]);
		cr_assert(ft_test_spin_until(&sh->about));
		ft_test_await_blocked(waiter, &sh->done);
		cr_assert_eq(__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE), 0);
		ft_test_join(ft_test_start(release_for_waiter, kinds[k]));
		cr_assert_eq(sh->rc2, 0);
		ft_test_join(waiter);
		cr_assert_eq(sh->rc, 0);
		/* The waiter returned holding it: a hand-off, still held. */
		cr_assert_eq(ft_lock_locked(lk), 1);
		cr_assert_eq(ft_lock_release(lk), 0);
	}
}

static void take_and_return(void *arg)
{
	(void)arg;
	sh->rc = ft_lock_acquire(lk, 10.0);
}

Test(lock, worker_returning_holder_hands_it_off, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	lk = ft_lock_new();
	for (size_t k = 0; k < 2; k++) {
		reset_shared();
		ft_test_join(ft_test_start(take_and_return, kinds[k]));
		cr_assert_eq(sh->rc, 0);
		cr_assert_eq(ft_lock_locked(lk), 1, "kind %zu: still held", k);
		cr_assert_eq(ft_lock_acquire(lk, 0), -EAGAIN,
			     "kind %zu: a hand-off is no owner death", k);
		cr_assert_eq(ft_lock_acquire(lk, 0.02), -ETIMEDOUT);
		ft_test_join(ft_test_start(release_it, kinds[1 - k]));
		cr_assert_eq(sh->rc, 0, "kind %zu: another worker releases", k);
		cr_assert_eq(sh->rc2, -EPERM);
		cr_assert_eq(ft_lock_locked(lk), 0);
		cr_assert_eq(ft_lock_acquire(lk, 0), 0, "kind %zu: no EOWNERDEAD", k);
		cr_assert_eq(ft_lock_release(lk), 0);
		cr_assert_eq(ft_lock_acquire(lk, 1.0), 0);
		cr_assert_eq(ft_lock_release(lk), 0);
	}
}

static void hold_then_die(void *arg)
{
	(void)arg;
	if (ft_lock_acquire(lk, 10.0) != 0)
		_exit(1);
	ft_event_set(ev_held);
	if (ev_die)
		ft_event_wait(ev_die, 30.0);
	raise(SIGKILL);
}

static void assert_killed(ft_worker_t *w)
{
	int code = 0;
	cr_assert_eq(ft_worker_join(w, 30.0), 0);
	cr_assert_eq(ft_worker_exitcode(w, &code), 0);
	cr_assert_eq(code, -SIGKILL);
	ft_worker_free(w);
}

Test(lock, killed_holder_next_acquirer_gets_ownerdead,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	lk = ft_lock_new();
	ev_held = ft_event_new();
	ev_die = NULL;
	ft_worker_t *holder = ft_test_start(hold_then_die, FT_WORKER_PROCESS);
	cr_assert_eq(ft_event_wait(ev_held, 30.0), 0);
	assert_killed(holder);
	cr_assert_eq(ft_lock_acquire(lk, 0), -EOWNERDEAD);
	cr_assert_eq(ft_lock_locked(lk), 1, "EOWNERDEAD: the caller holds it");
	cr_assert_eq(ft_lock_acquire(lk, 0), -EAGAIN);
	cr_assert_eq(ft_lock_release(lk), 0);
	cr_assert_eq(ft_lock_acquire(lk, 0), 0, "reported once");
	cr_assert_eq(ft_lock_release(lk), 0);
}

Test(lock, killed_holder_unjoined_timed_acquirer_gets_ownerdead,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	/* Nobody joins: the supervisor must notice the death by itself. */
	lk = ft_lock_new();
	ev_held = ft_event_new();
	ev_die = NULL;
	ft_worker_t *holder = ft_test_start(hold_then_die, FT_WORKER_PROCESS);
	cr_assert_eq(ft_event_wait(ev_held, 30.0), 0);
	cr_assert_eq(ft_lock_acquire(lk, 30.0), -EOWNERDEAD);
	cr_assert_eq(ft_lock_release(lk), 0);
	cr_assert_eq(ft_lock_acquire(lk, 0), 0);
	cr_assert_eq(ft_lock_release(lk), 0);
	assert_killed(holder);
}

Test(lock, killed_holder_wakes_sleeping_waiter, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	sh = ft_test_shared(sizeof(*sh));
	lk = ft_lock_new();
	ev_held = ft_event_new();
	ev_die = ft_event_new();
	sh->timeout = FT_FOREVER;
	sh->rc2 = 1;
	ft_worker_t *holder = ft_test_start(hold_then_die, FT_WORKER_PROCESS);
	cr_assert_eq(ft_event_wait(ev_held, 30.0), 0);
	ft_worker_t *waiter = ft_test_start(acquire_then_release, 0);
	cr_assert(ft_test_spin_until(&sh->about));
	ft_test_await_blocked(waiter, &sh->done);
	cr_assert_eq(__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE), 0, "acquired a held lock");
	cr_assert_eq(ft_event_set(ev_die), 0);
	assert_killed(holder);
	ft_test_join(waiter);
	cr_assert_eq(sh->rc, -EOWNERDEAD);
	cr_assert_eq(sh->rc2, 0, "the waiter held it, and released it");
	cr_assert_eq(ft_lock_acquire(lk, 0), 0);
	cr_assert_eq(ft_lock_release(lk), 0);
}

/* Makes a Lock and an Event once its sibling runs, holds the lock until
 * the event is set. */
static void creator(void *arg)
{
	(void)arg;
	ft_lock_t *l = ft_lock_new();
	ft_event_t *e = ft_event_new();
	if (!l || !e || ft_lock_acquire(l, 0) != 0)
		_exit(1);
	sh->made = l;
	sh->made_ev = e;
	ft_event_set(ev_pub);
	sh->rc = ft_event_wait(e, 30.0);
	sh->rc2 = ft_lock_release(l);
}

static void sibling(void *arg)
{
	(void)arg;
	if (ft_event_wait(ev_pub, 30.0) != 0)
		return;
	__atomic_store_n(&sh->about, 1, __ATOMIC_RELEASE);
	int r = ft_lock_acquire(sh->made, 30.0);
	__atomic_store_n(&sh->done, r == 0 ? 1 : r, __ATOMIC_RELEASE);
	if (r == 0)
		ft_lock_release(sh->made);
}

Test(lock, made_by_a_process_worker_after_others_started,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	sh = ft_test_shared(sizeof(*sh));
	ev_pub = ft_event_new();
	sh->rc = sh->rc2 = 1;
	ft_worker_t *sib = ft_test_start(sibling, FT_WORKER_PROCESS);
	ft_worker_t *cre = ft_test_start(creator, FT_WORKER_PROCESS);
	cr_assert_eq(ft_event_wait(ev_pub, 30.0), 0);
	ft_lock_t *l = sh->made;
	cr_assert_not_null(l);
	cr_assert_eq(ft_lock_locked(l), 1);
	cr_assert_eq(ft_lock_acquire(l, 0), -EAGAIN);
	cr_assert(ft_test_spin_until(&sh->about));
	ft_test_await_blocked(sib, &sh->done);
	cr_assert_eq(__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE), 0, "the sibling took a held lock");
	cr_assert_eq(ft_event_set(sh->made_ev), 0);
	ft_test_join(cre);
	cr_assert_eq(sh->rc, 0);
	cr_assert_eq(sh->rc2, 0);
	ft_test_join(sib);
	cr_assert_eq(sh->done, 1, "the sibling's acquire: %d", sh->done);
	cr_assert_eq(ft_lock_acquire(l, 0), 0);
	cr_assert_eq(ft_lock_release(l), 0);
	cr_assert_eq(ft_lock_free(l), 0);
}

static void timed_acquirer(void *arg)
{
	(void)arg;
	__atomic_store_n(&sh->about, 1, __ATOMIC_RELEASE);
	sh->rc = ft_lock_acquire(lk, 0.3);
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
}

Test(lock, freed_under_a_sleeping_acquirer_keeps_the_arena_sound,
     .timeout = FT_TEST_TIMEOUT)
{
	/* Freeing a lock others use is the caller's bug, but "it cannot
	 * corrupt the arena (their calls get -EBADF)".  Nothing of this size
	 * was freed before in this process, so the free list is empty. */
	sh = ft_test_shared(sizeof(*sh));
	sh->rc = 1;
	lk = ft_lock_new();
	cr_assert_eq(ft_lock_acquire(lk, 0), 0);
	ft_worker_t *w = ft_test_start(timed_acquirer, 0);
	cr_assert(ft_test_spin_until(&sh->about));
	ft_test_await_blocked(w, &sh->done);
	cr_assert_eq(ft_lock_free(lk), 0);
	ft_test_join(w);
	cr_assert(sh->rc == -EBADF || sh->rc == -ETIMEDOUT,
		  "an acquire in flight on a freed lock returned %d", sh->rc);
	ft_lock_t *fresh[4];
	for (int i = 0; i < 4; i++) {
		fresh[i] = ft_lock_new();
		cr_assert_not_null(fresh[i]);
		cr_assert_eq(ft_lock_locked(fresh[i]), 0, "new lock %d", i);
		for (int j = 0; j < i; j++)
			cr_assert_neq(fresh[i], fresh[j]);
	}
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(ft_lock_acquire(fresh[i], 0), 0);
		cr_assert_eq(ft_lock_release(fresh[i]), 0);
	}
}

Test(lock, bad_handles, .timeout = FT_TEST_TIMEOUT)
{
	int local = 0;
	ft_lock_t *stack = (ft_lock_t *)&local;
	ft_rlock_t *rl = ft_rlock_new();
	ft_event_t *e = ft_event_new();
	ft_lock_t *freed = ft_lock_new();
	cr_assert_eq(ft_lock_free(freed), 0);

	cr_assert_eq(ft_lock_acquire(NULL, 0), -EINVAL);
	cr_assert_eq(ft_lock_acquire(NULL, FT_FOREVER), -EINVAL);
	cr_assert_eq(ft_lock_release(NULL), -EINVAL);
	cr_assert_eq(ft_lock_locked(NULL), -EINVAL);
	cr_assert_eq(ft_lock_free(NULL), -EINVAL);

	ft_lock_t *bad[] = { freed, stack, (ft_lock_t *)rl, (ft_lock_t *)e,
			     (ft_lock_t *)((char *)rl + 16) };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(ft_lock_acquire(bad[i], 0), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_lock_acquire(bad[i], FT_FOREVER), -EBADF);
		cr_assert_eq(ft_lock_release(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_lock_locked(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_lock_free(bad[i]), -EBADF, "bad[%zu]", i);
	}
	cr_assert_eq(local, 0, "the stack was not written");
	cr_assert_eq(ft_rlock_locked(rl), 0, "the RLock is untouched");
	cr_assert_eq(ft_rlock_acquire(rl, 0), 0);
	cr_assert_eq(ft_rlock_release(rl), 0);
	cr_assert_eq(ft_event_is_set(e), 0);
}
