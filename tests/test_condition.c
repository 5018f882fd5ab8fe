/* Condition: over a Lock, an RLock or its own RLock; -EPERM without the
 * lock; wait's timeout and retaking the full RLock depth; notify(n)
 * waking at most n; wait_for against one deadline; no lost wake-ups. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static const unsigned kinds[] = { FT_WORKER_THREAD, FT_WORKER_PROCESS };

#define WAITERS 3
#define HANDSHAKES 5000

struct shared {
	int ready;          /* waiters inside wait (under the lock) */
	int woken;          /* waiters back from wait (under the lock) */
	int rc[WAITERS];
	int rel[4];         /* releases after a wait */
	int value;          /* what the predicate returns (under the lock) */
	int waiting;        /* the test body is inside wait_for */
	int stop;           /* the notifier may end */
	int turn;           /* ping-pong: whose turn */
	int count;          /* ping-pong: handshakes done */
	int lost;           /* ping-pong: a waiter timed out on its turn */
	int calls;          /* predicate calls */
	int probe;          /* a probe's result */
};

static struct shared *sh;
static ft_condition_t *cv, *cv_ready;
static ft_rlock_t *rl;

static void probe_acquire(void *arg)
{
	(void)arg;
	sh->probe = ft_condition_acquire(cv, 0);
	if (sh->probe == 0)
		ft_condition_release(cv);
}

/* What another worker gets from ft_condition_acquire(cv, 0). */
static int probe(unsigned kind)
{
	sh->probe = 1;
	ft_test_join(ft_test_start(probe_acquire, kind));
	return sh->probe;
}

Test(condition, over_a_lock_an_rlock_or_its_own, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));

	/* The caller's Lock: the same lock, not re-entrant. */
	ft_lock_t *l = ft_lock_new();
	cv = ft_condition_new(l);
	cr_assert_not_null(cv);
	cr_assert_eq(ft_condition_acquire(cv, FT_FOREVER), 0);
	cr_assert_eq(ft_lock_locked(l), 1);
	cr_assert_eq(ft_condition_acquire(cv, 0), -EAGAIN);
	cr_assert_eq(ft_condition_acquire(cv, 0.02), -ETIMEDOUT);
	cr_assert_eq(ft_condition_notify(cv, 1), 0);
	cr_assert_eq(ft_condition_release(cv), 0);
	cr_assert_eq(ft_lock_locked(l), 0);
	cr_assert_eq(ft_condition_release(cv), -EPERM);
	cr_assert_eq(ft_lock_acquire(l, 0), 0);
	cr_assert_eq(ft_condition_notify_all(cv), 0, "held through the Lock");
	for (size_t k = 0; k < 2; k++)
		cr_assert_eq(probe(kinds[k]), -EAGAIN);
	cr_assert_eq(ft_condition_release(cv), 0);
	cr_assert_eq(ft_condition_free(cv), 0);
	cr_assert_eq(ft_lock_acquire(l, 0), 0, "the Lock outlives it");
	cr_assert_eq(ft_lock_release(l), 0);

	/* The caller's RLock. */
	ft_rlock_t *r = ft_rlock_new();
	cv = ft_condition_new(r);
	cr_assert_not_null(cv);
	cr_assert_eq(ft_condition_acquire(cv, 0), 0);
	cr_assert_eq(ft_condition_acquire(cv, 0), 0, "re-entrant");
	cr_assert_eq(ft_rlock_locked(r), 1);
	for (size_t k = 0; k < 2; k++)
		cr_assert_eq(probe(kinds[k]), -EAGAIN);
	cr_assert_eq(ft_rlock_release(r), 0);
	cr_assert_eq(ft_condition_release(cv), 0);
	cr_assert_eq(ft_rlock_locked(r), 0);
	cr_assert_eq(ft_condition_release(cv), -EPERM);
	for (size_t k = 0; k < 2; k++)
		cr_assert_eq(probe(kinds[k]), 0);
	cr_assert_eq(ft_condition_free(cv), 0);
	cr_assert_eq(ft_rlock_acquire(r, 0), 0, "the RLock outlives it");
	cr_assert_eq(ft_rlock_release(r), 0);

	/* Its own RLock. */
	cv = ft_condition_new(NULL);
	cr_assert_not_null(cv);
	cr_assert_eq(ft_condition_acquire(cv, 0), 0);
	cr_assert_eq(ft_condition_acquire(cv, 0), 0, "re-entrant");
	for (size_t k = 0; k < 2; k++)
		cr_assert_eq(probe(kinds[k]), -EAGAIN);
	cr_assert_eq(ft_condition_notify(cv, 1), 0);
	cr_assert_eq(ft_condition_release(cv), 0);
	cr_assert_eq(ft_condition_release(cv), 0);
	cr_assert_eq(ft_condition_release(cv), -EPERM);
	for (size_t k = 0; k < 2; k++)
		cr_assert_eq(probe(kinds[k]), 0);
	cr_assert_eq(ft_condition_free(cv), 0);
	cr_assert_eq(ft_condition_free(cv), -EBADF);
}

