/* SPDX-License-Identifier: MIT */
/*
 * The WorkerPool (multiprocessing.Pool): map (default and given chunk
 * sizes), starmap over struct items, map_async, the success and error
 * callbacks, imap in order and imap_unordered (each index once, a failing
 * item yields its code and the iteration goes on, timeouts), apply and
 * apply_async, close / join / terminate, a pool of the CPU count, empty
 * and one-item maps, bad input.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif
#include <math.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

struct shared {
	int started;
	int finished;
	int inits;
};
static struct shared *sh;

static void setup(void)
{
	sh = ft_test_shared(sizeof(*sh));
}

/* int -> int square; an item at or below -1000 fails with item + 1000. */
static int square(const void *in, void *out)
{
	int v;
	memcpy(&v, in, sizeof(v));
	if (v <= -1000)
		return v + 1000;
	v *= v;
	memcpy(out, &v, sizeof(v));
	return 0;
}

/* Fails with -EDOM for 5, squares the rest. */
static int square_but_5(const void *in, void *out)
{
	int v;
	memcpy(&v, in, sizeof(v));
	if (v == 5)
		return -EDOM;
	return square(in, out);
}

struct pair {
	int a, b;
};

static int product(const void *in, void *out)
{
	const struct pair *p = in;
	long v = (long)p->a * p->b;
	memcpy(out, &v, sizeof(v));
	return 0;
}

/* Counts its start, waits for @gate, meets the others at @barrier, holds
 * on for @hold seconds (each if given), squares @value and counts its
 * end. */
struct job {
	int value;
	int code;
	ft_event_t *gate;
	ft_barrier_t *barrier;
	double hold;
};

struct res {
	long value;
	long ident;
};

static int task(const void *in, void *out)
{
	const struct job *j = in;
	struct res *r = out;
	__atomic_fetch_add(&sh->started, 1, __ATOMIC_ACQ_REL);
	if (j->gate && ft_event_wait(j->gate, FT_TEST_GUARD_S) != 0)
		return -ENOLINK; /* never opened: a code no test expects */
	if (j->barrier && ft_barrier_wait(j->barrier, FT_TEST_GUARD_S) < 0)
		return -ENOLINK;
	if (j->hold > 0) {
		struct timespec ts = { 0, (long)(j->hold * 1e9) };
		while (nanosleep(&ts, &ts) != 0)
			;
	}
	r->value = (long)j->value * j->value;
	r->ident = ft_get_ident();
	__atomic_fetch_add(&sh->finished, 1, __ATOMIC_ACQ_REL);
	return j->code;
}

static ft_pool_t *new_pool(int n)
{
	ft_pool_t *p = ft_pool_new(n, NULL);
	cr_assert_not_null(p, "ft_pool_new(%d): errno %d", n, errno);
	return p;
}

static ft_event_t *new_event(void)
{
	ft_event_t *e = ft_event_new();
	cr_assert_not_null(e);
	return e;
}

#define N 100

static void check_squares(const int *results, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(results[i], (int)(i * i), "%s: results[%zu] = %d",
			     what, i, results[i]);
}

/* ----------------------------------------------------------------- map */

Test(pool, map_squares, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	ft_pool_t *p = new_pool(3);
	int items[N], results[N + 1];
	for (int i = 0; i < N; i++)
		items[i] = i;
	static const size_t chunks[] = { 0, 1, 7, N, 1000 };
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		for (int i = 0; i <= N; i++)
			results[i] = -1;
		cr_assert_eq(ft_pool_map(p, square, items, N, sizeof(int),
					 results, sizeof(int), chunks[c],
					 FT_FOREVER),
			     0, "chunksize %zu", chunks[c]);
		check_squares(results, N, "map");
		cr_assert_eq(results[N], -1, "written past n");
	}
	cr_assert_eq(ft_pool_close(p), 0);
	cr_assert_eq(ft_pool_join(p, FT_FOREVER), 0);
	cr_assert_eq(ft_pool_free(p), 0);
}

