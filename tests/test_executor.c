/* SPDX-License-Identifier: MIT */
/*
 * The WorkerPoolExecutor (concurrent.futures): submit and result, a
 * task's own code, the states of a future (pending, running, done,
 * cancelled), cancel, done-callbacks, ft_executor_map (order, chunks, the
 * first failing item in item order, its timeout), shutdown (idempotent,
 * cancel_futures), the initializer (in every worker; a failing one breaks
 * the executor), max_tasks_per_worker, zero-copy input from the arena,
 * and bad input.  Tasks that must stay running wait on an Event of their
 * own (in the arena) and count their start in the test's shared page, so
 * the test decides when they end; no test relies on a pause.
 */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

/* What the test body and every worker (thread or process) see. */
struct shared {
	int started;     /* tasks that began */
	int finished;    /* tasks that ran to their end */
	int inits;       /* initializer runs */
	int other_rc[4]; /* what a process worker saw calling in */
	int other_errno;
	int other_done;
};
static struct shared *sh;

static void setup(void)
{
	sh = ft_test_shared(sizeof(*sh));
}

/* A task's input: square @value, return @code; first count the start in
 * @started, set @set, wait for @gate and the @barrier, hold on for @hold
 * seconds (each if given), and at the end count it in @finished. */
struct job {
	int value;
	int code;
	ft_event_t *gate;
	ft_event_t *set;
	ft_barrier_t *barrier;
	int *started;
	double hold;
	int *finished;
};

struct res {
	long value;
	long ident;
	long pid;
};

/* The guard of a gate that was never opened: a code no test expects. */
#define GATE_NEVER_OPENED (-ENOLINK)

static int task(const void *in, void *out)
{
	const struct job *j = in;
	struct res *r = out;
	if (j->started)
		__atomic_fetch_add(j->started, 1, __ATOMIC_ACQ_REL);
	if (j->set)
		ft_event_set(j->set);
	if (j->gate && ft_event_wait(j->gate, FT_TEST_GUARD_S) != 0)
		return GATE_NEVER_OPENED;
	if (j->barrier && ft_barrier_wait(j->barrier, FT_TEST_GUARD_S) < 0)
		return GATE_NEVER_OPENED;
	if (j->hold > 0) {
		struct timespec ts = { 0, (long)(j->hold * 1e9) };
		while (nanosleep(&ts, &ts) != 0)
			;
	}
	r->value = (long)j->value * j->value;
	r->ident = ft_get_ident();
	r->pid = getpid();
	if (j->finished)
		__atomic_fetch_add(j->finished, 1, __ATOMIC_ACQ_REL);
	return j->code;
}

/* int -> int square.  An item at or below -1000 fails with the code
 * item + 1000 (e.g. -1000 - EDOM fails with -EDOM). */
static int square(const void *in, void *out)
{
	int v;
	memcpy(&v, in, sizeof(v));
	if (v <= -1000)
		return v + 1000 < 0 ? v + 1000 : -EDOM;
	v *= v;
	memcpy(out, &v, sizeof(v));
	return 0;
}

static int writes_nothing(const void *in, void *out)
{
	(void)in;
	(void)out;
	return 0;
}

static struct job gated(ft_event_t *gate, int value)
{
	struct job j = { .value = value, .gate = gate, .started = &sh->started };
	return j;
}

static ft_future_t *submit_job(ft_executor_t *ex, const struct job *j)
{
	ft_future_t *f = ft_executor_submit(ex, task, j, sizeof(*j),
					    sizeof(struct res));
	cr_assert_not_null(f, "submit: errno %d", errno);
	return f;
}

static ft_executor_t *new_ex(int n, unsigned flags)
{
	struct ft_pool_options o = { .flags = flags };
	ft_executor_t *ex = ft_executor_new(n, &o);
	cr_assert_not_null(ex, "ft_executor_new(%d, flags %u): errno %d", n,
			   flags, errno);
	return ex;
}

static ft_event_t *new_event(void)
{
	ft_event_t *e = ft_event_new();
	cr_assert_not_null(e);
	return e;
}

/* ------------------------------------------------------------- results */

Test(executor, submit_and_result_round_trip, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		unsigned kind = ft_test_kinds[k];
		ft_executor_t *ex = new_ex(2, kind);
		struct job j = { .value = 7 };
		ft_future_t *f = submit_job(ex, &j);
		struct res r = { 0 };
		cr_assert_eq(ft_future_result(f, &r, FT_FOREVER), 0);
		cr_assert_eq(r.value, 49, "kind %u: %ld", kind, r.value);
		if (ft_test_kind_is_process(kind))
			cr_assert_neq(r.pid, (long)getpid(),
				      "kind %u ran in the caller's process", kind);
		else
			cr_assert_eq(r.pid, (long)getpid(),
				     "kind %u ran in another process", kind);
		cr_assert_eq(ft_future_done(f), 1);
		cr_assert_eq(ft_future_running(f), 0);
		cr_assert_eq(ft_future_cancelled(f), 0);
		struct res again = { 0 };
		cr_assert_eq(ft_future_result(f, &again, 0), 0, "asked twice");
		cr_assert_eq(again.value, 49);
		cr_assert_eq(ft_future_result(f, NULL, 0), 0, "NULL @out");
		cr_assert_eq(ft_future_free(f), 0);

		/* @in is copied at submit: changing it afterwards (the
		 * task still waits for its gate) is not seen. */
		ft_event_t *g = new_event();
		sh->started = 0;
		j = gated(g, 3);
		f = submit_job(ex, &j);
		j.value = 1000;
		cr_assert(ft_test_await_int(&sh->started, 1));
		cr_assert_eq(ft_event_set(g), 0);
		cr_assert_eq(ft_future_result(f, &r, FT_FOREVER), 0);
		cr_assert_eq(r.value, 9, "kind %u: the task saw %ld", kind,
			     r.value);
		cr_assert_eq(ft_future_free(f), 0);

		/* The output starts zeroed. */
		unsigned char out[64];
		memset(out, 0xAA, sizeof(out));
		f = ft_executor_submit(ex, writes_nothing, NULL, 0, sizeof(out));
		cr_assert_not_null(f);
		cr_assert_eq(ft_future_result(f, out, FT_FOREVER), 0);
		for (size_t i = 0; i < sizeof(out); i++)
			cr_assert_eq(out[i], 0, "kind %u: out[%zu] = %#x", kind,
				     i, out[i]);
		cr_assert_eq(ft_future_free(f), 0);

		cr_assert_eq(ft_executor_free(ex), 0);
		ft_event_free(g);
	}
}