Test(condition, other_handles_are_ebadf, .timeout = FT_TEST_TIMEOUT)
{
	int local = 0;
	ft_lock_t *freed = ft_lock_new();
	cr_assert_eq(ft_lock_free(freed), 0);
	ft_condition_t *other = ft_condition_new(NULL);
	void *bad[] = { ft_event_new(), ft_semaphore_new(1),
			ft_barrier_new(1, NULL, NULL, FT_FOREVER), other,
			ft_shared_alloc(16), freed, &local };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		cr_assert_null(ft_condition_new(bad[i]), "bad[%zu]", i);
		cr_assert_eq(errno, EBADF, "bad[%zu]: errno %d", i, errno);
	}
	cr_assert_eq(local, 0);
}

static int never(void *arg)
{
	(void)arg;
	return 0;
}

static int counted_false(void *arg)
{
	(void)arg;
	sh->calls++;
	return 0;
}

static int value_pred(void *arg)
{
	struct shared *s = arg;
	s->calls++;
	return s->value;
}

static void misuse(void *arg)
{
	(void)arg;
	sh->rc[0] = ft_condition_wait(cv, 5.0);
	sh->rc[1] = ft_condition_wait_for(cv, never, NULL, 5.0);
	sh->rc[2] = ft_condition_notify(cv, 1);
	sh->rel[0] = ft_condition_notify_all(cv);
	sh->rel[1] = ft_condition_wait(cv, FT_FOREVER);
}

static void assert_eperm(const char *what)
{
	cr_assert_eq(ft_condition_wait(cv, 0), -EPERM, "%s", what);
	cr_assert_eq(ft_condition_wait(cv, 0.01), -EPERM, "%s", what);
	cr_assert_eq(ft_condition_wait(cv, FT_FOREVER), -EPERM, "%s", what);
	cr_assert_eq(ft_condition_wait_for(cv, never, NULL, FT_FOREVER), -EPERM,
		     "%s", what);
	cr_assert_eq(ft_condition_notify(cv, 1), -EPERM, "%s", what);
	cr_assert_eq(ft_condition_notify_all(cv), -EPERM, "%s", what);
}

Test(condition, used_without_its_lock_is_eperm, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	void *locks[] = { ft_lock_new(), ft_rlock_new(), NULL };
	for (size_t i = 0; i < 3; i++) {
		cv = ft_condition_new(locks[i]);
		cr_assert_not_null(cv);
		assert_eperm("unheld");
		/* Held, but by someone else. */
		cr_assert_eq(ft_condition_acquire(cv, 0), 0);
		for (size_t k = 0; k < 2; k++) {
			memset(sh, 0, sizeof(*sh));
			ft_test_join(ft_test_start(misuse, kinds[k]));
			for (int j = 0; j < 3; j++)
				cr_assert_eq(sh->rc[j], -EPERM, "lock %zu kind %zu call %d",
					     i, k, j);
			cr_assert_eq(sh->rel[0], -EPERM);
			cr_assert_eq(sh->rel[1], -EPERM);
		}
		cr_assert_eq(ft_condition_notify(cv, 1), 0, "still ours");
		cr_assert_eq(ft_condition_release(cv), 0);
		assert_eperm("released again");
		cr_assert_eq(ft_condition_free(cv), 0);
	}
}

