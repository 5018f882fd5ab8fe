/* SPDX-License-Identifier: MIT */
/*
 * Queue and SimpleQueue shutdown (Python 3.13's Queue.shutdown): puts
 * fail, gets drain what is left and then fail, immediate drops and counts
 * the dropped as done, blocked callers of either side wake with
 * -ESHUTDOWN, a producer racing the shutdown loses nothing; the
 * unfinished-task count; SimpleQueue's get_alloc.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "helpers.h"

#define WAITERS 3

struct shared {
	int started;
	int done;
	int rc[WAITERS];
	int errors;
	long produced;   /* puts that returned 0 */
	long consumed;   /* gets that returned 0 */
	int stop_rc;     /* what ended the producer / the consumer */
	int cons_rc;
};

static struct shared *sh;
static ft_queue_t *q;
static ft_simple_queue_t *sq;

static void put_int(int v)
{
	cr_assert_eq(ft_queue_put(q, &v, sizeof(v), FT_FOREVER), 0);
}

static int get_int(int *v, double timeout)
{
	size_t len = 0;
	int r = ft_queue_get(q, v, sizeof(*v), &len, timeout);
	if (r == 0)
		cr_assert_eq(len, sizeof(*v));
	return r;
}

Test(queue_shutdown, puts_fail_and_gets_drain_first, .timeout = FT_TEST_TIMEOUT)
{
	q = ft_queue_new(0);
	cr_assert_not_null(q);
	for (int i = 0; i < 3; i++)
		put_int(i);
	cr_assert_eq(ft_queue_shutdown(q, false), 0);
	int v = 7;
	cr_assert_eq(ft_queue_put(q, &v, sizeof(v), FT_FOREVER), -ESHUTDOWN);
	cr_assert_eq(ft_queue_put_nowait(q, &v, sizeof(v)), -ESHUTDOWN);
	cr_assert_eq(ft_queue_qsize(q), 3, "nothing dropped, nothing added");
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(get_int(&v, FT_FOREVER), 0);
		cr_assert_eq(v, i);
	}
	cr_assert_eq(get_int(&v, FT_FOREVER), -ESHUTDOWN, "empty: no wait");
	cr_assert_eq(get_int(&v, 0), -ESHUTDOWN);
	void *p = NULL;
	size_t len;
	cr_assert_eq(ft_queue_get_alloc(q, &p, &len, 1.0), -ESHUTDOWN);
	cr_assert_null(p);
	cr_assert_eq(ft_queue_shutdown(q, false), 0, "again: nothing more");
	cr_assert_eq(ft_queue_unfinished_tasks(q), 3, "join is unchanged");
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ft_queue_task_done(q), 0);
	cr_assert_eq(ft_queue_join(q, 0), 0);
	cr_assert_eq(ft_queue_free(q), 0);
}

Test(queue_shutdown, immediate_drops_and_counts_them_done,
     .timeout = FT_TEST_TIMEOUT)
{
	q = ft_queue_new(8);
	for (int i = 0; i < 5; i++)
		put_int(i);
	int v;
	cr_assert_eq(get_int(&v, 0), 0);
	cr_assert_eq(ft_queue_unfinished_tasks(q), 5);
	cr_assert_eq(ft_queue_shutdown(q, true), 0);
	cr_assert_eq(ft_queue_qsize(q), 0);
	cr_assert_eq(ft_queue_empty(q), 1);
	cr_assert_eq(ft_queue_unfinished_tasks(q), 1, "the one taken");
	cr_assert_eq(get_int(&v, FT_FOREVER), -ESHUTDOWN);
	cr_assert_eq(ft_queue_join(q, 0), -EAGAIN);
	cr_assert_eq(ft_queue_task_done(q), 0);
	cr_assert_eq(ft_queue_join(q, 0), 0);
	cr_assert_eq(ft_queue_task_done(q), -EOVERFLOW);
	cr_assert_eq(ft_queue_free(q), 0);

	/* A plain shutdown, then an immediate one drops what is left. */
	q = ft_queue_new(0);
	put_int(1);
	put_int(2);
	cr_assert_eq(ft_queue_shutdown(q, false), 0);
	cr_assert_eq(ft_queue_qsize(q), 2);
	cr_assert_eq(ft_queue_shutdown(q, true), 0);
	cr_assert_eq(ft_queue_qsize(q), 0);
	cr_assert_eq(ft_queue_unfinished_tasks(q), 0);
	cr_assert_eq(ft_queue_join(q, 0), 0);
	cr_assert_eq(ft_queue_free(q), 0);
}

