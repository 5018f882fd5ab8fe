/* Event: set/clear/is_set, wait's codes, set waking every waiter, an
 * event made by a process worker, bad handles. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define WAITERS 3

struct shared {
	int about[WAITERS];
	int done[WAITERS];
	int rc[WAITERS];
	double timeout;
	ft_event_t *made;   /* published by a process worker */
	int made_rc;
};

static struct shared *sh;
static ft_event_t *ev, *ev_pub;

Test(event, set_clear_is_set_and_wait_codes, .timeout = FT_TEST_TIMEOUT)
{
	ft_event_t *e = ft_event_new();
	cr_assert_not_null(e);
	cr_assert_eq(ft_event_is_set(e), 0, "initially clear");
	cr_assert_eq(ft_event_wait(e, 0), -EAGAIN);
	double t0 = ft_test_now();
	cr_assert_eq(ft_event_wait(e, 0.05), -ETIMEDOUT);
	cr_assert_geq(ft_test_now() - t0, 0.05);
	cr_assert_eq(ft_event_clear(e), 0, "clearing a clear event");
	cr_assert_eq(ft_event_is_set(e), 0);
	cr_assert_eq(ft_event_set(e), 0);
	cr_assert_eq(ft_event_is_set(e), 1);
	cr_assert_eq(ft_event_wait(e, 0), 0);
	cr_assert_eq(ft_event_wait(e, 0.05), 0);
	cr_assert_eq(ft_event_wait(e, FT_FOREVER), 0);
	cr_assert_eq(ft_event_wait(e, 1e12), 0);
	cr_assert_eq(ft_event_set(e), 0, "setting a set event");
	cr_assert_eq(ft_event_is_set(e), 1);
	cr_assert_eq(ft_event_clear(e), 0);
	cr_assert_eq(ft_event_is_set(e), 0);
	cr_assert_eq(ft_event_wait(e, 0), -EAGAIN);
	cr_assert_eq(ft_event_wait(e, 0.01), -ETIMEDOUT);
	cr_assert_eq(ft_event_free(e), 0);
}

static void waiter(void *arg)
{
	int i = (int)(intptr_t)arg;
	__atomic_store_n(&sh->about[i], 1, __ATOMIC_RELEASE);
	sh->rc[i] = ft_event_wait(ev, sh->timeout);
	__atomic_store_n(&sh->done[i], 1, __ATOMIC_RELEASE);
}

static void start_waiters(ft_worker_t **w, unsigned flags)
{
	for (int i = 0; i < WAITERS; i++) {
		sh->rc[i] = 1;
		w[i] = ft_worker_new(NULL, waiter, (void *)(intptr_t)i, flags);
		cr_assert_eq(ft_worker_start(w[i]), 0);
	}
	for (int i = 0; i < WAITERS; i++) {
		cr_assert(ft_test_spin_until(&sh->about[i]));
		ft_test_await_blocked(w[i], &sh->done[i]);
		cr_assert_eq(__atomic_load_n(&sh->done[i], __ATOMIC_ACQUIRE), 0, "waiter %d passed a clear event", i);
	}
}

Test(event, set_wakes_every_waiter, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	static const double timeouts[] = { FT_FOREVER, 30.0 };
	static const unsigned kinds[] = { 0, FT_WORKER_THREAD, FT_WORKER_PROCESS };

	sh = ft_test_shared(sizeof(*sh));
	for (size_t k = 0; k < 3; k++) {
		for (size_t t = 0; t < 2; t++) {
			memset(sh, 0, sizeof(*sh));
			sh->timeout = timeouts[t];
			ev = ft_event_new();
			ft_worker_t *w[WAITERS];
			start_waiters(w, kinds[k]);
			cr_assert_eq(ft_event_set(ev), 0);
			for (int i = 0; i < WAITERS; i++) {
				ft_test_join(w[i]);
				cr_assert_eq(sh->rc[i], 0, "kind %zu waiter %d: %d", k,
					     i, sh->rc[i]);
			}
			cr_assert_eq(ft_event_is_set(ev), 1);
			cr_assert_eq(ft_event_free(ev), 0);
		}
	}
}

Test(event, set_then_clear_still_wakes_sleepers, .timeout = FT_TEST_TIMEOUT)
{
	/* As CPython: a waiter that slept through a set() returns true even
	 * if the event was cleared before it ran again. */
	sh = ft_test_shared(sizeof(*sh));
	sh->timeout = 30.0;
	ev = ft_event_new();
	ft_worker_t *w[WAITERS];
	start_waiters(w, 0);
	cr_assert_eq(ft_event_set(ev), 0);
	cr_assert_eq(ft_event_clear(ev), 0);
	for (int i = 0; i < WAITERS; i++) {
		ft_test_join(w[i]);
		cr_assert_eq(sh->rc[i], 0, "waiter %d: %d", i, sh->rc[i]);
	}
	cr_assert_eq(ft_event_is_set(ev), 0);
	cr_assert_eq(ft_event_wait(ev, 0), -EAGAIN);
}

static void timed_waiter(void *arg)
{
	(void)arg;
	double t0 = ft_test_now();
	sh->rc[0] = ft_event_wait(ev, 0.05);
	sh->timeout = ft_test_now() - t0;
	sh->rc[1] = ft_event_wait(ev, 0);
	sh->rc[2] = ft_event_is_set(ev);
}