Test(condition, timed_out_wait_retakes_the_full_rlock_depth,
     .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	ft_rlock_t *r = ft_rlock_new();
	ft_condition_t *cs[] = { ft_condition_new(r), ft_condition_new(NULL) };
	for (size_t i = 0; i < 2; i++) {
		cv = cs[i];
		for (int j = 0; j < 3; j++)
			cr_assert_eq(ft_condition_acquire(cv, 0), 0);
		double t0 = ft_test_now();
		cr_assert_eq(ft_condition_wait(cv, 0.05), -ETIMEDOUT);
		cr_assert_geq(ft_test_now() - t0, 0.05);
		for (size_t k = 0; k < 2; k++)
			cr_assert_eq(probe(kinds[k]), -EAGAIN, "held again");
		cr_assert_eq(ft_condition_wait(cv, 0), -EAGAIN);
		cr_assert_eq(ft_condition_wait_for(cv, never, NULL, 0.02), 0);
		cr_assert_eq(ft_condition_wait_for(cv, never, NULL, 0), 0);
		for (int j = 0; j < 3; j++)
			cr_assert_eq(ft_condition_release(cv), 0, "cond %zu level %d",
				     i, j);
		cr_assert_eq(ft_condition_release(cv), -EPERM, "cond %zu", i);
		for (size_t k = 0; k < 2; k++)
			cr_assert_eq(probe(kinds[k]), 0);
	}
	cr_assert_eq(ft_rlock_locked(r), 0);

	/* A Lock: held again after the timeout, by the caller. */
	ft_lock_t *l = ft_lock_new();
	cv = ft_condition_new(l);
	cr_assert_eq(ft_lock_acquire(l, 0), 0);
	cr_assert_eq(ft_condition_wait(cv, 0.05), -ETIMEDOUT);
	cr_assert_eq(ft_lock_locked(l), 1);
	cr_assert_eq(ft_condition_wait(cv, 0), -EAGAIN);
	cr_assert_eq(ft_condition_notify(cv, 1), 0, "the caller holds it");
	cr_assert_eq(ft_lock_release(l), 0);
	cr_assert_eq(ft_lock_release(l), -EPERM);
}

/* Take the RLock 3 times, wait to be notified, give it back 4 times. */
static void deep_waiter(void *arg)
{
	(void)arg;
	for (int j = 0; j < 3; j++)
		ft_rlock_acquire(rl, 10.0);
	sh->ready = 1;
	ft_condition_notify_all(cv_ready);
	sh->rc[0] = ft_condition_wait(cv, 30.0);
	sh->woken = sh->ready == 2; /* the notifier's change is visible */
	for (int j = 0; j < 4; j++)
		sh->rel[j] = ft_rlock_release(rl);
}

static int ready_is_1(void *arg)
{
	return ((struct shared *)arg)->ready == 1;
}

Test(condition, notified_wait_retakes_the_full_rlock_depth,
     .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	rl = ft_rlock_new();
	cv = ft_condition_new(rl);
	cv_ready = ft_condition_new(rl);
	for (size_t k = 0; k < 2; k++) {
		memset(sh, 0, sizeof(*sh));
		sh->rc[0] = 1;
		ft_worker_t *w = ft_test_start(deep_waiter, kinds[k]);
		cr_assert_eq(ft_rlock_acquire(rl, 30.0), 0);
		cr_assert_eq(ft_condition_wait_for(cv_ready, ready_is_1, sh, 30.0), 1);
		sh->ready = 2;
		cr_assert_eq(ft_condition_notify(cv, 1), 0);
		cr_assert_eq(ft_rlock_release(rl), 0);
		ft_test_join(w);
		cr_assert_eq(sh->rc[0], 0, "kind %zu: wait gave %d", k, sh->rc[0]);
		cr_assert_eq(sh->woken, 1);
		for (int j = 0; j < 3; j++)
			cr_assert_eq(sh->rel[j], 0, "kind %zu: release %d", k, j);
		cr_assert_eq(sh->rel[3], -EPERM, "kind %zu: depth was 3", k);
		cr_assert_eq(ft_rlock_locked(rl), 0);
	}
}