Test(executor, a_tasks_code_passes_through, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_executor_t *ex = new_ex(2, 0);
	struct job j = { .value = 6, .code = -42 };
	ft_future_t *f = submit_job(ex, &j);
	struct res r = { 0 };
	cr_assert_eq(ft_future_result(f, &r, FT_FOREVER), -42);
	cr_assert_eq(r.value, 36, "the failing task's output is copied too");
	cr_assert_eq(ft_future_result(f, NULL, 0), -42);
	cr_assert_eq(ft_future_done(f), 1);
	cr_assert_eq(ft_future_cancelled(f), 0);
	cr_assert_eq(ft_future_free(f), 0);

	int v = -1000 - EXDEV; /* square() fails with -EXDEV */
	int out = 77;
	f = ft_executor_submit(ex, square, &v, sizeof(v), sizeof(out));
	cr_assert_not_null(f);
	cr_assert_eq(ft_future_result(f, &out, FT_FOREVER), -EXDEV);
	cr_assert_eq(ft_future_free(f), 0);
	cr_assert_eq(ft_executor_free(ex), 0);
}

Test(executor, states_of_a_running_future, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_executor_t *ex = new_ex(1, 0);
	ft_event_t *g = new_event();
	struct job j = gated(g, 4);
	ft_future_t *f = submit_job(ex, &j);
	cr_assert(ft_test_await_int(&sh->started, 1), "the task never started");
	cr_assert_eq(ft_future_running(f), 1);
	cr_assert_eq(ft_future_done(f), 0);
	cr_assert_eq(ft_future_cancelled(f), 0);
	struct res r = { 0 };
	cr_assert_eq(ft_future_result(f, &r, 0), -EAGAIN);
	double t0 = ft_test_now();
	cr_assert_eq(ft_future_result(f, &r, 0.05), -ETIMEDOUT);
	cr_assert_geq(ft_test_now() - t0, 0.05, "returned early");
	cr_assert_eq(ft_future_result(f, &r, -0.5), -ETIMEDOUT,
		     "a deadline already passed");
	cr_assert_eq(r.value, 0, "nothing copied while not done");
	cr_assert_eq(ft_future_cancel(f, false), 0, "running: not cancelled");
	cr_assert_eq(ft_future_cancelled(f), 0);
	cr_assert_eq(ft_future_running(f), 1);

	cr_assert_eq(ft_event_set(g), 0);
	cr_assert_eq(ft_future_result(f, &r, FT_FOREVER), 0);
	cr_assert_eq(r.value, 16);
	cr_assert_eq(ft_future_done(f), 1);
	cr_assert_eq(ft_future_running(f), 0);
	cr_assert_eq(ft_future_cancel(f, false), 0, "done: not cancelled");
	cr_assert_eq(ft_future_cancelled(f), 0);
	cr_assert_eq(ft_future_result(f, &r, 0), 0);
	cr_assert_eq(ft_future_free(f), 0);
	cr_assert_eq(ft_executor_free(ex), 0);
	ft_event_free(g);
}

Test(executor, cancel_a_pending_future, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		sh->started = 0;
		ft_executor_t *ex = new_ex(1, ft_test_kinds[k]);
		ft_event_t *g = new_event();
		struct job j = gated(g, 2);
		ft_future_t *blocker = submit_job(ex, &j);
		cr_assert(ft_test_await_int(&sh->started, 1));
		/* The only worker is busy: this one stays pending. */
		j = gated(NULL, 3);
		ft_future_t *f = submit_job(ex, &j);
		cr_assert_eq(ft_future_running(f), 0);
		cr_assert_eq(ft_future_done(f), 0);
		cr_assert_eq(ft_future_cancel(f, false), 1);
		cr_assert_eq(ft_future_cancel(f, false), 1, "cancelled already");
		cr_assert_eq(ft_future_cancelled(f), 1);
		cr_assert_eq(ft_future_done(f), 1);
		cr_assert_eq(ft_future_running(f), 0);
		cr_assert_eq(ft_future_result(f, NULL, FT_FOREVER), -ECANCELED);
		cr_assert_eq(ft_future_result(f, NULL, 0), -ECANCELED);

		cr_assert_eq(ft_event_set(g), 0);
		struct res r;
		cr_assert_eq(ft_future_result(blocker, &r, FT_FOREVER), 0);
		/* The executor goes on, and never ran the cancelled task. */
		j = gated(NULL, 5);
		ft_future_t *after = submit_job(ex, &j);
		cr_assert_eq(ft_future_result(after, &r, FT_FOREVER), 0);
		cr_assert_eq(r.value, 25);
		cr_assert_eq(ft_executor_shutdown(ex, true, false), 0);
		cr_assert_eq(__atomic_load_n(&sh->started, __ATOMIC_ACQUIRE), 2,
			     "kind %u: the cancelled task ran", ft_test_kinds[k]);
		cr_assert_eq(ft_future_result(f, NULL, 0), -ECANCELED);
		ft_future_free(f);
		ft_future_free(blocker);
		ft_future_free(after);
		cr_assert_eq(ft_executor_free(ex), 0);
		ft_event_free(g);
	}
}

