/* Timeouts at the public boundary, the same for every blocking call:
 * FT_FOREVER (exactly -1) and values too large to represent wait; any
 * other negative value is a deadline already passed; NaN is -EINVAL and
 * changes nothing. */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "helpers.h"

/* A remaining time computed as "deadline - now", just past the deadline,
 * and other negatives that are not FT_FOREVER. */
static const double passed[] = { -1e-9, -0.5, -1.0000001, -0.9999999, -1e300,
				 -INFINITY };

struct shared {
	int about, done, rc;
};
static struct shared *sh;
static ft_lock_t *held_lock;
static ft_rlock_t *held_rlock;
static ft_event_t *let_go;

/* Holds held_lock and held_rlock until let_go is set. */
static void holder(void *arg)
{
	(void)arg;
	sh->rc = ft_lock_acquire(held_lock, FT_FOREVER);
	if (sh->rc == 0)
		sh->rc = ft_rlock_acquire(held_rlock, FT_FOREVER);
	__atomic_store_n(&sh->about, 1, __ATOMIC_RELEASE);
	ft_event_wait(let_go, FT_FOREVER);
	ft_lock_release(held_lock);
	ft_rlock_release(held_rlock);
}

Test(timeouts, a_negative_other_than_forever_is_a_passed_deadline,
     .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	held_lock = ft_lock_new();
	held_rlock = ft_rlock_new();
	let_go = ft_event_new();
	ft_worker_t *w = ft_test_start(holder, 0);
	cr_assert(ft_test_spin_until(&sh->about));
	cr_assert_eq(sh->rc, 0);

	ft_event_t *ev = ft_event_new();
	ft_semaphore_t *sem = ft_semaphore_new(0);
	ft_queue_t *q = ft_queue_new(1);
	ft_simple_queue_t *sq = ft_simple_queue_new();
	ft_condition_t *cv = ft_condition_new(NULL);
	char buf[8];
	size_t len;
	void *out = NULL;

	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		double t = passed[i];
		cr_assert_eq(ft_lock_acquire(held_lock, t), -ETIMEDOUT, "%g", t);
		cr_assert_eq(ft_rlock_acquire(held_rlock, t), -ETIMEDOUT, "%g", t);
		cr_assert_eq(ft_event_wait(ev, t), -ETIMEDOUT, "%g", t);
		cr_assert_eq(ft_semaphore_acquire(sem, t), -ETIMEDOUT, "%g", t);
		cr_assert_eq(ft_queue_get(q, buf, sizeof(buf), &len, t),
			     -ETIMEDOUT, "%g", t);
		cr_assert_eq(ft_queue_get_alloc(q, &out, &len, t), -ETIMEDOUT);
		cr_assert_eq(ft_simple_queue_get(sq, buf, sizeof(buf), &len, t),
			     -ETIMEDOUT, "%g", t);
		cr_assert_eq(ft_worker_join(w, t), -ETIMEDOUT, "%g", t);
		cr_assert_eq(ft_condition_acquire(cv, FT_FOREVER), 0);
		cr_assert_eq(ft_condition_wait(cv, t), -ETIMEDOUT, "%g", t);
		cr_assert_eq(ft_condition_release(cv), 0);

		/* What can be done without waiting is done. */
		cr_assert_eq(ft_queue_put(q, "x", 1, t), 0, "%g: room", t);
		cr_assert_eq(ft_queue_put(q, "y", 1, t), -ETIMEDOUT, "%g: full", t);
		cr_assert_eq(ft_queue_join(q, t), -ETIMEDOUT, "%g", t);
		cr_assert_eq(ft_queue_get(q, buf, sizeof(buf), &len, t), 0);
		cr_assert_eq(buf[0], 'x');
		cr_assert_eq(ft_queue_task_done(q), 0);
		cr_assert_eq(ft_queue_join(q, t), 0, "%g: nothing unfinished", t);
		cr_assert_eq(ft_event_set(ev), 0);
		cr_assert_eq(ft_event_wait(ev, t), 0, "%g: already set", t);
		cr_assert_eq(ft_event_clear(ev), 0);
		cr_assert_eq(ft_semaphore_release(sem, 1), 0);
		cr_assert_eq(ft_semaphore_acquire(sem, t), 0, "%g: a unit", t);

		ft_barrier_t *b = ft_barrier_new(2, NULL, NULL, FT_FOREVER);
		cr_assert_eq(ft_barrier_wait(b, t), -ETIMEDOUT, "%g", t);
		cr_assert_eq(ft_barrier_broken(b), 1, "a timeout breaks it");
		cr_assert_eq(ft_barrier_free(b), 0);
	}
	ft_event_set(let_go);
	ft_test_join(w);
	ft_lock_t *free_lock = ft_lock_new();
	cr_assert_eq(ft_lock_acquire(free_lock, -0.5), 0, "a free lock is taken");
	cr_assert_eq(ft_lock_release(free_lock), 0);
	cr_assert_eq(ft_lock_free(free_lock), 0);
	ft_queue_free(q);
	ft_simple_queue_free(sq);
	ft_condition_free(cv);
	ft_semaphore_free(sem);
	ft_event_free(ev);
}