static void counted_waiter(void *arg)
{
	int i = (int)(intptr_t)arg;
	if (ft_condition_acquire(cv, 30.0) != 0)
		return;
	sh->ready++;
	ft_condition_notify_all(cv_ready);
	sh->rc[i] = ft_condition_wait(cv, 30.0);
	sh->woken++;
	ft_condition_notify_all(cv_ready);
	ft_condition_release(cv);
}

static int ready_all(void *arg)
{
	return ((struct shared *)arg)->ready == WAITERS;
}

static int woken_1(void *arg)
{
	return ((struct shared *)arg)->woken >= 1;
}

static int woken_2(void *arg)
{
	return ((struct shared *)arg)->woken >= 2;
}

static int woken_all(void *arg)
{
	return ((struct shared *)arg)->woken == WAITERS;
}

Test(condition, notify_n_wakes_at_most_n, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	void *locks[] = { ft_lock_new(), ft_rlock_new() };
	for (size_t i = 0; i < 2; i++) {
		memset(sh, 0, sizeof(*sh));
		/* Two conditions over one lock: waiters sleep in cv, the
		 * test body learns about them through cv_ready. */
		cv = ft_condition_new(locks[i]);
		cv_ready = ft_condition_new(locks[i]);
		ft_worker_t *w[WAITERS];
		for (int j = 0; j < WAITERS; j++) {
			sh->rc[j] = 1;
			w[j] = ft_worker_new(NULL, counted_waiter,
					     (void *)(intptr_t)j, 0);
			cr_assert_eq(ft_worker_start(w[j]), 0);
		}
		cr_assert_eq(ft_condition_acquire(cv, 30.0), 0);
		cr_assert_eq(ft_condition_wait_for(cv_ready, ready_all, sh, 30.0), 1);
		/* All three sleep in cv (they hold the lock otherwise). */
		cr_assert_eq(ft_condition_notify(cv, 0), 0, "notify(0)");
		cr_assert_eq(ft_condition_notify(cv, -1), -EINVAL);
		cr_assert_eq(ft_condition_wait_for(cv_ready, woken_1, sh, 0.05), 0,
			     "notify(0) or notify(-1) woke a waiter");
		cr_assert_eq(ft_condition_notify(cv, 1), 0);
		cr_assert_eq(ft_condition_wait_for(cv_ready, woken_1, sh, 30.0), 1);
		cr_assert_eq(ft_condition_wait_for(cv_ready, woken_2, sh, 0.05), 0,
			     "notify(1) woke %d", sh->woken);
		cr_assert_eq(sh->woken, 1);
		cr_assert_eq(ft_condition_notify_all(cv), 0);
		cr_assert_eq(ft_condition_wait_for(cv_ready, woken_all, sh, 30.0), 1);
		cr_assert_eq(ft_condition_release(cv), 0);
		for (int j = 0; j < WAITERS; j++) {
			ft_test_join(w[j]);
			cr_assert_eq(sh->rc[j], 0, "waiter %d: %d", j, sh->rc[j]);
		}
		/* Nobody waits: notifies are no-ops. */
		cr_assert_eq(ft_condition_acquire(cv, 0), 0);
		cr_assert_eq(ft_condition_notify(cv, 5), 0);
		cr_assert_eq(ft_condition_notify_all(cv), 0);
		cr_assert_eq(ft_condition_wait(cv, 0.01), -ETIMEDOUT,
			     "an earlier notify is not kept for later waiters");
		cr_assert_eq(ft_condition_release(cv), 0);
	}
}

