/* Semaphore and BoundedSemaphore: values, timeouts, release(n) waking up
 * to n waiters, over-release, bad handles. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define WAITERS 3

struct shared {
	int about[WAITERS]; /* waiter i is about to block */
	int done[WAITERS];  /* ... and its acquire returned */
	int rc[WAITERS];
	int n_done;         /* acquires that returned */
	double timeout;
	double took;        /* seconds a timed acquire took */
};

static struct shared *sh;
static ft_semaphore_t *sem;

Test(semaphore, negative_value_rejected, .timeout = FT_TEST_TIMEOUT)
{
	errno = 0;
	cr_assert_null(ft_semaphore_new(-1));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(ft_bounded_semaphore_new(-1));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(ft_semaphore_new(INT_MIN));
	cr_assert_eq(errno, EINVAL);
	ft_semaphore_t *s = ft_semaphore_new(0);
	cr_assert_not_null(s);
	cr_assert_eq(ft_semaphore_value(s), 0);
	ft_semaphore_t *b = ft_bounded_semaphore_new(0);
	cr_assert_not_null(b);
	cr_assert_eq(ft_semaphore_release(b, 1), -EOVERFLOW);
	cr_assert_eq(ft_semaphore_value(b), 0);
	cr_assert_eq(ft_semaphore_free(s), 0);
	cr_assert_eq(ft_semaphore_free(b), 0);
}

Test(semaphore, acquire_and_release_codes, .timeout = FT_TEST_TIMEOUT)
{
	ft_semaphore_t *s = ft_semaphore_new(2);
	cr_assert_eq(ft_semaphore_value(s), 2);
	cr_assert_eq(ft_semaphore_acquire(s, FT_FOREVER), 0);
	cr_assert_eq(ft_semaphore_acquire(s, 0), 0);
	cr_assert_eq(ft_semaphore_value(s), 0);
	cr_assert_eq(ft_semaphore_acquire(s, 0), -EAGAIN);
	double t0 = ft_test_now();
	cr_assert_eq(ft_semaphore_acquire(s, 0.05), -ETIMEDOUT);
	cr_assert_geq(ft_test_now() - t0, 0.05);
	cr_assert_eq(ft_semaphore_value(s), 0);
	cr_assert_eq(ft_semaphore_release(s, 0), -EINVAL);
	cr_assert_eq(ft_semaphore_release(s, -1), -EINVAL);
	cr_assert_eq(ft_semaphore_release(s, INT_MIN), -EINVAL);
	cr_assert_eq(ft_semaphore_value(s), 0, "a rejected release adds nothing");
	cr_assert_eq(ft_semaphore_release(s, 1), 0);
	cr_assert_eq(ft_semaphore_value(s), 1);
	cr_assert_eq(ft_semaphore_release(s, 4), 0, "unbounded: past the start");
	cr_assert_eq(ft_semaphore_value(s), 5);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(ft_semaphore_acquire(s, 1.0), 0);
	cr_assert_eq(ft_semaphore_acquire(s, 0), -EAGAIN);
	cr_assert_eq(ft_semaphore_free(s), 0);
}

Test(semaphore, bounded_over_release_is_eoverflow, .timeout = FT_TEST_TIMEOUT)
{
	ft_semaphore_t *b = ft_bounded_semaphore_new(2);
	cr_assert_eq(ft_semaphore_value(b), 2);
	cr_assert_eq(ft_semaphore_release(b, 1), -EOVERFLOW);
	cr_assert_eq(ft_semaphore_value(b), 2, "value unchanged");
	cr_assert_eq(ft_semaphore_acquire(b, 0), 0);
	cr_assert_eq(ft_semaphore_release(b, 2), -EOVERFLOW);
	cr_assert_eq(ft_semaphore_value(b), 1, "value unchanged");
	cr_assert_eq(ft_semaphore_release(b, INT_MAX), -EOVERFLOW);
	cr_assert_eq(ft_semaphore_value(b), 1);
	cr_assert_eq(ft_semaphore_release(b, 1), 0);
	cr_assert_eq(ft_semaphore_value(b), 2);
	cr_assert_eq(ft_semaphore_release(b, 1), -EOVERFLOW);
	cr_assert_eq(ft_semaphore_acquire(b, 0), 0);
	cr_assert_eq(ft_semaphore_acquire(b, 0), 0);
	cr_assert_eq(ft_semaphore_acquire(b, 0), -EAGAIN);
	cr_assert_eq(ft_semaphore_release(b, 2), 0, "back to the bound at once");
	cr_assert_eq(ft_semaphore_value(b), 2);
	cr_assert_eq(ft_semaphore_release(b, 0), -EINVAL, "n < 1 before bound");

	/* Unbounded: only INT_MAX bounds it. */
	ft_semaphore_t *s = ft_semaphore_new(INT_MAX - 1);
	cr_assert_eq(ft_semaphore_release(s, 2), -EOVERFLOW);
	cr_assert_eq(ft_semaphore_value(s), INT_MAX - 1);
	cr_assert_eq(ft_semaphore_release(s, 1), 0);
	cr_assert_eq(ft_semaphore_value(s), INT_MAX);
	cr_assert_eq(ft_semaphore_release(s, 1), -EOVERFLOW);
	cr_assert_eq(ft_semaphore_value(s), INT_MAX);
}