/* A thread cannot be stopped: cancel with @kill of a running task in a
 * thread worker is refused and the task runs to its end. */
Test(executor, kill_cancel_of_a_thread_task_is_refused, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_executor_t *ex = new_ex(1, FT_WORKER_THREAD);
	ft_event_t *g = new_event();
	struct job j = gated(g, 8);
	ft_future_t *f = submit_job(ex, &j);
	cr_assert(ft_test_await_int(&sh->started, 1));
	cr_assert_eq(ft_future_cancel(f, true), 0);
	cr_assert_eq(ft_future_cancelled(f), 0);
	cr_assert_eq(ft_future_running(f), 1);
	cr_assert_eq(ft_event_set(g), 0);
	struct res r;
	cr_assert_eq(ft_future_result(f, &r, FT_FOREVER), 0);
	cr_assert_eq(r.value, 64);
	ft_future_free(f);
	cr_assert_eq(ft_executor_free(ex), 0);
	ft_event_free(g);
}

/* ft_future_out: the output read in place once done. */
Test(executor, output_read_in_place, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	ft_executor_t *ex = new_ex(1, 0);
	ft_event_t *g = new_event();
	struct job j = gated(g, 6);
	j.code = -9;
	ft_future_t *f = submit_job(ex, &j);
	errno = 0;
	cr_assert_null(ft_future_out(f), "not done yet");
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(ft_event_set(g), 0);
	struct res r;
	cr_assert_eq(ft_future_result(f, &r, FT_FOREVER), -9);
	const struct res *in_place = ft_future_out(f);
	cr_assert_not_null(in_place, "errno %d", errno);
	cr_assert_eq(in_place->value, 36, "a failed task's output too");
	cr_assert_eq(memcmp(in_place, &r, sizeof(r)), 0);
	cr_assert_eq(ft_future_out(f), (const void *)in_place, "the same place");

	/* A cancelled one has none to give (or zeroes): never a crash. */
	ft_event_clear(g);
	sh->started = 0;
	j.code = 0;
	ft_future_t *blocker = submit_job(ex, &j);
	cr_assert(ft_test_await_int(&sh->started, 1));
	ft_future_t *c = submit_job(ex, &j);
	cr_assert_eq(ft_future_cancel(c, false), 1);
	const struct res *none = ft_future_out(c);
	if (none)
		cr_assert_eq(none->value, 0, "a cancelled task wrote output");
	cr_assert_eq(ft_event_set(g), 0);
	cr_assert_eq(ft_future_result(blocker, NULL, FT_FOREVER), 0);

	errno = 0;
	cr_assert_null(ft_future_out(NULL));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(ft_future_out((ft_future_t *)(void *)g));
	cr_assert_eq(errno, EBADF);
	ft_future_free(f);
	ft_future_free(c);
	ft_future_free(blocker);
	cr_assert_eq(ft_executor_free(ex), 0);
	ft_event_free(g);
}

/* ------------------------------------------------------ done-callbacks */

/* Callbacks run in this process: plain memory of the test process. */
struct cb_record {
	int calls;
	long tid;
	long pid;
	int rc;
	long value;
};

static void record_cb(ft_future_t *f, void *arg)
{
	struct cb_record *c = arg;
	struct res r = { 0 };
	c->rc = ft_future_result(f, &r, 0);
	c->value = r.value;
	c->tid = ft_get_ident();
	c->pid = getpid();
	__atomic_fetch_add(&c->calls, 1, __ATOMIC_ACQ_REL);
}

Test(executor, done_callback_on_a_done_future_runs_at_once, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	static struct cb_record c;
	ft_executor_t *ex = new_ex(2, 0);
	struct job j = { .value = 5, .code = -7 };
	ft_future_t *f = submit_job(ex, &j);
	cr_assert_eq(ft_future_result(f, NULL, FT_FOREVER), -7);
	cr_assert_eq(ft_future_add_done_callback(f, record_cb, &c), 0);
	cr_assert_eq(__atomic_load_n(&c.calls, __ATOMIC_ACQUIRE), 1,
		     "not run at once");
	cr_assert_eq(c.tid, ft_get_ident(), "not run in the caller");
	cr_assert_eq(c.rc, -7);
	cr_assert_eq(c.value, 25);
	cr_assert_eq(ft_executor_shutdown(ex, true, false), 0);
	cr_assert_eq(__atomic_load_n(&c.calls, __ATOMIC_ACQUIRE), 1,
		     "run again later");
	ft_future_free(f);
	cr_assert_eq(ft_executor_free(ex), 0);
}