static void set_value_late(void *arg)
{
	(void)arg;
	/* The test body holds the lock until it waits. */
	for (;;) {
		if (ft_condition_acquire(cv, 30.0) != 0)
			return;
		if (sh->waiting)
			break;
		ft_condition_release(cv);
		usleep(1000);
	}
	for (int i = 0; i < 3; i++) {
		/* Wake it with the predicate still false. */
		ft_condition_notify_all(cv);
		ft_condition_release(cv);
		ft_condition_acquire(cv, 30.0);
	}
	sh->value = 42;
	ft_condition_notify(cv, 1);
	ft_condition_release(cv);
}

Test(condition, wait_for_returns_the_predicates_last_value,
     .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	cv = ft_condition_new(ft_lock_new());
	cr_assert_eq(ft_condition_acquire(cv, 0), 0);
	sh->value = 7;
	cr_assert_eq(ft_condition_wait_for(cv, value_pred, sh, 0), 7);
	cr_assert_eq(ft_condition_wait_for(cv, value_pred, sh, FT_FOREVER), 7);
	cr_assert_eq(sh->calls, 2, "a true predicate: no waiting");
	sh->value = 0;
	cr_assert_eq(ft_condition_wait_for(cv, value_pred, sh, 0), 0);
	double t0 = ft_test_now();
	cr_assert_eq(ft_condition_wait_for(cv, value_pred, sh, 0.05), 0);
	cr_assert_geq(ft_test_now() - t0, 0.05);
	cr_assert_eq(ft_condition_notify(cv, 1), 0, "the lock is held again");
	cr_assert_eq(ft_condition_wait_for(cv, NULL, NULL, 0), -EINVAL);

	ft_worker_t *w = ft_test_start(set_value_late, 0);
	sh->waiting = 1;
	sh->calls = 0;
	cr_assert_eq(ft_condition_wait_for(cv, value_pred, sh, 30.0), 42);
	cr_assert_geq(sh->calls, 2);
	cr_assert_eq(ft_condition_release(cv), 0);
	ft_test_join(w);
}

static void notify_until_stopped(void *arg)
{
	(void)arg;
	double t0 = ft_test_now();
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE) && ft_test_now() - t0 < 10) {
		if (ft_condition_acquire(cv, 30.0) != 0)
			return;
		ft_condition_notify_all(cv);
		ft_condition_release(cv);
		usleep(2000);
	}
}

Test(condition, wait_for_keeps_one_deadline, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	cv = ft_condition_new(NULL);
	ft_worker_t *w = ft_test_start(notify_until_stopped, 0);
	cr_assert_eq(ft_condition_acquire(cv, 30.0), 0);
	double t0 = ft_test_now();
	int r = ft_condition_wait_for(cv, counted_false, NULL, 0.3);
	double took = ft_test_now() - t0;
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	cr_assert_eq(r, 0);
	cr_assert_geq(took, 0.3);
	/* Woken every 2 ms: a deadline restarted per wake-up would only
	 * end when the notifier gives up, 10 s later. */
	cr_assert_lt(took, 5.0, "wait_for took %.3f s", took);
	cr_assert_eq(ft_condition_release(cv), 0);
	ft_test_join(w);
}

/* Ping-pong: a lost wake-up leaves a worker asleep on its own turn. */
static void ping_pong(void *arg)
{
	int me = (int)(intptr_t)arg;
	for (int i = 0; i < HANDSHAKES; i++) {
		if (ft_condition_acquire(cv, 30.0) != 0) {
			sh->lost = 2;
			return;
		}
		while (sh->turn != me && !sh->lost) {
			/* A lost wake-up sleeps to the deadline (and may then
			 * take the signal meant for it: rc 0, but late). */
			double t0 = ft_test_now();
			int r = ft_condition_wait(cv, 5.0);
			if ((r == -ETIMEDOUT || ft_test_now() - t0 >= 5.0) &&
			    sh->turn != me)
				sh->lost = 1;
			else if (ft_test_now() - t0 >= 5.0)
				sh->lost = 3;
		}
		if (sh->lost) {
			ft_condition_notify_all(cv);
			ft_condition_release(cv);
			return;
		}
		sh->turn = !me;
		sh->count++;
		ft_condition_notify(cv, 1);
		ft_condition_release(cv);
	}
}