static void setter(void *arg)
{
	(void)arg;
	sh->rc[0] = ft_event_set(ev);
}

static void clearer(void *arg)
{
	(void)arg;
	sh->rc[0] = ft_event_clear(ev);
}

Test(event, between_workers, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	static const unsigned kinds[] = { FT_WORKER_THREAD, FT_WORKER_PROCESS };

	sh = ft_test_shared(sizeof(*sh));
	ev = ft_event_new();
	for (size_t k = 0; k < 2; k++) {
		ft_test_join(ft_test_start(timed_waiter, kinds[k]));
		cr_assert_eq(sh->rc[0], -ETIMEDOUT);
		cr_assert_geq(sh->timeout, 0.05);
		cr_assert_eq(sh->rc[1], -EAGAIN);
		cr_assert_eq(sh->rc[2], 0);
		ft_test_join(ft_test_start(setter, kinds[k]));
		cr_assert_eq(sh->rc[0], 0);
		cr_assert_eq(ft_event_is_set(ev), 1, "kind %zu: set by a worker", k);
		ft_test_join(ft_test_start(timed_waiter, kinds[1 - k]));
		cr_assert_eq(sh->rc[0], 0);
		cr_assert_eq(sh->rc[1], 0);
		cr_assert_eq(sh->rc[2], 1);
		ft_test_join(ft_test_start(clearer, kinds[k]));
		cr_assert_eq(sh->rc[0], 0);
		cr_assert_eq(ft_event_is_set(ev), 0, "kind %zu: cleared by a worker", k);
	}
}

/* Makes an Event once its sibling runs, waits on it, and reports. */
static void creator(void *arg)
{
	(void)arg;
	ft_event_t *e = ft_event_new();
	if (!e)
		_exit(1);
	sh->made = e;
	ft_event_set(ev_pub);
	sh->made_rc = ft_event_wait(e, 30.0);
}

static void sibling(void *arg)
{
	(void)arg;
	if (ft_event_wait(ev_pub, 30.0) != 0)
		return;
	__atomic_store_n(&sh->about[0], 1, __ATOMIC_RELEASE);
	sh->rc[0] = ft_event_wait(sh->made, 30.0);
	__atomic_store_n(&sh->done[0], 1, __ATOMIC_RELEASE);
}

Test(event, made_by_a_process_worker_after_others_started,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	sh = ft_test_shared(sizeof(*sh));
	ev_pub = ft_event_new();
	sh->rc[0] = sh->made_rc = 1;
	ft_worker_t *sib = ft_test_start(sibling, FT_WORKER_PROCESS);
	ft_worker_t *cre = ft_test_start(creator, FT_WORKER_PROCESS);
	cr_assert_eq(ft_event_wait(ev_pub, 30.0), 0);
	ft_event_t *e = sh->made;
	cr_assert_not_null(e);
	cr_assert_eq(ft_event_is_set(e), 0);
	cr_assert_eq(ft_event_wait(e, 0), -EAGAIN);
	cr_assert(ft_test_spin_until(&sh->about[0]));
	ft_test_await_blocked(sib, &sh->done[0]);
	cr_assert_eq(__atomic_load_n(&sh->done[0], __ATOMIC_ACQUIRE), 0, "the sibling passed a clear event");
	cr_assert_eq(ft_event_set(e), 0);
	ft_test_join(cre);
	ft_test_join(sib);
	cr_assert_eq(sh->made_rc, 0);
	cr_assert_eq(sh->rc[0], 0);
	cr_assert_eq(ft_event_is_set(e), 1);
	cr_assert_eq(ft_event_free(e), 0);
}

Test(event, bad_handles, .timeout = FT_TEST_TIMEOUT)
{
	int local = 0;
	ft_lock_t *l = ft_lock_new();
	ft_condition_t *c = ft_condition_new(NULL);
	ft_event_t *freed = ft_event_new();
	cr_assert_eq(ft_event_set(freed), 0);
	cr_assert_eq(ft_event_free(freed), 0);

	cr_assert_eq(ft_event_set(NULL), -EINVAL);
	cr_assert_eq(ft_event_clear(NULL), -EINVAL);
	cr_assert_eq(ft_event_is_set(NULL), -EINVAL);
	cr_assert_eq(ft_event_wait(NULL, 0), -EINVAL);
	cr_assert_eq(ft_event_wait(NULL, FT_FOREVER), -EINVAL);
	cr_assert_eq(ft_event_free(NULL), -EINVAL);

	ft_event_t *bad[] = { freed, (ft_event_t *)&local, (ft_event_t *)l,
			      (ft_event_t *)c };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(ft_event_set(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_event_clear(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_event_is_set(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_event_wait(bad[i], 0), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_event_wait(bad[i], FT_FOREVER), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_event_free(bad[i]), -EBADF, "bad[%zu]", i);
	}
	cr_assert_eq(local, 0);
	cr_assert_eq(ft_lock_locked(l), 0, "the Lock is untouched");
	cr_assert_eq(ft_condition_acquire(c, 0), 0, "the Condition works");
	cr_assert_eq(ft_condition_release(c), 0);
}