static int pred_false(void *arg)
{
	(void)arg;
	return 0;
}

static void nothing(void *arg)
{
	(void)arg;
}

Test(timeouts, nan_is_einval_and_changes_nothing, .timeout = FT_TEST_TIMEOUT)
{
	ft_lock_t *l = ft_lock_new();
	ft_rlock_t *rl = ft_rlock_new();
	ft_event_t *ev = ft_event_new();
	ft_semaphore_t *sem = ft_semaphore_new(1);
	ft_queue_t *q = ft_queue_new(0);
	ft_simple_queue_t *sq = ft_simple_queue_new();
	ft_condition_t *cv = ft_condition_new(NULL);
	ft_barrier_t *b = ft_barrier_new(1, NULL, NULL, FT_FOREVER);
	char buf[8];
	size_t len;
	void *out = NULL;
	double nan = NAN;

	cr_assert_eq(ft_lock_acquire(l, nan), -EINVAL);
	cr_assert_eq(ft_lock_locked(l), 0, "not taken");
	cr_assert_eq(ft_rlock_acquire(rl, nan), -EINVAL);
	cr_assert_eq(ft_rlock_locked(rl), 0, "not taken");
	cr_assert_eq(ft_semaphore_acquire(sem, nan), -EINVAL);
	cr_assert_eq(ft_semaphore_value(sem), 1, "no unit taken");
	cr_assert_eq(ft_event_wait(ev, nan), -EINVAL);
	cr_assert_eq(ft_event_set(ev), 0);
	cr_assert_eq(ft_event_wait(ev, nan), -EINVAL, "even when set");
	cr_assert_eq(ft_queue_put(q, "x", 1, nan), -EINVAL);
	cr_assert_eq(ft_queue_qsize(q), 0, "nothing queued");
	cr_assert_eq(ft_queue_put(q, "x", 1, 0), 0);
	cr_assert_eq(ft_queue_get(q, buf, sizeof(buf), &len, nan), -EINVAL);
	cr_assert_eq(ft_queue_get_alloc(q, &out, &len, nan), -EINVAL);
	cr_assert_eq(ft_queue_qsize(q), 1, "nothing taken");
	cr_assert_eq(ft_queue_join(q, nan), -EINVAL);
	cr_assert_eq(ft_simple_queue_put(sq, "x", 1), 0);
	cr_assert_eq(ft_simple_queue_get(sq, buf, sizeof(buf), &len, nan), -EINVAL);
	cr_assert_eq(ft_simple_queue_empty(sq), 0, "nothing taken");
	cr_assert_eq(ft_condition_acquire(cv, nan), -EINVAL);
	cr_assert_eq(ft_condition_acquire(cv, 0), 0, "and not taken");
	cr_assert_eq(ft_condition_wait(cv, nan), -EINVAL);
	cr_assert_eq(ft_condition_wait_for(cv, pred_false, NULL, nan), -EINVAL);
	cr_assert_eq(ft_condition_release(cv), 0, "the lock is still held once");
	cr_assert_eq(ft_barrier_wait(b, nan), -EINVAL);
	cr_assert_eq(ft_barrier_broken(b), 0, "not broken");
	errno = 0;
	cr_assert_null(ft_barrier_new(2, NULL, NULL, nan));
	cr_assert_eq(errno, EINVAL);
	ft_worker_t *w = ft_test_start(nothing, 0);
	cr_assert_eq(ft_worker_join(w, nan), -EINVAL);
	ft_test_join(w);

	ft_lock_free(l);
	ft_rlock_free(rl);
	ft_event_free(ev);
	ft_semaphore_free(sem);
	ft_queue_free(q);
	ft_simple_queue_free(sq);
	ft_condition_free(cv);
	ft_barrier_free(b);
}

/* The partner of a two-party barrier: arrives once the main worker is
 * inside its wait, so the main worker's wait must really have slept. */
static ft_barrier_t *bar;

static void second_party(void *arg)
{
	(void)arg;
	double end = ft_test_now() + FT_TEST_GUARD_S;
	while (ft_barrier_n_waiting(bar) < 1 && ft_test_now() < end)
		ft_test_nap();
	sh->rc = ft_barrier_wait(bar, FT_FOREVER);
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
}

Test(timeouts, forever_and_values_too_large_wait, .timeout = FT_TEST_TIMEOUT)
{
	static const double forever[] = { FT_FOREVER, 0x1p62, 1e300, INFINITY };

	sh = ft_test_shared(sizeof(*sh));
	for (size_t i = 0; i < sizeof(forever) / sizeof(forever[0]); i++) {
		memset(sh, 0, sizeof(*sh));
		bar = ft_barrier_new(2, NULL, NULL, FT_FOREVER);
		ft_worker_t *w = ft_test_start(second_party, 0);
		int r = ft_barrier_wait(bar, forever[i]);
		cr_assert(r == 0 || r == 1, "%g: got %d", forever[i], r);
		ft_test_join(w);
		cr_assert_geq(sh->rc, 0, "%g: partner got %d", forever[i], sh->rc);
		cr_assert_eq(ft_barrier_broken(bar), 0);
		ft_barrier_free(bar);
	}
}