Test(condition, no_lost_wakeups, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	sh = ft_test_shared(sizeof(*sh));
	void *locks[] = { ft_lock_new(), ft_rlock_new() };
	for (size_t i = 0; i < 2; i++) {
		memset(sh, 0, sizeof(*sh));
		cv = ft_condition_new(locks[i]);
		ft_worker_t *a = ft_worker_new(NULL, ping_pong, (void *)0, 0);
		ft_worker_t *b = ft_worker_new(NULL, ping_pong, (void *)1,
					       i ? 0 : FT_WORKER_PROCESS);
		cr_assert_eq(ft_worker_start(a), 0);
		cr_assert_eq(ft_worker_start(b), 0);
		ft_test_join(a);
		ft_test_join(b);
		cr_assert_eq(sh->lost, 0, "lock %zu: lost wake-up after %d", i,
			     sh->count);
		cr_assert_eq(sh->count, 2 * HANDSHAKES);
		cr_assert_eq(ft_condition_free(cv), 0);
	}
}

/* Waits in cv at depth 2 (an RLock) or 1 (a Lock) until notified. */
static void waiter_at_depth(void *arg)
{
	int depth = (int)(intptr_t)arg;
	for (int j = 0; j < depth; j++)
		if (ft_condition_acquire(cv, 30.0) != 0)
			return;
	sh->ready = 1;
	sh->rc[0] = ft_condition_wait(cv, 30.0);
	for (int j = 0; j < 3; j++)
		sh->rel[j] = ft_condition_release(cv);
}

/* Takes the lock once the waiter sleeps in cv, notifies, dies holding it. */
static void notify_and_die(void *arg)
{
	(void)arg;
	for (;;) {
		if (ft_condition_acquire(cv, 30.0) != 0)
			_exit(1);
		if (sh->ready)
			break;
		ft_condition_release(cv);
		usleep(1000);
	}
	ft_condition_notify(cv, 1);
	raise(SIGKILL);
}

Test(condition, retaking_a_lock_whose_holder_died_is_ownerdead,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	sh = ft_test_shared(sizeof(*sh));
	void *locks[] = { ft_lock_new(), ft_rlock_new() };
	for (int i = 0; i < 2; i++) {
		int depth = i + 1;
		memset(sh, 0, sizeof(*sh));
		sh->rc[0] = 1;
		cv = ft_condition_new(locks[i]);
		ft_worker_t *w = ft_worker_new(NULL, waiter_at_depth,
					       (void *)(intptr_t)depth, 0);
		cr_assert_eq(ft_worker_start(w), 0);
		ft_worker_t *k = ft_test_start(notify_and_die, FT_WORKER_PROCESS);
		int code = 0;
		cr_assert_eq(ft_worker_join(k, 30.0), 0);
		cr_assert_eq(ft_worker_exitcode(k, &code), 0);
		cr_assert_eq(code, -SIGKILL);
		ft_test_join(w);
		cr_assert_eq(sh->rc[0], -EOWNERDEAD, "lock %d: wait gave %d", i,
			     sh->rc[0]);
		for (int j = 0; j < 3; j++)
			cr_assert_eq(sh->rel[j], j < depth ? 0 : -EPERM,
				     "lock %d: release %d", i, j);
		cr_assert_eq(ft_condition_acquire(cv, 0), 0, "reported once");
		cr_assert_eq(ft_condition_release(cv), 0);
		cr_assert_eq(ft_condition_free(cv), 0);
	}
}

static void timed_waiter(void *arg)
{
	(void)arg;
	if (ft_condition_acquire(cv, 30.0) != 0)
		return;
	sh->ready = 1;
	ft_condition_notify_all(cv); /* the test body may wait for ready */
	sh->rc[0] = ft_condition_wait(cv, 0.3);
	sh->rel[0] = ft_condition_release(cv);
}

static int ready(void *arg)
{
	return ((struct shared *)arg)->ready;
}