Test(executor, done_callback_runs_once_on_the_manager_thread, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	static struct cb_record c1, c2;
	ft_executor_t *ex = new_ex(1, 0);
	ft_event_t *g = new_event();
	struct job j = gated(g, 9);
	ft_future_t *f = submit_job(ex, &j);
	cr_assert_eq(ft_future_add_done_callback(f, record_cb, &c1), 0);
	cr_assert_eq(ft_future_add_done_callback(f, record_cb, &c2), 0);
	cr_assert(ft_test_await_int(&sh->started, 1));
	cr_assert_eq(__atomic_load_n(&c1.calls, __ATOMIC_ACQUIRE), 0,
		     "called before the task ended");
	cr_assert_eq(ft_event_set(g), 0);
	cr_assert_eq(ft_future_result(f, NULL, FT_FOREVER), 0);
	cr_assert(ft_test_await_int(&c1.calls, 1), "callback 1 never ran");
	cr_assert(ft_test_await_int(&c2.calls, 1), "callback 2 never ran");
	cr_assert_eq(c1.pid, (long)getpid(), "not in the creating process");
	cr_assert_neq(c1.tid, ft_get_ident(), "not on the manager thread");
	cr_assert_eq(c1.rc, 0);
	cr_assert_eq(c1.value, 81, "the result is there for the callback");
	cr_assert_eq(c2.rc, 0);
	cr_assert_eq(ft_executor_shutdown(ex, true, false), 0);
	cr_assert_eq(__atomic_load_n(&c1.calls, __ATOMIC_ACQUIRE), 1);
	cr_assert_eq(__atomic_load_n(&c2.calls, __ATOMIC_ACQUIRE), 1);
	ft_future_free(f);
	cr_assert_eq(ft_executor_free(ex), 0);
	ft_event_free(g);
}

Test(executor, done_callback_of_a_cancelled_future, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	static struct cb_record c;
	ft_executor_t *ex = new_ex(1, 0);
	ft_event_t *g = new_event();
	struct job j = gated(g, 1);
	ft_future_t *blocker = submit_job(ex, &j);
	cr_assert(ft_test_await_int(&sh->started, 1));
	ft_future_t *f = submit_job(ex, &j);
	cr_assert_eq(ft_future_add_done_callback(f, record_cb, &c), 0);
	cr_assert_eq(__atomic_load_n(&c.calls, __ATOMIC_ACQUIRE), 0);
	cr_assert_eq(ft_future_cancel(f, false), 1);
	cr_assert(ft_test_await_int(&c.calls, 1), "callback never ran");
	cr_assert_eq(c.rc, -ECANCELED);
	cr_assert_eq(ft_event_set(g), 0);
	cr_assert_eq(ft_future_result(blocker, NULL, FT_FOREVER), 0);
	cr_assert_eq(ft_executor_shutdown(ex, true, false), 0);
	cr_assert_eq(__atomic_load_n(&c.calls, __ATOMIC_ACQUIRE), 1);
	ft_future_free(f);
	ft_future_free(blocker);
	cr_assert_eq(ft_executor_free(ex), 0);
	ft_event_free(g);
}

/* ----------------------------------------------------------------- map */

static void check_map(ft_executor_t *ex, size_t n, size_t chunksize)
{
	int items[64], results[64];
	cr_assert_leq(n, 64);
	for (size_t i = 0; i < n; i++)
		items[i] = (int)i;
	for (size_t i = 0; i < 64; i++)
		results[i] = -1;
	cr_assert_eq(ft_executor_map(ex, square, n ? items : NULL, n,
				     sizeof(int), n ? results : NULL,
				     sizeof(int), chunksize, FT_FOREVER),
		     0, "n %zu, chunksize %zu", n, chunksize);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(results[i], (int)(i * i),
			     "n %zu, chunksize %zu: results[%zu] = %d", n,
			     chunksize, i, results[i]);
	for (size_t i = n; i < 64; i++)
		cr_assert_eq(results[i], -1, "written past n");
}

Test(executor, map_in_order, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		ft_executor_t *ex = new_ex(2, ft_test_kinds[k]);
		static const size_t ns[] = { 0, 1, 2, 9, 10, 11, 64 };
		static const size_t chunks[] = { 1, 3, 4, 10, 100 };
		for (size_t a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
			for (size_t b = 0; b < sizeof(chunks) / sizeof(chunks[0]);
			     b++)
				check_map(ex, ns[a], chunks[b]);
		/* A zero-sized output: nothing written. */
		int items[3] = { 1, 2, 3 }, untouched = 5;
		cr_assert_eq(ft_executor_map(ex, writes_nothing, items, 3,
					     sizeof(int), &untouched, 0, 1,
					     FT_FOREVER),
			     0);
		cr_assert_eq(untouched, 5);
		cr_assert_eq(ft_executor_free(ex), 0);
	}
}

Test(executor, map_fails_with_the_failing_items_code, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_executor_t *ex = new_ex(2, 0);
	static const size_t chunks[] = { 1, 3 };
	for (size_t c = 0; c < 2; c++) {
		int items[10], results[10];
		for (int i = 0; i < 10; i++) {
			items[i] = i;
			results[i] = -1;
		}
		items[5] = -1000 - EDOM;
		int rc = ft_executor_map(ex, square, items, 10, sizeof(int),
					 results, sizeof(int), chunks[c],
					 FT_FOREVER);
		cr_assert_eq(rc, -EDOM, "chunksize %zu: %d", chunks[c], rc);
		for (int i = 0; i < 5; i++)
			cr_assert_eq(results[i], i * i,
				     "chunksize %zu: results[%d] before the "
				     "failing item = %d",
				     chunks[c], i, results[i]);
	}
	/* And a following map is fine. */
	check_map(ex, 10, 3);
	cr_assert_eq(ft_executor_free(ex), 0);
}

/* The first failing item in item order, not in time: item 7 fails first
 * (it opens the gate item 5 waits for, then fails), item 5 after it. */