/* A large queue (segmented ring) dropped at once gives its memory back:
 * the arena serves a new one as large afterwards. */
Test(queue_shutdown, immediate_on_a_large_queue, .timeout = FT_TEST_TIMEOUT)
{
	q = ft_queue_new(0);
	static char block[4096];
	for (int i = 0; i < 1024; i++)
		cr_assert_eq(ft_queue_put(q, block, sizeof(block), 0), 0);
	cr_assert_eq(ft_queue_shutdown(q, true), 0);
	cr_assert_eq(ft_queue_qsize(q), 0);
	cr_assert_eq(ft_queue_unfinished_tasks(q), 0);
	cr_assert_eq(ft_queue_free(q), 0);
}

/* ------------------------------------------------------ blocked callers */

static int blocked_get(void *arg)
{
	int i = (int)(intptr_t)arg;
	int v;
	size_t len;
	__atomic_fetch_add(&sh->started, 1, __ATOMIC_RELEASE);
	if (q)
		sh->rc[i] = ft_queue_get(q, &v, sizeof(v), &len, FT_FOREVER);
	else
		sh->rc[i] = ft_simple_queue_get(sq, &v, sizeof(v), &len,
						FT_FOREVER);
	__atomic_fetch_add(&sh->done, 1, __ATOMIC_RELEASE);
	return 0;
}

static int blocked_put(void *arg)
{
	int i = (int)(intptr_t)arg;
	__atomic_fetch_add(&sh->started, 1, __ATOMIC_RELEASE);
	sh->rc[i] = ft_queue_put(q, &i, sizeof(i), FT_FOREVER);
	__atomic_fetch_add(&sh->done, 1, __ATOMIC_RELEASE);
	return 0;
}

/* Start WAITERS workers of kind @kind running @fn, wait until they sleep
 * in their call, shut down, and check each got -ESHUTDOWN. */
static void wake_blocked(ft_target_fn fn, unsigned kind, bool immediate,
			 int (*shutdown)(bool))
{
	memset(sh, 0, sizeof(*sh));
	ft_worker_t *w[WAITERS];
	for (int i = 0; i < WAITERS; i++)
		w[i] = ft_test_started(ft_worker_new(NULL, fn,
						     (void *)(intptr_t)i, kind));
	cr_assert(ft_test_await_int(&sh->started, WAITERS));
	for (int i = 0; i < WAITERS; i++)
		ft_test_await_blocked(w[i], &sh->done);
	cr_assert_eq(__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE), 0,
		     "a blocked call returned before the shutdown");
	cr_assert_eq(shutdown(immediate), 0);
	for (int i = 0; i < WAITERS; i++) {
		cr_assert_eq(ft_worker_join(w[i], FT_TEST_GUARD_S), 0,
			     "kind %u: a blocked call was not woken", kind);
		cr_assert_eq(sh->rc[i], -ESHUTDOWN, "kind %u, waiter %d: %d",
			     kind, i, sh->rc[i]);
		ft_worker_free(w[i]);
	}
}

static int shut_queue(bool immediate)
{
	return ft_queue_shutdown(q, immediate);
}

static int shut_simple(bool immediate)
{
	return ft_simple_queue_shutdown(sq, immediate);
}