static void waiter(void *arg)
{
	int i = (int)(intptr_t)arg;
	__atomic_store_n(&sh->about[i], 1, __ATOMIC_RELEASE);
	sh->rc[i] = ft_semaphore_acquire(sem, sh->timeout);
	__atomic_store_n(&sh->done[i], 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&sh->n_done, 1, __ATOMIC_ACQ_REL);
}

static ft_worker_t *start_waiter(int i)
{
	ft_worker_t *w = ft_worker_new(NULL, waiter, (void *)(intptr_t)i, 0);
	cr_assert_not_null(w);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert(ft_test_spin_until(&sh->about[i]));
	ft_test_await_blocked(w, &sh->done[i]);
	cr_assert_eq(__atomic_load_n(&sh->done[i], __ATOMIC_ACQUIRE), 0, "waiter %d took from an empty semaphore", i);
	return w;
}

static bool n_done_reaches(int n)
{
	for (int i = 0; i < 200000; i++) {
		if (__atomic_load_n(&sh->n_done, __ATOMIC_ACQUIRE) >= n)
			return true;
		usleep(100);
	}
	return false;
}

Test(semaphore, release_n_wakes_up_to_n_waiters, .timeout = FT_TEST_TIMEOUT)
{
	static const double timeouts[] = { FT_FOREVER, 30.0 };
	ft_event_t *never = ft_event_new();

	sh = ft_test_shared(sizeof(*sh));
	for (size_t t = 0; t < 2; t++) {
		memset(sh, 0, sizeof(*sh));
		sh->timeout = timeouts[t];
		sem = ft_semaphore_new(0);
		ft_worker_t *w[WAITERS];
		for (int i = 0; i < WAITERS; i++)
			w[i] = start_waiter(i);
		cr_assert_eq(ft_semaphore_release(sem, 2), 0);
		cr_assert(n_done_reaches(2));
		/* The third has nothing to take: it must stay asleep. */
		cr_assert_eq(ft_event_wait(never, 0.05), -ETIMEDOUT);
		cr_assert_eq(sh->n_done, 2, "release(2) let %d through", sh->n_done);
		cr_assert_eq(ft_semaphore_value(sem), 0);
		cr_assert_eq(ft_semaphore_release(sem, 1), 0);
		cr_assert(n_done_reaches(3));
		for (int i = 0; i < WAITERS; i++) {
			ft_test_join(w[i]);
			cr_assert_eq(sh->rc[i], 0, "waiter %d: %d", i, sh->rc[i]);
		}
		cr_assert_eq(ft_semaphore_value(sem), 0);
		cr_assert_eq(ft_semaphore_free(sem), 0);
	}
}

Test(semaphore, release_more_than_waiters_keeps_the_rest,
     .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	sh->timeout = FT_FOREVER;
	sem = ft_bounded_semaphore_new(5);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(ft_semaphore_acquire(sem, 0), 0);
	ft_worker_t *w[2] = { start_waiter(0), start_waiter(1) };
	cr_assert_eq(ft_semaphore_release(sem, 5), 0);
	for (int i = 0; i < 2; i++) {
		ft_test_join(w[i]);
		cr_assert_eq(sh->rc[i], 0);
	}
	cr_assert_eq(ft_semaphore_value(sem), 3);
	cr_assert_eq(ft_semaphore_release(sem, 3), -EOVERFLOW);
	cr_assert_eq(ft_semaphore_release(sem, 2), 0);
	cr_assert_eq(ft_semaphore_value(sem), 5);
}