Test(pool, map_of_none_and_of_one, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	ft_pool_t *p = new_pool(2);
	int one = 9, out = -1;
	cr_assert_eq(ft_pool_map(p, square, NULL, 0, sizeof(int), NULL,
				 sizeof(int), 0, FT_FOREVER),
		     0);
	cr_assert_eq(ft_pool_map(p, square, &one, 1, sizeof(int), &out,
				 sizeof(int), 0, FT_FOREVER),
		     0);
	cr_assert_eq(out, 81);

	ft_future_t *f = ft_pool_map_async(p, square, NULL, 0, sizeof(int),
					   sizeof(int), 0, NULL, NULL, NULL);
	cr_assert_not_null(f, "map_async of nothing: errno %d", errno);
	cr_assert_eq(ft_future_result(f, NULL, FT_FOREVER), 0);
	cr_assert_eq(ft_future_done(f), 1);
	ft_future_free(f);

	f = ft_pool_imap(p, square, NULL, 0, sizeof(int), sizeof(int), 0);
	cr_assert_not_null(f);
	cr_assert_eq(ft_pool_imap_next(f, &out, NULL, FT_FOREVER), -ENODATA);
	ft_future_free(f);
	f = ft_pool_imap_unordered(p, square, &one, 1, sizeof(int), sizeof(int),
				   0);
	cr_assert_not_null(f);
	size_t idx = 99;
	out = -1;
	cr_assert_eq(ft_pool_imap_next(f, &out, &idx, FT_FOREVER), 0);
	cr_assert_eq(idx, 0);
	cr_assert_eq(out, 81);
	cr_assert_eq(ft_pool_imap_next(f, &out, &idx, FT_FOREVER), -ENODATA);
	ft_future_free(f);
	cr_assert_eq(ft_pool_free(p), 0);
}

Test(pool, map_fails_with_the_first_failing_item, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_pool_t *p = new_pool(2);
	int items[20], results[20];
	for (int i = 0; i < 20; i++)
		items[i] = i;
	for (size_t c = 1; c <= 4; c += 3) {
		memset(results, 0xff, sizeof(results));
		cr_assert_eq(ft_pool_map(p, square_but_5, items, 20, sizeof(int),
					 results, sizeof(int), c, FT_FOREVER),
			     -EDOM, "chunksize %zu", c);
		check_squares(results, c == 1 ? 5 : 4, "before the failure");
	}
	/* The pool goes on. */
	cr_assert_eq(ft_pool_map(p, square, items, 20, sizeof(int), results,
				 sizeof(int), 3, FT_FOREVER),
		     0);
	check_squares(results, 20, "after");
	cr_assert_eq(ft_pool_free(p), 0);
}

/* Tasks that hold on for 0.2 s, a map that gives them 0.05 s: the
 * deadline passes while the first two run; the rest are cancelled.  With
 * thread workers the map returns only once the running ones ended (they
 * write in the caller's arrays). */
Test(pool, map_timeout, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		unsigned kind = ft_test_kinds[k];
		struct ft_pool_options o = { .flags = kind };
		ft_pool_t *p = ft_pool_new(2, &o);
		cr_assert_not_null(p);
		sh->started = sh->finished = 0;
		struct job items[6];
		struct res results[6];
		for (int i = 0; i < 6; i++)
			items[i] = (struct job){ .value = i, .hold = 0.2 };
		cr_assert_eq(ft_pool_map(p, task, items, 6, sizeof(items[0]),
					 results, sizeof(results[0]), 1, 0.05),
			     -ETIMEDOUT, "kind %u", kind);
		if (!ft_test_kind_is_process(kind))
			cr_assert_eq(__atomic_load_n(&sh->finished,
						     __ATOMIC_ACQUIRE),
				     __atomic_load_n(&sh->started,
						     __ATOMIC_ACQUIRE),
				     "kind %u: returned with tasks running in "
				     "the caller's arrays", kind);
		cr_assert_eq(ft_pool_close(p), 0);
		cr_assert_eq(ft_pool_join(p, FT_FOREVER), 0);
		int started = __atomic_load_n(&sh->started, __ATOMIC_ACQUIRE);
		cr_assert_leq(started, 2, "kind %u: %d ran: tasks not started "
			      "when the map timed out ran", kind, started);
		cr_assert_eq(ft_pool_free(p), 0);
	}
}