Test(queue_shutdown, blocked_getters_wake, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	for (size_t k = 0; k < FT_TEST_NKINDS; k++)
		for (int imm = 0; imm <= 1; imm++) {
			q = ft_queue_new(0);
			sq = NULL;
			wake_blocked(blocked_get, ft_test_kinds[k], imm,
				     shut_queue);
			cr_assert_eq(ft_queue_free(q), 0);

			q = NULL;
			sq = ft_simple_queue_new();
			wake_blocked(blocked_get, ft_test_kinds[k], imm,
				     shut_simple);
			cr_assert_eq(ft_simple_queue_free(sq), 0);
		}
}

Test(queue_shutdown, blocked_putters_wake, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	for (size_t k = 0; k < FT_TEST_NKINDS; k++)
		for (int imm = 0; imm <= 1; imm++) {
			q = ft_queue_new(1);
			put_int(42);
			wake_blocked(blocked_put, ft_test_kinds[k], imm,
				     shut_queue);
			int v = 0;
			if (imm) {
				cr_assert_eq(ft_queue_qsize(q), 0);
			} else {
				cr_assert_eq(get_int(&v, 0), 0,
					     "a plain shutdown keeps what was "
					     "queued");
				cr_assert_eq(v, 42);
			}
			cr_assert_eq(get_int(&v, FT_FOREVER), -ESHUTDOWN);
			cr_assert_eq(ft_queue_free(q), 0);
		}
}

/* ------------------------------------------------ racing the shutdown */

static int producer(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&sh->started, 1, __ATOMIC_RELEASE);
	for (long i = 0;; i++) {
		int r = ft_queue_put(q, &i, sizeof(i), FT_TEST_GUARD_S);
		if (r < 0) {
			sh->stop_rc = r;
			return 0;
		}
		__atomic_store_n(&sh->produced, i + 1, __ATOMIC_RELAXED);
	}
}

static int consumer(void *arg)
{
	(void)arg;
	for (long want = 0;; want++) {
		long v;
		size_t len;
		int r = ft_queue_get(q, &v, sizeof(v), &len, FT_TEST_GUARD_S);
		if (r < 0) {
			sh->cons_rc = r;
			return 0;
		}
		if (v != want)
			sh->errors++;
		__atomic_store_n(&sh->consumed, want + 1, __ATOMIC_RELAXED);
	}
}

/* Every put that returned 0 before the shutdown is got after it, in
 * order, and then gets fail: nothing lost, nothing after the flag. */
Test(queue_shutdown, racing_producer_loses_nothing, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	for (size_t k = 0; k < FT_TEST_NKINDS; k++)
		for (int bounded = 0; bounded <= 1; bounded++) {
			memset(sh, 0, sizeof(*sh));
			q = ft_queue_new(bounded ? 64 : 0);
			ft_worker_t *c = ft_test_start(consumer, ft_test_kinds[k]);
			ft_worker_t *p = ft_test_start(producer, ft_test_kinds[k]);
			cr_assert(ft_test_await_int(&sh->started, 1));
			/* Let it stream a while (any amount is right). */
			for (int i = 0; i < 2000 &&
			     __atomic_load_n(&sh->consumed, __ATOMIC_RELAXED) < 20000;
			     i++)
				ft_test_nap();
			cr_assert_eq(ft_queue_shutdown(q, false), 0);
			cr_assert_eq(ft_worker_join(p, FT_TEST_GUARD_S), 0);
			cr_assert_eq(ft_worker_join(c, FT_TEST_GUARD_S), 0);
			cr_assert_eq(sh->stop_rc, -ESHUTDOWN);
			cr_assert_eq(sh->cons_rc, -ESHUTDOWN);
			cr_assert_eq(sh->errors, 0, "out of order");
			cr_assert_eq(sh->consumed, sh->produced,
				     "kind %u: %ld put, %ld got", ft_test_kinds[k],
				     sh->produced, sh->consumed);
			ft_worker_free(p);
			ft_worker_free(c);
			cr_assert_eq(ft_queue_free(q), 0);
		}
}

/* ------------------------------------------------------------ the rest */