Test(executor, map_reports_the_first_failure_in_item_order, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_executor_t *ex = new_ex(4, 0);
	ft_event_t *g = new_event();
	struct job items[10];
	struct res results[10];
	memset(results, 0, sizeof(results));
	for (int i = 0; i < 10; i++)
		items[i] = gated(NULL, i);
	items[5].gate = g;
	items[5].code = -EDOM;
	items[7].set = g;
	items[7].code = -EXDEV;
	int rc = ft_executor_map(ex, task, items, 10, sizeof(items[0]), results,
				 sizeof(results[0]), 1, FT_FOREVER);
	cr_assert_eq(rc, -EDOM, "got %d (-EXDEV is item 7's, %d the gate's "
		     "guard)", rc, GATE_NEVER_OPENED);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(results[i].value, i * i);
	cr_assert_eq(ft_executor_free(ex), 0);
	ft_event_free(g);
}

/*
 * Tasks that each hold on for 0.2 s, a map that gives them 0.05 s: the
 * deadline passes while the first two run (whenever they started, each
 * ends at least 0.2 s after the call), so the map returns -ETIMEDOUT and
 * cancels the four not started.  With thread workers the map works in
 * the caller's arrays, so it returns only once the running tasks ended.
 */
Test(executor, map_timeout_cancels_what_has_not_started, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		unsigned kind = ft_test_kinds[k];
		sh->started = sh->finished = 0;
		ft_executor_t *ex = new_ex(2, kind);
		struct job items[6];
		struct res results[6];
		for (int i = 0; i < 6; i++)
			items[i] = (struct job){ .value = i,
						 .started = &sh->started,
						 .hold = 0.2,
						 .finished = &sh->finished };
		double t0 = ft_test_now();
		int rc = ft_executor_map(ex, task, items, 6, sizeof(items[0]),
					 results, sizeof(results[0]), 1, 0.05);
		cr_assert_eq(rc, -ETIMEDOUT, "kind %u: got %d", kind, rc);
		cr_assert_geq(ft_test_now() - t0, 0.05, "returned early");
		if (!ft_test_kind_is_process(kind)) {
			int started = __atomic_load_n(&sh->started,
						      __ATOMIC_ACQUIRE);
			cr_assert_eq(__atomic_load_n(&sh->finished,
						     __ATOMIC_ACQUIRE),
				     started,
				     "kind %u: returned with tasks running in "
				     "the caller's arrays", kind);
		}
		cr_assert_eq(ft_executor_shutdown(ex, true, false), 0);
		/* At most the two the workers held ran: the others were
		 * cancelled (a worker slow to start may not have taken its
		 * first even). */
		int started = __atomic_load_n(&sh->started, __ATOMIC_ACQUIRE);
		cr_assert_leq(started, 2, "kind %u: %d ran: tasks not started "
			      "when the map timed out ran", kind, started);
		cr_assert_eq(ft_executor_free(ex), 0);
	}
}

/* ------------------------------------------------------------ shutdown */

Test(executor, shutdown_is_idempotent_and_refuses_new_work, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_executor_t *ex = new_ex(2, 0);
	struct job j = { .value = 3 };
	ft_future_t *f = submit_job(ex, &j);
	cr_assert_eq(ft_executor_shutdown(ex, true, false), 0);
	cr_assert_eq(ft_future_done(f), 1, "shutdown(wait) returned early");
	cr_assert_eq(ft_executor_shutdown(ex, true, false), 0, "again");
	cr_assert_eq(ft_executor_shutdown(ex, false, true), 0, "and again");
	errno = 0;
	cr_assert_null(ft_executor_submit(ex, task, &j, sizeof(j),
					  sizeof(struct res)));
	cr_assert_eq(errno, ESHUTDOWN);
	int items[2] = { 1, 2 }, results[2];
	cr_assert_eq(ft_executor_map(ex, square, items, 2, sizeof(int),
				     results, sizeof(int), 1, FT_FOREVER),
		     -ESHUTDOWN);
	struct res r;
	cr_assert_eq(ft_future_result(f, &r, 0), 0, "futures stay valid");
	cr_assert_eq(r.value, 9);
	ft_future_free(f);
	cr_assert_eq(ft_executor_free(ex), 0);
}

Test(executor, shutdown_without_wait_lets_pending_tasks_run, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_executor_t *ex = new_ex(1, 0);
	ft_event_t *g = new_event();
	struct job j = gated(g, 2);
	ft_future_t *f[3];
	for (int i = 0; i < 3; i++)
		f[i] = submit_job(ex, &j);
	cr_assert(ft_test_await_int(&sh->started, 1));
	cr_assert_eq(ft_executor_shutdown(ex, false, false), 0);
	errno = 0;
	cr_assert_null(ft_executor_submit(ex, task, &j, sizeof(j),
					  sizeof(struct res)));
	cr_assert_eq(errno, ESHUTDOWN);
	cr_assert_eq(ft_future_done(f[2]), 0, "a pending task was dropped");
	cr_assert_eq(ft_event_set(g), 0);
	for (int i = 0; i < 3; i++) {
		struct res r = { 0 };
		cr_assert_eq(ft_future_result(f[i], &r, FT_FOREVER), 0,
			     "future %d", i);
		cr_assert_eq(r.value, 4);
		ft_future_free(f[i]);
	}
	cr_assert_eq(ft_executor_free(ex), 0);
	ft_event_free(g);
}