Test(pool, starmap_over_structs, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	ft_pool_t *p = new_pool(2);
	struct pair items[33];
	long results[33];
	for (int i = 0; i < 33; i++)
		items[i] = (struct pair){ i, 100 - i };
	for (size_t c = 0; c <= 5; c += 5) {
		memset(results, 0, sizeof(results));
		cr_assert_eq(ft_pool_starmap(p, product, items, 33,
					     sizeof(items[0]), results,
					     sizeof(long), c, FT_FOREVER),
			     0);
		for (int i = 0; i < 33; i++)
			cr_assert_eq(results[i], (long)i * (100 - i),
				     "chunksize %zu, item %d", c, i);
	}
	cr_assert_eq(ft_pool_free(p), 0);
}

/* ----------------------------------------------- map_async and callbacks */

struct cb_count {
	int ok, err;
	int rc;
	long pid;
};

static void on_ok(ft_future_t *f, void *arg)
{
	struct cb_count *c = arg;
	c->rc = ft_future_result(f, NULL, 0);
	c->pid = getpid();
	__atomic_fetch_add(&c->ok, 1, __ATOMIC_ACQ_REL);
}

static void on_err(ft_future_t *f, void *arg)
{
	struct cb_count *c = arg;
	c->rc = ft_future_result(f, NULL, 0);
	c->pid = getpid();
	__atomic_fetch_add(&c->err, 1, __ATOMIC_ACQ_REL);
}

Test(pool, map_async_result_and_callbacks, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	static struct cb_count good, bad;
	ft_pool_t *p = new_pool(2);
	int items[N];
	for (int i = 0; i < N; i++)
		items[i] = i;
	ft_future_t *f = ft_pool_map_async(p, square, items, N, sizeof(int),
					   sizeof(int), 7, on_ok, on_err, &good);
	cr_assert_not_null(f);
	/* @items is copied: scribbling on it now changes nothing. */
	for (int i = 0; i < N; i++)
		items[i] = -1000 - EIO;
	int *results = calloc(N, sizeof(int));
	cr_assert_eq(ft_future_result(f, results, FT_FOREVER), 0);
	check_squares(results, N, "map_async");

	for (int i = 0; i < N; i++)
		items[i] = i;
	ft_future_t *e = ft_pool_map_async(p, square_but_5, items, N,
					   sizeof(int), sizeof(int), 0, on_ok,
					   on_err, &bad);
	cr_assert_not_null(e);
	cr_assert_eq(ft_future_result(e, results, FT_FOREVER), -EDOM);

	cr_assert(ft_test_await_int(&good.ok, 1), "callback never ran");
	cr_assert(ft_test_await_int(&bad.err, 1), "error_callback never ran");
	/* Once the pool is gone no callback can come any more. */
	cr_assert_eq(ft_pool_close(p), 0);
	cr_assert_eq(ft_pool_join(p, FT_FOREVER), 0);
	cr_assert_eq(ft_pool_free(p), 0);
	cr_assert_eq(good.ok, 1);
	cr_assert_eq(good.err, 0, "error_callback after a success");
	cr_assert_eq(good.rc, 0);
	cr_assert_eq(good.pid, (long)getpid());
	cr_assert_eq(bad.err, 1);
	cr_assert_eq(bad.ok, 0, "callback after a failure");
	cr_assert_eq(bad.rc, -EDOM);
	cr_assert_eq(bad.pid, (long)getpid());
	ft_future_free(f);
	ft_future_free(e);
	free(results);
}

Test(pool, map_async_without_callbacks, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_pool_t *p = new_pool(2);
	int items[10], results[10];
	for (int i = 0; i < 10; i++)
		items[i] = i;
	ft_future_t *f = ft_pool_map_async(p, square, items, 10, sizeof(int),
					   sizeof(int), 3, NULL, NULL, NULL);
	cr_assert_not_null(f);
	cr_assert_eq(ft_future_result(f, results, FT_FOREVER), 0);
	check_squares(results, 10, "map_async");
	/* All n results, read in place. */
	const int *in_place = ft_future_out(f);
	cr_assert_not_null(in_place, "errno %d", errno);
	check_squares(in_place, 10, "ft_future_out of a map_async");
	ft_future_free(f);
	cr_assert_eq(ft_pool_free(p), 0);
}

/* ---------------------------------------------------------------- imap */