Test(condition, freed_under_a_sleeping_waiter_keeps_the_arena_sound,
     .timeout = FT_TEST_TIMEOUT)
{
	/* Freeing a condition others use is the caller's bug, but must not
	 * corrupt the arena; the waiter's call should fail cleanly. */
	sh = ft_test_shared(sizeof(*sh));
	sh->rc[0] = sh->rel[0] = 1;
	cv = ft_condition_new(NULL);
	ft_worker_t *w = ft_test_start(timed_waiter, 0);
	cr_assert_eq(ft_condition_acquire(cv, 30.0), 0);
	/* The waiter gave the lock up: it is inside wait. */
	cr_assert_eq(ft_condition_wait_for(cv, ready, sh, 30.0), 1);
	cr_assert_eq(ft_condition_release(cv), 0);
	cr_assert_eq(ft_condition_free(cv), 0);
	cr_assert_eq(ft_worker_join(w, 30.0), 0);
	int code = -1;
	cr_assert_eq(ft_worker_exitcode(w, &code), 0);
	cr_assert_eq(code, 0, "the waiter ended with %d", code);
	cr_assert(sh->rc[0] == -EBADF || sh->rc[0] == -ETIMEDOUT,
		  "a wait in flight on a freed condition returned %d", sh->rc[0]);
	for (int i = 0; i < 4; i++) {
		ft_condition_t *c = ft_condition_new(NULL);
		cr_assert_not_null(c);
		cr_assert_eq(ft_condition_acquire(c, 0), 0);
		cr_assert_eq(ft_condition_release(c), 0);
	}
}

Test(condition, bad_handles, .timeout = FT_TEST_TIMEOUT)
{
	int local = 0;
	ft_lock_t *l = ft_lock_new();
	ft_condition_t *freed = ft_condition_new(NULL);
	cr_assert_eq(ft_condition_free(freed), 0);

	cr_assert_eq(ft_condition_acquire(NULL, 0), -EINVAL);
	cr_assert_eq(ft_condition_release(NULL), -EINVAL);
	cr_assert_eq(ft_condition_wait(NULL, 0), -EINVAL);
	cr_assert_eq(ft_condition_wait(NULL, FT_FOREVER), -EINVAL);
	cr_assert_eq(ft_condition_wait_for(NULL, never, NULL, 0), -EINVAL);
	cr_assert_eq(ft_condition_notify(NULL, 1), -EINVAL);
	cr_assert_eq(ft_condition_notify(NULL, -1), -EINVAL);
	cr_assert_eq(ft_condition_notify_all(NULL), -EINVAL);
	cr_assert_eq(ft_condition_free(NULL), -EINVAL);

	ft_condition_t *bad[] = { freed, (ft_condition_t *)&local,
				  (ft_condition_t *)l };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(ft_condition_acquire(bad[i], 0), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_condition_release(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_condition_wait(bad[i], 0), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_condition_wait(bad[i], FT_FOREVER), -EBADF);
		cr_assert_eq(ft_condition_wait_for(bad[i], never, NULL, 0), -EBADF);
		cr_assert_eq(ft_condition_notify(bad[i], 1), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_condition_notify(bad[i], -1), -EBADF);
		cr_assert_eq(ft_condition_notify_all(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_condition_free(bad[i]), -EBADF, "bad[%zu]", i);
	}
	cr_assert_eq(local, 0);
	cr_assert_eq(ft_lock_locked(l), 0, "the Lock is untouched");

	/* A condition whose lock was freed under it. */
	ft_lock_t *gone = ft_lock_new();
	cv = ft_condition_new(gone);
	cr_assert_not_null(cv);
	cr_assert_eq(ft_lock_free(gone), 0);
	cr_assert_eq(ft_condition_acquire(cv, 0), -EBADF);
	cr_assert_eq(ft_condition_release(cv), -EBADF);
	cr_assert_eq(ft_condition_wait(cv, 0), -EBADF);
	cr_assert_eq(ft_condition_notify(cv, 1), -EBADF);
	cr_assert_eq(ft_condition_notify_all(cv), -EBADF);
	cr_assert_eq(ft_condition_free(cv), 0);
}