Test(executor, shutdown_cancel_futures_cancels_the_pending, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_executor_t *ex = new_ex(1, 0);
	ft_event_t *g = new_event();
	struct job j = gated(g, 2);
	ft_future_t *blocker = submit_job(ex, &j);
	cr_assert(ft_test_await_int(&sh->started, 1));
	ft_future_t *f[3];
	for (int i = 0; i < 3; i++)
		f[i] = submit_job(ex, &j);
	cr_assert_eq(ft_executor_shutdown(ex, false, true), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(ft_future_cancelled(f[i]), 1, "future %d", i);
		cr_assert_eq(ft_future_done(f[i]), 1);
		cr_assert_eq(ft_future_result(f[i], NULL, 0), -ECANCELED);
	}
	cr_assert_eq(ft_future_cancelled(blocker), 0);
	cr_assert_eq(ft_future_done(blocker), 0, "the running one goes on");
	cr_assert_eq(ft_event_set(g), 0);
	struct res r;
	cr_assert_eq(ft_future_result(blocker, &r, FT_FOREVER), 0);
	cr_assert_eq(r.value, 4);
	cr_assert_eq(ft_executor_free(ex), 0);
	cr_assert_eq(__atomic_load_n(&sh->started, __ATOMIC_ACQUIRE), 1,
		     "a cancelled task ran");
	for (int i = 0; i < 3; i++)
		ft_future_free(f[i]);
	ft_future_free(blocker);
	ft_event_free(g);
}

/* --------------------------------------------------------- initializer */

static int count_init(void *arg)
{
	__atomic_fetch_add((int *)arg, 1, __ATOMIC_ACQ_REL);
	return 0;
}

static int failing_init(void *arg)
{
	__atomic_fetch_add((int *)arg, 1, __ATOMIC_ACQ_REL);
	return -5;
}

Test(executor, initializer_runs_in_every_worker, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		sh->inits = 0;
		struct ft_pool_options o = { .flags = ft_test_kinds[k],
					     .initializer = count_init,
					     .initarg = &sh->inits };
		ft_executor_t *ex = ft_executor_new(3, &o);
		cr_assert_not_null(ex);
		/* Three tasks that meet at a barrier: one on each worker. */
		ft_barrier_t *b = ft_barrier_new(3, NULL, NULL, FT_FOREVER);
		cr_assert_not_null(b);
		struct job j = { .value = 2, .barrier = b };
		ft_future_t *f[3];
		struct res r[3];
		for (int i = 0; i < 3; i++)
			f[i] = submit_job(ex, &j);
		for (int i = 0; i < 3; i++) {
			cr_assert_eq(ft_future_result(f[i], &r[i], FT_FOREVER),
				     0, "kind %u: task %d", ft_test_kinds[k], i);
			ft_future_free(f[i]);
		}
		cr_assert(r[0].ident != r[1].ident && r[1].ident != r[2].ident &&
			  r[0].ident != r[2].ident);
		cr_assert_eq(ft_executor_shutdown(ex, true, false), 0);
		cr_assert_eq(__atomic_load_n(&sh->inits, __ATOMIC_ACQUIRE), 3,
			     "kind %u: %d initializer runs for 3 workers",
			     ft_test_kinds[k], sh->inits);
		cr_assert_eq(ft_executor_free(ex), 0);
		ft_barrier_free(b);
	}
}

Test(executor, failing_initializer_breaks_the_executor, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		sh->inits = 0;
		struct ft_pool_options o = { .flags = ft_test_kinds[k],
					     .initializer = failing_init,
					     .initarg = &sh->inits };
		ft_executor_t *ex = ft_executor_new(1, &o);
		cr_assert_not_null(ex, "errno %d", errno);
		struct job j = { .value = 2, .started = &sh->started };
		for (int i = 0; i < 3; i++) {
			errno = 0;
			ft_future_t *f = ft_executor_submit(ex, task, &j,
							    sizeof(j),
							    sizeof(struct res));
			if (!f) {
				cr_assert_eq(errno, EPIPE, "kind %u: errno %d",
					     ft_test_kinds[k], errno);
				continue;
			}
			int rc = ft_future_result(f, NULL, FT_FOREVER);
			cr_assert_eq(rc, -EPIPE, "kind %u: future %d got %d",
				     ft_test_kinds[k], i, rc);
			cr_assert_eq(ft_future_done(f), 1);
			ft_future_free(f);
		}
		/* A future failed with -EPIPE: broken for good now. */
		errno = 0;
		cr_assert_null(ft_executor_submit(ex, task, &j, sizeof(j),
						  sizeof(struct res)));
		cr_assert_eq(errno, EPIPE);
		int items[2] = { 1, 2 }, results[2];
		cr_assert_eq(ft_executor_map(ex, square, items, 2, sizeof(int),
					     results, sizeof(int), 1,
					     FT_FOREVER),
			     -EPIPE);
		cr_assert_eq(ft_executor_shutdown(ex, true, false), 0);
		cr_assert_eq(ft_executor_free(ex), 0);
		cr_assert_eq(sh->started, 0, "a task ran on a broken executor");
		cr_assert_geq(sh->inits, 1);
	}
}

/* --------------------------------------------------- worker recycling */

Test(executor, max_tasks_per_worker_replaces_workers, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		struct ft_pool_options o = { .flags = ft_test_kinds[k],
					     .max_tasks_per_worker = 2 };
		ft_executor_t *ex = ft_executor_new(2, &o);
		cr_assert_not_null(ex);
		ft_future_t *f[10];
		struct res r[10];
		for (int i = 0; i < 10; i++) {
			struct job j = { .value = i };
			f[i] = submit_job(ex, &j);
		}
		for (int i = 0; i < 10; i++) {
			cr_assert_eq(ft_future_result(f[i], &r[i], FT_FOREVER),
				     0, "kind %u: task %d", ft_test_kinds[k], i);
			cr_assert_eq(r[i].value, (long)i * i);
			ft_future_free(f[i]);
		}
		/* No worker served more than two: at least five served. */
		int distinct = 0;
		for (int i = 0; i < 10; i++) {
			int same = 0, first = 1;
			for (int m = 0; m < 10; m++)
				if (r[m].ident == r[i].ident) {
					same++;
					if (m < i)
						first = 0;
				}
			cr_assert_leq(same, 2, "kind %u: worker %ld ran %d tasks",
				      ft_test_kinds[k], r[i].ident, same);
			distinct += first;
		}
		cr_assert_geq(distinct, 5);
		cr_assert_eq(ft_executor_free(ex), 0);
	}
}