Test(pool, imap_in_order, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	ft_pool_t *p = new_pool(3);
	int items[20];
	for (int i = 0; i < 20; i++)
		items[i] = i;
	for (size_t c = 0; c <= 3; c += 3) {
		ft_future_t *it = ft_pool_imap(p, square_but_5, items, 20,
					       sizeof(int), sizeof(int), c);
		cr_assert_not_null(it);
		for (size_t i = 0; i < 20; i++) {
			int out = -1;
			size_t idx = 999;
			int rc = ft_pool_imap_next(it, &out, &idx, FT_FOREVER);
			cr_assert_eq(idx, i, "chunksize %zu: index %zu", c, idx);
			if (i == 5) {
				cr_assert_eq(rc, -EDOM, "the failing item: %d",
					     rc);
				continue;
			}
			cr_assert_eq(rc, 0, "chunksize %zu, item %zu: %d", c, i,
				     rc);
			cr_assert_eq(out, (int)(i * i));
		}
		cr_assert_eq(ft_pool_imap_next(it, NULL, NULL, FT_FOREVER),
			     -ENODATA);
		cr_assert_eq(ft_pool_imap_next(it, NULL, NULL, 0), -ENODATA);
		cr_assert_eq(ft_wait(&it, 1, FT_ALL_COMPLETED, FT_TEST_GUARD_S,
				     NULL),
			     1, "the iterator is done once all items are");
		cr_assert_eq(ft_future_free(it), 0);
	}
	cr_assert_eq(ft_pool_free(p), 0);
}

Test(pool, imap_unordered_yields_each_once, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_pool_t *p = new_pool(3);
	int items[40];
	for (int i = 0; i < 40; i++)
		items[i] = i;
	for (size_t c = 1; c <= 4; c += 3) {
		int count[40] = { 0 };
		ft_future_t *it = ft_pool_imap_unordered(p, square_but_5, items,
							 40, sizeof(int),
							 sizeof(int), c);
		cr_assert_not_null(it);
		for (int k = 0; k < 40; k++) {
			int out = -1;
			size_t idx = 999;
			int rc = ft_pool_imap_next(it, &out, &idx, FT_FOREVER);
			cr_assert_lt(idx, 40, "rc %d", rc);
			count[idx]++;
			if (idx == 5) {
				cr_assert_eq(rc, -EDOM);
			} else if (rc == -ECANCELED) {
				/* A chunk stops at its failing item: those
				 * after it there did not run. */
				cr_assert(idx > 5 && idx / c == 5 / c,
					  "chunksize %zu: item %zu cancelled",
					  c, idx);
			} else {
				cr_assert_eq(rc, 0, "item %zu: %d", idx, rc);
				cr_assert_eq(out, (int)(idx * idx));
			}
		}
		cr_assert_eq(ft_pool_imap_next(it, NULL, NULL, FT_FOREVER),
			     -ENODATA);
		for (int i = 0; i < 40; i++)
			cr_assert_eq(count[i], 1, "chunksize %zu: item %d seen "
				     "%d times", c, i, count[i]);
		cr_assert_eq(ft_future_free(it), 0);
	}
	cr_assert_eq(ft_pool_free(p), 0);
}

Test(pool, imap_next_timeouts, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	ft_pool_t *p = new_pool(2);
	ft_event_t *g = new_event();
	struct job items[3];
	for (int i = 0; i < 3; i++)
		items[i] = (struct job){ .value = i + 1, .gate = g };
	for (int unordered = 0; unordered <= 1; unordered++) {
		ft_event_clear(g);
		ft_future_t *it = unordered ?
			ft_pool_imap_unordered(p, task, items, 3, sizeof(items[0]),
					       sizeof(struct res), 1) :
			ft_pool_imap(p, task, items, 3, sizeof(items[0]),
				     sizeof(struct res), 1);
		cr_assert_not_null(it);
		struct res r;
		cr_assert_eq(ft_pool_imap_next(it, &r, NULL, 0), -EAGAIN);
		cr_assert_eq(ft_pool_imap_next(it, &r, NULL, 0.05), -ETIMEDOUT);
		cr_assert_eq(ft_future_done(it), 0);
		cr_assert_eq(ft_event_set(g), 0);
		long sum = 0;
		for (int i = 0; i < 3; i++) {
			cr_assert_eq(ft_pool_imap_next(it, &r, NULL, FT_FOREVER),
				     0);
			sum += r.value;
		}
		cr_assert_eq(sum, 1 + 4 + 9);
		cr_assert_eq(ft_pool_imap_next(it, &r, NULL, FT_FOREVER),
			     -ENODATA);
		cr_assert_eq(ft_future_free(it), 0);
	}
	cr_assert_eq(ft_pool_free(p), 0);
	ft_event_free(g);
}