Test(queue_shutdown, unfinished_tasks_follow_puts_and_done,
     .timeout = FT_TEST_TIMEOUT)
{
	q = ft_queue_new(0);
	cr_assert_eq(ft_queue_unfinished_tasks(q), 0);
	put_int(1);
	put_int(2);
	cr_assert_eq(ft_queue_unfinished_tasks(q), 2);
	int v;
	cr_assert_eq(get_int(&v, 0), 0);
	cr_assert_eq(ft_queue_unfinished_tasks(q), 2, "got is not done");
	cr_assert_eq(ft_queue_task_done(q), 0);
	cr_assert_eq(ft_queue_unfinished_tasks(q), 1);
	cr_assert_eq(ft_queue_free(q), 0);
}

Test(queue_shutdown, simple_queue_get_alloc, .timeout = FT_TEST_TIMEOUT)
{
	sq = ft_simple_queue_new();
	cr_assert_not_null(sq);
	cr_assert_eq(ft_simple_queue_put(sq, "hello", 5), 0);
	cr_assert_eq(ft_simple_queue_put(sq, "", 0), 0);
	void *p = NULL;
	size_t len = 99;
	cr_assert_eq(ft_simple_queue_get_alloc(sq, &p, &len, FT_FOREVER), 0);
	cr_assert_eq(len, 5);
	cr_assert(memcmp(p, "hello", 5) == 0);
	free(p);
	p = NULL;
	cr_assert_eq(ft_simple_queue_get_alloc(sq, &p, &len, 0), 0);
	cr_assert_eq(len, 0);
	cr_assert_not_null(p, "never NULL on success");
	free(p);
	cr_assert_eq(ft_simple_queue_get_alloc(sq, &p, &len, 0), -EAGAIN);
	cr_assert_eq(ft_simple_queue_get_alloc(sq, NULL, &len, 0), -EINVAL);
	cr_assert_eq(ft_simple_queue_get_alloc(sq, &p, NULL, 0), -EINVAL);
	cr_assert_eq(ft_simple_queue_put(sq, "x", 1), 0);
	cr_assert_eq(ft_simple_queue_shutdown(sq, false), 0);
	cr_assert_eq(ft_simple_queue_put(sq, "y", 1), -ESHUTDOWN);
	cr_assert_eq(ft_simple_queue_get_alloc(sq, &p, &len, 0), 0);
	free(p);
	cr_assert_eq(ft_simple_queue_get_alloc(sq, &p, &len, FT_FOREVER),
		     -ESHUTDOWN);
	cr_assert_eq(ft_simple_queue_free(sq), 0);
}

Test(queue_shutdown, bad_handles, .timeout = FT_TEST_TIMEOUT)
{
	void *p;
	size_t len;
	cr_assert_eq(ft_queue_shutdown(NULL, false), -EINVAL);
	cr_assert_eq(ft_queue_unfinished_tasks(NULL), -EINVAL);
	cr_assert_eq(ft_simple_queue_shutdown(NULL, true), -EINVAL);
	cr_assert_eq(ft_simple_queue_get_alloc(NULL, &p, &len, 0), -EINVAL);
	q = ft_queue_new(0);
	sq = ft_simple_queue_new();
	/* The other type's handle, and freed handles. */
	cr_assert_eq(ft_simple_queue_shutdown((ft_simple_queue_t *)q, false),
		     -EBADF);
	cr_assert_eq(ft_queue_shutdown((ft_queue_t *)sq, false), -EBADF);
	cr_assert_eq(ft_queue_unfinished_tasks((ft_queue_t *)sq), -EBADF);
	cr_assert_eq(ft_simple_queue_get_alloc((ft_simple_queue_t *)q, &p,
					       &len, 0), -EBADF);
	cr_assert_eq(ft_queue_free(q), 0);
	cr_assert_eq(ft_simple_queue_free(sq), 0);
	cr_assert_eq(ft_queue_shutdown(q, true), -EBADF);
	cr_assert_eq(ft_simple_queue_shutdown(sq, true), -EBADF);
	cr_assert_eq(ft_queue_unfinished_tasks(q), -EBADF);
}