/* ------------------------------------------------------------ zero-copy */

#define BIG (1u << 20)

struct sum {
	unsigned long sum;
	uintptr_t in;
};

static int sum_task(const void *in, void *out)
{
	const unsigned char *p = in;
	struct sum s = { 0, (uintptr_t)in };
	for (size_t i = 0; i < BIG; i++)
		s.sum += p[i];
	memcpy(out, &s, sizeof(s));
	return 0;
}

Test(executor, arena_input_is_read_in_place, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		ft_executor_t *ex = new_ex(2, ft_test_kinds[k]);
		unsigned char *shared = ft_shared_alloc(BIG);
		unsigned char *plain = malloc(BIG);
		cr_assert_not_null(shared);
		cr_assert_not_null(plain);
		unsigned long want = 0;
		for (size_t i = 0; i < BIG; i++) {
			shared[i] = plain[i] = (unsigned char)(i * 31 + 7);
			want += shared[i];
		}
		struct sum s = { 0, 0 };
		ft_future_t *f = ft_executor_submit(ex, sum_task, shared, BIG,
						    sizeof(s));
		cr_assert_not_null(f, "errno %d", errno);
		cr_assert_eq(ft_future_result(f, &s, FT_FOREVER), 0);
		cr_assert_eq(s.sum, want);
		cr_assert_eq(s.in, (uintptr_t)shared,
			     "kind %u: arena input was copied",
			     ft_test_kinds[k]);
		ft_future_free(f);

		f = ft_executor_submit(ex, sum_task, plain, BIG, sizeof(s));
		cr_assert_not_null(f, "kind %u: a private 1 MiB input: errno %d",
				   ft_test_kinds[k], errno);
		cr_assert_eq(ft_future_result(f, &s, FT_FOREVER), 0);
		cr_assert_eq(s.sum, want, "a large copied input");
		cr_assert_neq(s.in, (uintptr_t)plain, "private input not copied");
		ft_future_free(f);
		cr_assert_eq(ft_executor_free(ex), 0);
		cr_assert_eq(ft_shared_free(shared), 0);
		free(plain);
	}
}

/* ------------------------------------------- freeing a pending future */

Test(executor, freeing_a_pending_future, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_executor_t *ex = new_ex(1, 0);
	ft_event_t *g = new_event();
	struct job j = gated(g, 2);
	ft_future_t *running = submit_job(ex, &j);
	cr_assert(ft_test_await_int(&sh->started, 1));
	ft_future_t *pending = submit_job(ex, &j);
	cr_assert_eq(ft_future_free(pending), 0);
	cr_assert_eq(ft_future_free(running), 0, "a running one too");
	cr_assert_eq(ft_event_set(g), 0);
	/* Both run on, their results dropped; shutdown waits for them. */
	cr_assert_eq(ft_executor_shutdown(ex, true, false), 0);
	cr_assert_eq(__atomic_load_n(&sh->started, __ATOMIC_ACQUIRE), 2);
	cr_assert_eq(ft_executor_free(ex), 0);
	ft_event_free(g);
}

/* ---------------------------------------- calls from another process */

static ft_executor_t *other_ex;
static ft_future_t *other_f;

static int call_from_other_process(void *arg)
{
	(void)arg;
	struct job j = { .value = 1 };
	errno = 0;
	ft_future_t *f = ft_executor_submit(other_ex, task, &j, sizeof(j),
					    sizeof(struct res));
	sh->other_errno = f ? 0 : errno;
	int items[1] = { 1 }, results[1];
	sh->other_rc[0] = ft_executor_map(other_ex, square, items, 1,
					  sizeof(int), results, sizeof(int), 1,
					  FT_FOREVER);
	struct res r = { 0 };
	sh->other_rc[1] = ft_future_result(other_f, &r, FT_TEST_GUARD_S);
	sh->other_rc[2] = (int)r.value;
	sh->other_rc[3] = ft_executor_shutdown(other_ex, false, false);
	return 0;
}

Test(executor, driven_from_its_creating_process_only, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	other_ex = new_ex(1, 0);
	struct job j = { .value = 11 };
	other_f = submit_job(other_ex, &j);
	ft_worker_t *w = ft_test_started(ft_worker_new(
		NULL, call_from_other_process, NULL, FT_WORKER_PROCESS));
	ft_test_join(w);
	cr_assert_eq(sh->other_errno, ECHILD);
	cr_assert_eq(sh->other_rc[0], -ECHILD);
	cr_assert_eq(sh->other_rc[1], 0, "a future can be waited on anywhere");
	cr_assert_eq(sh->other_rc[2], 121);
	cr_assert_eq(sh->other_rc[3], -ECHILD);
	/* Still open for its creator. */
	ft_future_t *f = submit_job(other_ex, &j);
	cr_assert_eq(ft_future_result(f, NULL, FT_FOREVER), 0);
	ft_future_free(f);
	ft_future_free(other_f);
	cr_assert_eq(ft_executor_free(other_ex), 0);
}

/* ------------------------------------------------------------ bad input */