/* --------------------------------------------------------------- apply */

Test(pool, apply_and_apply_async, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	static struct cb_count good, bad;
	ft_pool_t *p = new_pool(2);
	int v = 12, out = 0;
	cr_assert_eq(ft_pool_apply(p, square, &v, sizeof(v), &out, sizeof(out),
				   FT_FOREVER),
		     0);
	cr_assert_eq(out, 144);
	v = -1000 - EXDEV;
	cr_assert_eq(ft_pool_apply(p, square, &v, sizeof(v), &out, sizeof(out),
				   FT_FOREVER),
		     -EXDEV, "the task's own code");

	v = 13;
	ft_future_t *f = ft_pool_apply_async(p, square, &v, sizeof(v),
					     sizeof(int), on_ok, on_err, &good);
	cr_assert_not_null(f);
	v = 0; /* copied: not seen */
	cr_assert_eq(ft_future_result(f, &out, FT_FOREVER), 0);
	cr_assert_eq(out, 169);
	v = -1000 - EXDEV;
	ft_future_t *e = ft_pool_apply_async(p, square, &v, sizeof(v),
					     sizeof(int), on_ok, on_err, &bad);
	cr_assert_not_null(e);
	cr_assert_eq(ft_future_result(e, &out, FT_FOREVER), -EXDEV);
	ft_future_t *plain = ft_pool_apply_async(p, square, &v, sizeof(v),
						 sizeof(int), NULL, NULL, NULL);
	cr_assert_not_null(plain);
	cr_assert_eq(ft_future_result(plain, NULL, FT_FOREVER), -EXDEV);
	cr_assert(ft_test_await_int(&good.ok, 1));
	cr_assert(ft_test_await_int(&bad.err, 1));
	cr_assert_eq(ft_pool_close(p), 0);
	cr_assert_eq(ft_pool_join(p, FT_FOREVER), 0);
	cr_assert_eq(good.ok + good.err, 1);
	cr_assert_eq(bad.ok + bad.err, 1);
	cr_assert_eq(good.rc, 0);
	cr_assert_eq(bad.rc, -EXDEV);
	/* An apply_async future is no imap iterator. */
	cr_assert_eq(ft_pool_imap_next(f, NULL, NULL, 0), -EINVAL);
	ft_future_free(f);
	ft_future_free(e);
	ft_future_free(plain);
	cr_assert_eq(ft_pool_free(p), 0);
}

/* A task that holds on for 0.2 s, an apply that gives it 0.05 s. */
Test(pool, apply_timeout, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	ft_pool_t *p = new_pool(1);
	struct job j = { .value = 3, .hold = 0.2 };
	struct res r;
	cr_assert_eq(ft_pool_apply(p, task, &j, sizeof(j), &r, sizeof(r), 0.05),
		     -ETIMEDOUT);
	j.hold = 0;
	memset(&r, 0, sizeof(r));
	cr_assert_eq(ft_pool_apply(p, task, &j, sizeof(j), &r, sizeof(r),
				   FT_FOREVER),
		     0);
	cr_assert_eq(r.value, 9);
	cr_assert_eq(ft_pool_free(p), 0);
}

/* ------------------------------------------- close, join and terminate */