static void timed_waiter(void *arg)
{
	(void)arg;
	double t0 = ft_test_now();
	sh->rc[0] = ft_semaphore_acquire(sem, 0.05);
	sh->took = ft_test_now() - t0;
	sh->rc[1] = ft_semaphore_acquire(sem, 0);
}

static void releaser(void *arg)
{
	(void)arg;
	sh->rc[2] = ft_semaphore_release(sem, 1);
}

Test(semaphore, between_workers, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	sh = ft_test_shared(sizeof(*sh));
	sem = ft_bounded_semaphore_new(1);
	cr_assert_eq(ft_semaphore_acquire(sem, 0), 0);
	ft_test_join(ft_test_start(timed_waiter, FT_WORKER_PROCESS));
	cr_assert_eq(sh->rc[0], -ETIMEDOUT);
	cr_assert_geq(sh->took, 0.05);
	cr_assert_eq(sh->rc[1], -EAGAIN);
	ft_test_join(ft_test_start(releaser, FT_WORKER_PROCESS));
	cr_assert_eq(sh->rc[2], 0, "a process worker gives back our unit");
	cr_assert_eq(ft_semaphore_value(sem), 1);
	ft_test_join(ft_test_start(releaser, FT_WORKER_THREAD));
	cr_assert_eq(sh->rc[2], -EOVERFLOW, "seen by a thread worker too");
	cr_assert_eq(ft_semaphore_value(sem), 1);
}

Test(semaphore, freed_under_a_sleeping_acquirer_keeps_the_arena_sound,
     .timeout = FT_TEST_TIMEOUT)
{
	/* As for ft_lock_free: a caller's bug that must not corrupt the
	 * arena.  Nothing of this size was freed before in this process. */
	sh = ft_test_shared(sizeof(*sh));
	sh->timeout = 0.3;
	sem = ft_semaphore_new(0);
	ft_worker_t *w = start_waiter(0);
	cr_assert_eq(ft_semaphore_free(sem), 0);
	ft_test_join(w);
	cr_assert(sh->rc[0] == -EBADF || sh->rc[0] == -ETIMEDOUT,
		  "an acquire in flight on a freed semaphore returned %d",
		  sh->rc[0]);
	ft_semaphore_t *fresh[4];
	for (int i = 0; i < 4; i++) {
		fresh[i] = ft_semaphore_new(i);
		cr_assert_not_null(fresh[i]);
		for (int j = 0; j < i; j++)
			cr_assert_neq(fresh[i], fresh[j]);
	}
	for (int i = 0; i < 4; i++)
		cr_assert_eq(ft_semaphore_value(fresh[i]), i, "new semaphore %d", i);
}

Test(semaphore, bad_handles, .timeout = FT_TEST_TIMEOUT)
{
	int local = 0;
	ft_lock_t *l = ft_lock_new();
	ft_barrier_t *b = ft_barrier_new(2, NULL, NULL, FT_FOREVER);
	ft_semaphore_t *freed = ft_semaphore_new(3);
	cr_assert_eq(ft_semaphore_free(freed), 0);

	cr_assert_eq(ft_semaphore_acquire(NULL, 0), -EINVAL);
	cr_assert_eq(ft_semaphore_acquire(NULL, FT_FOREVER), -EINVAL);
	cr_assert_eq(ft_semaphore_release(NULL, 1), -EINVAL);
	cr_assert_eq(ft_semaphore_value(NULL), -EINVAL);
	cr_assert_eq(ft_semaphore_free(NULL), -EINVAL);

	ft_semaphore_t *bad[] = { freed, (ft_semaphore_t *)&local,
				  (ft_semaphore_t *)l, (ft_semaphore_t *)b };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(ft_semaphore_acquire(bad[i], 0), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_semaphore_acquire(bad[i], FT_FOREVER), -EBADF);
		cr_assert_eq(ft_semaphore_release(bad[i], 1), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_semaphore_value(bad[i]), -EBADF, "bad[%zu]", i);
		cr_assert_eq(ft_semaphore_free(bad[i]), -EBADF, "bad[%zu]", i);
	}
	cr_assert_eq(local, 0);
	cr_assert_eq(ft_lock_locked(l), 0);
	cr_assert_eq(ft_barrier_parties(b), 2);
	cr_assert_eq(ft_barrier_n_waiting(b), 0);
}