Test(executor, bad_input, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	struct ft_pool_options o = { 0 };
	errno = 0;
	cr_assert_null(ft_executor_new(0, NULL));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(ft_executor_new(-2, NULL));
	cr_assert_eq(errno, EINVAL);
	o.flags = FT_WORKER_PROCESS | FT_WORKER_THREAD;
	errno = 0;
	cr_assert_null(ft_executor_new(1, &o));
	cr_assert_eq(errno, EINVAL, "both kinds forced");
	o = (struct ft_pool_options){ .task_time_limit = -1.0 };
	errno = 0;
	cr_assert_null(ft_executor_new(1, &o));
	cr_assert_eq(errno, EINVAL, "negative time limit");
	o.task_time_limit = NAN;
	errno = 0;
	cr_assert_null(ft_executor_new(1, &o));
	cr_assert_eq(errno, EINVAL, "NaN time limit");
	o = (struct ft_pool_options){ .flags = FT_WORKER_THREAD,
				      .task_time_limit = 1.0 };
	errno = 0;
	cr_assert_null(ft_executor_new(1, &o));
	cr_assert_eq(errno, EOPNOTSUPP, "a time limit with thread workers");
	o.flags = 0;
	errno = 0;
	ft_executor_t *limited = ft_executor_new(1, &o);
	if (ft_test_multiprocessing()) {
		cr_assert_not_null(limited, "a time limit on process workers");
		cr_assert_eq(ft_executor_free(limited), 0);
	} else {
		cr_assert_null(limited);
		cr_assert_eq(errno, EOPNOTSUPP, "threading backend: errno %d",
			     errno);
	}

	/* FT_DEFAULT_WORKERS works. */
	ft_executor_t *ex = ft_executor_new(FT_DEFAULT_WORKERS, NULL);
	cr_assert_not_null(ex, "FT_DEFAULT_WORKERS: errno %d", errno);
	struct job j = { .value = 12 };
	ft_future_t *f = submit_job(ex, &j);
	struct res r;
	cr_assert_eq(ft_future_result(f, &r, FT_FOREVER), 0);
	cr_assert_eq(r.value, 144);

	/* Handles: NULL is EINVAL, another type EBADF. */
	ft_event_t *e = new_event();
	ft_executor_t *not_ex = (ft_executor_t *)(void *)e;
	ft_future_t *not_f = (ft_future_t *)(void *)e;
	errno = 0;
	cr_assert_null(ft_executor_submit(NULL, task, &j, sizeof(j), 8));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(ft_executor_submit(not_ex, task, &j, sizeof(j), 8));
	cr_assert_eq(errno, EBADF);
	errno = 0;
	cr_assert_null(ft_executor_submit(ex, NULL, &j, sizeof(j), 8));
	cr_assert_eq(errno, EINVAL, "NULL task");
	errno = 0;
	cr_assert_null(ft_executor_submit(ex, task, NULL, sizeof(j), 8));
	cr_assert_eq(errno, EINVAL, "NULL input with a size");

	int items[4] = { 1, 2, 3, 4 }, results[4];
	cr_assert_eq(ft_executor_map(ex, square, items, 4, sizeof(int), results,
				     sizeof(int), 0, FT_FOREVER),
		     -EINVAL, "chunksize 0");
	cr_assert_eq(ft_executor_map(ex, square, items, 4, sizeof(int), results,
				     sizeof(int), 1, NAN),
		     -EINVAL, "NaN timeout");
	cr_assert_eq(ft_executor_map(ex, NULL, items, 4, sizeof(int), results,
				     sizeof(int), 1, FT_FOREVER),
		     -EINVAL);
	cr_assert_eq(ft_executor_map(ex, square, NULL, 4, sizeof(int), results,
				     sizeof(int), 1, FT_FOREVER),
		     -EINVAL);
	cr_assert_eq(ft_executor_map(ex, square, items, 4, sizeof(int), NULL,
				     sizeof(int), 1, FT_FOREVER),
		     -EINVAL);
	cr_assert_eq(ft_executor_map(NULL, square, items, 4, sizeof(int),
				     results, sizeof(int), 1, FT_FOREVER),
		     -EINVAL);
	cr_assert_eq(ft_executor_map(not_ex, square, items, 4, sizeof(int),
				     results, sizeof(int), 1, FT_FOREVER),
		     -EBADF);

	cr_assert_eq(ft_future_result(f, &r, NAN), -EINVAL);
	cr_assert_eq(ft_future_result(NULL, &r, 0), -EINVAL);
	cr_assert_eq(ft_future_result(not_f, &r, 0), -EBADF);
	cr_assert_eq(ft_future_done(NULL), -EINVAL);
	cr_assert_eq(ft_future_done(not_f), -EBADF);
	cr_assert_eq(ft_future_running(NULL), -EINVAL);
	cr_assert_eq(ft_future_running(not_f), -EBADF);
	cr_assert_eq(ft_future_cancelled(NULL), -EINVAL);
	cr_assert_eq(ft_future_cancelled(not_f), -EBADF);
	cr_assert_eq(ft_future_cancel(NULL, false), -EINVAL);
	cr_assert_eq(ft_future_cancel(not_f, false), -EBADF);
	cr_assert_eq(ft_future_add_done_callback(f, NULL, NULL), -EINVAL);
	cr_assert_eq(ft_future_add_done_callback(not_f, record_cb, NULL),
		     -EBADF);
	cr_assert_eq(ft_future_free(NULL), -EINVAL);
	cr_assert_eq(ft_future_free(not_f), -EBADF);
	cr_assert_eq(ft_executor_shutdown(NULL, true, false), -EINVAL);
	cr_assert_eq(ft_executor_shutdown(not_ex, true, false), -EBADF);
	cr_assert_eq(ft_executor_free(NULL), -EINVAL);
	cr_assert_eq(ft_executor_free(not_ex), -EBADF);
	cr_assert_eq(ft_event_is_set(e), 0, "the event is untouched");

	cr_assert_eq(ft_future_free(f), 0);
	cr_assert_eq(ft_executor_free(ex), 0);
	ft_event_free(e);
}