Test(pool, close_then_join, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	ft_pool_t *p = new_pool(2);
	cr_assert_eq(ft_pool_join(p, 0), -EINVAL, "join while open");
	cr_assert_eq(ft_pool_join(p, FT_FOREVER), -EINVAL);
	ft_event_t *g = new_event();
	struct job j = { .value = 4, .gate = g };
	ft_future_t *f = ft_pool_apply_async(p, task, &j, sizeof(j),
					     sizeof(struct res), NULL, NULL,
					     NULL);
	cr_assert_not_null(f);
	cr_assert(ft_test_await_int(&sh->started, 1));
	cr_assert_eq(ft_pool_close(p), 0);
	cr_assert_eq(ft_pool_close(p), 0, "twice");

	int items[2] = { 1, 2 }, results[2];
	int v = 3, out;
	cr_assert_eq(ft_pool_map(p, square, items, 2, sizeof(int), results,
				 sizeof(int), 0, FT_FOREVER),
		     -ESHUTDOWN);
	cr_assert_eq(ft_pool_starmap(p, square, items, 2, sizeof(int), results,
				     sizeof(int), 0, FT_FOREVER),
		     -ESHUTDOWN);
	cr_assert_eq(ft_pool_apply(p, square, &v, sizeof(v), &out, sizeof(out),
				   FT_FOREVER),
		     -ESHUTDOWN);
	errno = 0;
	cr_assert_null(ft_pool_apply_async(p, square, &v, sizeof(v), sizeof(int),
					   NULL, NULL, NULL));
	cr_assert_eq(errno, ESHUTDOWN);
	errno = 0;
	cr_assert_null(ft_pool_map_async(p, square, items, 2, sizeof(int),
					 sizeof(int), 0, NULL, NULL, NULL));
	cr_assert_eq(errno, ESHUTDOWN);
	errno = 0;
	cr_assert_null(ft_pool_imap(p, square, items, 2, sizeof(int),
				    sizeof(int), 0));
	cr_assert_eq(errno, ESHUTDOWN);
	errno = 0;
	cr_assert_null(ft_pool_imap_unordered(p, square, items, 2, sizeof(int),
					      sizeof(int), 0));
	cr_assert_eq(errno, ESHUTDOWN);

	/* The task given before close still runs: join waits for it. */
	cr_assert_eq(ft_pool_join(p, 0), -EAGAIN);
	cr_assert_eq(ft_pool_join(p, 0.05), -ETIMEDOUT);
	cr_assert_eq(ft_future_done(f), 0);
	cr_assert_eq(ft_event_set(g), 0);
	cr_assert_eq(ft_pool_join(p, FT_FOREVER), 0);
	struct res r;
	cr_assert_eq(ft_future_result(f, &r, 0), 0, "done once joined");
	cr_assert_eq(r.value, 16);
	cr_assert_eq(ft_pool_join(p, 0), 0, "joined again");
	ft_future_free(f);
	cr_assert_eq(ft_pool_free(p), 0);
	ft_event_free(g);
}

Test(pool, terminate_then_join, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	ft_pool_t *p = new_pool(1);
	ft_event_t *g = new_event();
	struct job j = { .value = 4, .gate = g };
	ft_future_t *running = ft_pool_apply_async(p, task, &j, sizeof(j),
						   sizeof(struct res), NULL,
						   NULL, NULL);
	cr_assert_not_null(running);
	cr_assert(ft_test_await_int(&sh->started, 1));
	ft_future_t *pending[2];
	for (int i = 0; i < 2; i++) {
		pending[i] = ft_pool_apply_async(p, task, &j, sizeof(j),
						 sizeof(struct res), NULL, NULL,
						 NULL);
		cr_assert_not_null(pending[i]);
	}
	cr_assert_eq(ft_pool_terminate(p), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(ft_future_result(pending[i], NULL, FT_FOREVER),
			     -ECANCELED, "pending %d", i);
		cr_assert_eq(ft_future_cancelled(pending[i]), 1);
	}
	int v = 3, out;
	cr_assert_eq(ft_pool_apply(p, square, &v, sizeof(v), &out, sizeof(out),
				   FT_FOREVER),
		     -ESHUTDOWN);
	if (ft_test_multiprocessing()) {
		/* The process worker was killed with its task. */
		cr_assert_eq(ft_future_result(running, NULL, FT_FOREVER),
			     -ESRCH);
		cr_assert_eq(ft_pool_join(p, FT_FOREVER), 0);
	} else {
		/* A thread worker ends after its current task. */
		cr_assert_eq(ft_pool_join(p, 0), -EAGAIN);
		cr_assert_eq(ft_future_done(running), 0);
		cr_assert_eq(ft_event_set(g), 0);
		cr_assert_eq(ft_pool_join(p, FT_FOREVER), 0);
		struct res r;
		cr_assert_eq(ft_future_result(running, &r, 0), 0);
		cr_assert_eq(r.value, 16);
	}
	cr_assert_eq(ft_pool_terminate(p), 0, "again");
	cr_assert_eq(__atomic_load_n(&sh->started, __ATOMIC_ACQUIRE), 1,
		     "a cancelled task ran");
	ft_future_free(running);
	for (int i = 0; i < 2; i++)
		ft_future_free(pending[i]);
	cr_assert_eq(ft_pool_free(p), 0);
	ft_event_free(g);
}

Test(pool, free_of_an_open_idle_pool, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	ft_pool_t *p = new_pool(2);
	int v = 5, out;
	cr_assert_eq(ft_pool_apply(p, square, &v, sizeof(v), &out, sizeof(out),
				   FT_FOREVER),
		     0);
	cr_assert_eq(ft_pool_free(p), 0);
}

/* ------------------------------------------------------ the CPU count */

Test(pool, default_size_is_the_cpu_count, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	int cpus = (int)online;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
	    CPU_COUNT(&set) < cpus)
		cpus = CPU_COUNT(&set);
	cr_assert_gt(cpus, 0);
	if (cpus > 64) /* enough to tell the CPU count from a constant */
		cpus = 64;
	ft_pool_t *p = ft_pool_new(0, NULL);
	cr_assert_not_null(p, "errno %d", errno);
	/* @cpus tasks that meet at a barrier: all run at once, each on a
	 * worker of its own. */
	ft_barrier_t *b = ft_barrier_new((unsigned)cpus, NULL, NULL,
					 FT_FOREVER);
	cr_assert_not_null(b);
	struct job *items = calloc((size_t)cpus, sizeof(*items));
	struct res *results = calloc((size_t)cpus, sizeof(*results));
	for (int i = 0; i < cpus; i++)
		items[i] = (struct job){ .value = i, .barrier = b };
	int rc = ft_pool_map(p, task, items, (size_t)cpus, sizeof(*items),
			     results, sizeof(*results), 1, FT_FOREVER);
	cr_assert_eq(rc, 0, "%d tasks at a barrier of %d: %d", cpus, cpus, rc);
	for (int i = 0; i < cpus; i++) {
		cr_assert_eq(results[i].value, (long)i * i);
		for (int k = 0; k < i; k++)
			cr_assert_neq(results[i].ident, results[k].ident);
	}
	cr_assert_eq(ft_pool_free(p), 0);
	ft_barrier_free(b);
	free(items);
	free(results);

	/* A negative size too. */
	p = ft_pool_new(-3, NULL);
	cr_assert_not_null(p);
	int v = 6, out;
	cr_assert_eq(ft_pool_apply(p, square, &v, sizeof(v), &out, sizeof(out),
				   FT_FOREVER),
		     0);
	cr_assert_eq(out, 36);
	cr_assert_eq(ft_pool_free(p), 0);
}

/* --------------------------------------------------- forced kinds */

Test(pool, each_kind_of_worker, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		struct ft_pool_options o = { .flags = ft_test_kinds[k] };
		ft_pool_t *p = ft_pool_new(2, &o);
		cr_assert_not_null(p);
		int items[N], results[N];
		for (int i = 0; i < N; i++)
			items[i] = i;
		cr_assert_eq(ft_pool_map(p, square, items, N, sizeof(int),
					 results, sizeof(int), 0, FT_FOREVER),
			     0);
		check_squares(results, N, "kind");
		cr_assert_eq(ft_pool_close(p), 0);
		cr_assert_eq(ft_pool_join(p, FT_FOREVER), 0);
		cr_assert_eq(ft_pool_free(p), 0);
	}
}

/* ------------------------------- initializer and worker recycling */

static int count_init(void *arg)
{
	__atomic_fetch_add((int *)arg, 1, __ATOMIC_ACQ_REL);
	return 0;
}

/* One task per worker: each of the six runs on a fresh worker, which ran
 * the initializer first. */
Test(pool, initializer_and_max_tasks_per_worker, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		sh->inits = 0;
		struct ft_pool_options o = { .flags = ft_test_kinds[k],
					     .initializer = count_init,
					     .initarg = &sh->inits,
					     .max_tasks_per_worker = 1 };
		ft_pool_t *p = ft_pool_new(2, &o);
		cr_assert_not_null(p);
		struct job items[6];
		struct res results[6];
		for (int i = 0; i < 6; i++)
			items[i] = (struct job){ .value = i };
		cr_assert_eq(ft_pool_map(p, task, items, 6, sizeof(items[0]),
					 results, sizeof(results[0]), 1,
					 FT_FOREVER),
			     0);
		for (int i = 0; i < 6; i++) {
			cr_assert_eq(results[i].value, (long)i * i);
			for (int m = 0; m < i; m++)
				cr_assert_neq(results[i].ident, results[m].ident,
					      "kind %u: tasks %d and %d on one "
					      "worker", ft_test_kinds[k], m, i);
		}
		cr_assert_eq(ft_pool_close(p), 0);
		cr_assert_eq(ft_pool_join(p, FT_FOREVER), 0);
		cr_assert_geq(__atomic_load_n(&sh->inits, __ATOMIC_ACQUIRE), 6,
			      "kind %u: %d initializer runs", ft_test_kinds[k],
			      sh->inits);
		cr_assert_eq(ft_pool_free(p), 0);
	}
}

/* ------------------------------------------------------------ bad input */

Test(pool, bad_input, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	struct ft_pool_options o = { .flags = FT_WORKER_PROCESS |
					      FT_WORKER_THREAD };
	errno = 0;
	cr_assert_null(ft_pool_new(1, &o));
	cr_assert_eq(errno, EINVAL);
	o = (struct ft_pool_options){ .flags = FT_WORKER_THREAD,
				      .task_time_limit = 1.0 };
	errno = 0;
	cr_assert_null(ft_pool_new(1, &o));
	cr_assert_eq(errno, EOPNOTSUPP);

	ft_pool_t *p = new_pool(1);
	int items[2] = { 1, 2 }, results[2];
	cr_assert_eq(ft_pool_map(NULL, square, items, 2, sizeof(int), results,
				 sizeof(int), 0, FT_FOREVER),
		     -EINVAL);
	cr_assert_eq(ft_pool_map(p, NULL, items, 2, sizeof(int), results,
				 sizeof(int), 0, FT_FOREVER),
		     -EINVAL);
	cr_assert_eq(ft_pool_map(p, square, NULL, 2, sizeof(int), results,
				 sizeof(int), 0, FT_FOREVER),
		     -EINVAL);
	cr_assert_eq(ft_pool_map(p, square, items, 2, sizeof(int), NULL,
				 sizeof(int), 0, FT_FOREVER),
		     -EINVAL);
	cr_assert_eq(ft_pool_map(p, square, items, 2, sizeof(int), results,
				 sizeof(int), 0, NAN),
		     -EINVAL);
	ft_event_t *e = new_event();
	ft_pool_t *not_p = (ft_pool_t *)(void *)e;
	cr_assert_eq(ft_pool_map(not_p, square, items, 2, sizeof(int), results,
				 sizeof(int), 0, FT_FOREVER),
		     -EBADF);
	cr_assert_eq(ft_pool_close(NULL), -EINVAL);
	cr_assert_eq(ft_pool_close(not_p), -EBADF);
	cr_assert_eq(ft_pool_terminate(NULL), -EINVAL);
	cr_assert_eq(ft_pool_terminate(not_p), -EBADF);
	cr_assert_eq(ft_pool_join(NULL, 0), -EINVAL);
	cr_assert_eq(ft_pool_join(not_p, 0), -EBADF);
	cr_assert_eq(ft_pool_free(NULL), -EINVAL);
	cr_assert_eq(ft_pool_free(not_p), -EBADF);
	errno = 0;
	cr_assert_null(ft_pool_apply_async(NULL, square, items, sizeof(int),
					   sizeof(int), NULL, NULL, NULL));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(ft_pool_map_async(p, NULL, items, 2, sizeof(int),
					 sizeof(int), 0, NULL, NULL, NULL));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(ft_pool_imap(p, square, NULL, 2, sizeof(int),
				    sizeof(int), 0));
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(ft_pool_imap_next(NULL, NULL, NULL, 0), -EINVAL);
	cr_assert_eq(ft_pool_imap_next((ft_future_t *)(void *)e, NULL, NULL,
				       0),
		     -EBADF);
	ft_future_t *it = ft_pool_imap(p, square, items, 2, sizeof(int),
				       sizeof(int), 1);
	cr_assert_not_null(it);
	cr_assert_eq(ft_pool_imap_next(it, NULL, NULL, NAN), -EINVAL);
	ft_future_free(it);
	cr_assert_eq(ft_pool_free(p), 0);
	ft_event_free(e);
}
