/* Queue: FIFO order, sizes and bounds, copy semantics, -EMSGSIZE and
 * get_alloc, timeouts, hand-offs between workers of every kind, strict
 * FIFO across producers, task_done/join, queues made in a process worker,
 * the arena bound (-ENOMEM) and bad handles. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "helpers.h"

struct shared {
	int started;        /* a worker is about to make its blocking call */
	int done;           /* ... and that call has returned */
	int rc;             /* what it returned */
	size_t len;         /* length it got */
	char msg[64];       /* message it got */
	int done_count;     /* task_done calls the test body has begun */
	int seen_at_join;   /* done_count when the worker's join returned */
	uint32_t global;    /* sequence stamped under the lock */
	int errors;         /* worker-side failures */
	ft_queue_t *made;   /* published by a process worker */
	int a_rc, b_rc;     /* the sibling workers' results */
	char b_got[32];
};

static struct shared *sh;
static ft_queue_t *q;
static ft_lock_t *lk;

static void put_str(ft_queue_t *qq, const char *s)
{
	cr_assert_eq(ft_queue_put(qq, s, strlen(s), FT_FOREVER), 0, "put %s", s);
}

static void get_expect(ft_queue_t *qq, const char *s)
{
	char buf[256];
	size_t len = 12345;
	cr_assert_eq(ft_queue_get(qq, buf, sizeof(buf), &len, 10.0), 0);
	cr_assert_eq(len, strlen(s));
	cr_assert(memcmp(buf, s, len) == 0, "got %.*s, want %s", (int)len, buf, s);
}

Test(queue, fifo_bounded_full_empty, .timeout = FT_TEST_TIMEOUT)
{
	ft_queue_t *qq = ft_queue_new(3);
	cr_assert_not_null(qq);
	cr_assert_eq(ft_queue_empty(qq), 1);
	cr_assert_eq(ft_queue_full(qq), 0);
	cr_assert_eq(ft_queue_qsize(qq), 0);

	char big[1000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 1);
	cr_assert_eq(ft_queue_put(qq, "", 0, FT_FOREVER), 0);
	cr_assert_eq(ft_queue_put(qq, NULL, 0, FT_FOREVER), 0, "NULL with len 0");
	cr_assert_eq(ft_queue_qsize(qq), 2);
	cr_assert_eq(ft_queue_empty(qq), 0);
	cr_assert_eq(ft_queue_full(qq), 0);
	cr_assert_eq(ft_queue_put_nowait(qq, big, sizeof(big)), 0);
	cr_assert_eq(ft_queue_qsize(qq), 3);
	cr_assert_eq(ft_queue_full(qq), 1);

	/* Full: non-blocking and timed puts fail and queue nothing. */
	cr_assert_eq(ft_queue_put_nowait(qq, "x", 1), -EAGAIN);
	cr_assert_eq(ft_queue_put(qq, "x", 1, 0), -EAGAIN);
	cr_assert_eq(ft_queue_put(qq, "x", 1, 0.05), -ETIMEDOUT);
	cr_assert_eq(ft_queue_qsize(qq), 3);

	char buf[2000];
	size_t len = 99;
	cr_assert_eq(ft_queue_get_nowait(qq, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 0);
	len = 99;
	cr_assert_eq(ft_queue_get(qq, NULL, 0, &len, FT_FOREVER), 0,
		     "0-byte message into a NULL buffer of cap 0");
	cr_assert_eq(len, 0);
	cr_assert_eq(ft_queue_get(qq, buf, sizeof(buf), &len, 1.0), 0);
	cr_assert_eq(len, sizeof(big));
	cr_assert(memcmp(buf, big, sizeof(big)) == 0);

	/* Empty: non-blocking and timed gets fail. */
	cr_assert_eq(ft_queue_empty(qq), 1);
	cr_assert_eq(ft_queue_get_nowait(qq, buf, sizeof(buf), &len), -EAGAIN);
	cr_assert_eq(ft_queue_get(qq, buf, sizeof(buf), &len, 0), -EAGAIN);
	double t0 = ft_test_now();
	cr_assert_eq(ft_queue_get(qq, buf, sizeof(buf), &len, 0.05), -ETIMEDOUT);
	cr_assert_geq(ft_test_now() - t0, 0.04, "a timed get waits");
	cr_assert_eq(ft_queue_free(qq), 0);
}

Test(queue, single_producer_order_and_sizes, .timeout = FT_TEST_TIMEOUT)
{
	ft_queue_t *qq = ft_queue_new(0);
	cr_assert_not_null(qq);
	static unsigned char src[5000], buf[5000];
	/* Enough to wrap and grow the ring several times. */
	for (int i = 0; i < 600; i++) {
		size_t n = (size_t)(i * 37) % 4097;
		for (size_t j = 0; j < n; j++)
			src[j] = (unsigned char)(i + j);
		cr_assert_eq(ft_queue_put(qq, src, n, FT_FOREVER), 0);
		if (i % 3 == 2) { /* interleave gets so head moves too */
			size_t len;
			int k = i / 3;
			size_t want = (size_t)(k * 37) % 4097;
			cr_assert_eq(ft_queue_get_nowait(qq, buf, sizeof(buf), &len), 0);
			cr_assert_eq(len, want, "message %d", k);
			for (size_t j = 0; j < len; j++)
				cr_assert_eq(buf[j], (unsigned char)(k + j));
		}
	}
	cr_assert_eq(ft_queue_full(qq), 0, "unbounded is never full");
	cr_assert_eq(ft_queue_qsize(qq), 400);
	for (int k = 200; k < 600; k++) {
		size_t len;
		cr_assert_eq(ft_queue_get_nowait(qq, buf, sizeof(buf), &len), 0);
		cr_assert_eq(len, (size_t)(k * 37) % 4097, "message %d", k);
		for (size_t j = 0; j < len; j++)
			cr_assert_eq(buf[j], (unsigned char)(k + j));
	}
	cr_assert_eq(ft_queue_empty(qq), 1);
	cr_assert_eq(ft_queue_free(qq), 0);

	/* A negative maxsize is unbounded too. */
	qq = ft_queue_new(-5);
	cr_assert_not_null(qq);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(ft_queue_put_nowait(qq, &i, sizeof(i)), 0);
	cr_assert_eq(ft_queue_full(qq), 0);
	cr_assert_eq(ft_queue_qsize(qq), 100);
	cr_assert_eq(ft_queue_free(qq), 0);
}

Test(queue, put_copies_the_message, .timeout = FT_TEST_TIMEOUT)
{
	ft_queue_t *qq = ft_queue_new(0);
	char src[16] = "original";
	cr_assert_eq(ft_queue_put(qq, src, 8, FT_FOREVER), 0);
	memcpy(src, "CHANGED!", 8);
	get_expect(qq, "original");
	cr_assert_eq(ft_queue_free(qq), 0);
}

Test(queue, msgsize_keeps_message_and_get_alloc, .timeout = FT_TEST_TIMEOUT)
{
	ft_queue_t *qq = ft_queue_new(0);
	char msg[100];
	for (int i = 0; i < 100; i++)
		msg[i] = (char)('a' + i % 26);
	cr_assert_eq(ft_queue_put(qq, msg, sizeof(msg), FT_FOREVER), 0);
	put_str(qq, "second");

	char small[10];
	size_t len = 0;
	cr_assert_eq(ft_queue_get(qq, small, sizeof(small), &len, 1.0), -EMSGSIZE);
	cr_assert_eq(len, 100);
	cr_assert_eq(ft_queue_qsize(qq), 2, "it stays queued");
	len = 0;
	cr_assert_eq(ft_queue_get_nowait(qq, NULL, 0, &len), -EMSGSIZE,
		     "cap 0 asks the length");
	cr_assert_eq(len, 100);
	len = 0;
	cr_assert_eq(ft_queue_get(qq, small, 99, &len, 0), -EMSGSIZE);
	cr_assert_eq(len, 100);

	void *out = NULL;
	len = 0;
	cr_assert_eq(ft_queue_get_alloc(qq, &out, &len, 1.0), 0);
	cr_assert_not_null(out);
	cr_assert_eq(len, 100);
	cr_assert(memcmp(out, msg, 100) == 0);
	free(out);

	/* Exactly the right capacity is enough. */
	char six[6];
	cr_assert_eq(ft_queue_get(qq, six, 6, &len, 1.0), 0);
	cr_assert_eq(len, 6);
	cr_assert(memcmp(six, "second", 6) == 0);

	/* get_alloc of an empty message: non-NULL memory, length 0. */
	cr_assert_eq(ft_queue_put(qq, "", 0, FT_FOREVER), 0);
	out = NULL;
	len = 7;
	cr_assert_eq(ft_queue_get_alloc(qq, &out, &len, 1.0), 0);
	cr_assert_not_null(out);
	cr_assert_eq(len, 0);
	free(out);

	cr_assert_eq(ft_queue_get_alloc(qq, &out, &len, 0), -EAGAIN);
	cr_assert_eq(ft_queue_get_alloc(qq, &out, &len, 0.02), -ETIMEDOUT);
	cr_assert_eq(ft_queue_free(qq), 0);
}

/* ------------------------------------------------- hand-offs between workers */

static void blocked_putter(void *arg)
{
	(void)arg;
	__atomic_store_n(&sh->started, 1, __ATOMIC_RELEASE);
	sh->rc = ft_queue_put(q, "second", 6, FT_FOREVER);
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
}

Test(queue, blocked_put_released_by_get, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		memset(sh, 0, sizeof(*sh));
		q = ft_queue_new(1);
		put_str(q, "first");
		ft_worker_t *w = ft_worker_new(NULL, blocked_putter, NULL,
					       ft_test_kinds[k]);
		cr_assert_eq(ft_worker_start(w), 0);
		cr_assert(ft_test_await_int(&sh->started, 1));
		/* Full: whatever the putter is doing, its put cannot land. */
		cr_assert_eq(ft_queue_qsize(q), 1);
		cr_assert_eq(__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE), 0);
		get_expect(q, "first");
		get_expect(q, "second");
		cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
		cr_assert_eq(sh->done, 1);
		cr_assert_eq(sh->rc, 0);
		cr_assert_eq(ft_queue_empty(q), 1);
		cr_assert_eq(ft_queue_free(q), 0);
	}
}

static void blocked_getter(void *arg)
{
	(void)arg;
	__atomic_store_n(&sh->started, 1, __ATOMIC_RELEASE);
	sh->rc = ft_queue_get(q, sh->msg, sizeof(sh->msg), &sh->len, FT_FOREVER);
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
}

Test(queue, blocked_get_released_by_put, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		memset(sh, 0, sizeof(*sh));
		q = ft_queue_new(0);
		ft_worker_t *w = ft_worker_new(NULL, blocked_getter, NULL,
					       ft_test_kinds[k]);
		cr_assert_eq(ft_worker_start(w), 0);
		cr_assert(ft_test_await_int(&sh->started, 1));
		cr_assert_eq(__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE), 0,
			     "nothing to get yet");
		put_str(q, "wake up");
		cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
		cr_assert_eq(sh->rc, 0);
		cr_assert_eq(sh->len, 7);
		cr_assert(memcmp(sh->msg, "wake up", 7) == 0);
		cr_assert_eq(ft_queue_empty(q), 1);
		cr_assert_eq(ft_queue_free(q), 0);
	}
}

/* ------------------------------------------------ strict FIFO, many producers */

#define PRODUCERS 4
#define PER_PRODUCER 300

static void stamping_producer(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_PRODUCER; i++) {
		if (ft_lock_acquire(lk, FT_FOREVER) != 0) {
			__atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
			return;
		}
		uint32_t seq = ++sh->global;
		if (ft_queue_put(q, &seq, sizeof(seq), 20.0) != 0)
			__atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
		ft_lock_release(lk);
	}
}

Test(queue, fifo_across_producers, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	q = ft_queue_new(8); /* small: producers block and wake */
	lk = ft_lock_new();
	ft_worker_t *w[PRODUCERS];
	for (int i = 0; i < PRODUCERS; i++) {
		w[i] = ft_worker_new(NULL, stamping_producer, NULL,
				     ft_test_kinds[i % FT_TEST_NKINDS]);
		cr_assert_eq(ft_worker_start(w[i]), 0);
	}
	uint32_t last = 0;
	for (int i = 0; i < PRODUCERS * PER_PRODUCER; i++) {
		uint32_t seq;
		size_t len;
		cr_assert_eq(ft_queue_get(q, &seq, sizeof(seq), &len, 20.0), 0);
		cr_assert_eq(len, sizeof(seq));
		cr_assert_eq(seq, last + 1, "put order %u after %u", seq, last);
		last = seq;
	}
	for (int i = 0; i < PRODUCERS; i++)
		cr_assert_eq(ft_worker_join(w[i], FT_FOREVER), 0);
	cr_assert_eq(sh->errors, 0);
	cr_assert_eq(ft_queue_empty(q), 1);
	cr_assert_eq(ft_queue_free(q), 0);
	cr_assert_eq(ft_lock_free(lk), 0);
}

/* ---------------------------------------------------------- task_done / join */

Test(queue, task_done_and_join, .timeout = FT_TEST_TIMEOUT)
{
	ft_queue_t *qq = ft_queue_new(0);
	cr_assert_eq(ft_queue_join(qq, 0), 0, "nothing put: joined");
	cr_assert_eq(ft_queue_join(qq, FT_FOREVER), 0);
	cr_assert_eq(ft_queue_task_done(qq), -EOVERFLOW);
	put_str(qq, "a");
	put_str(qq, "b");
	cr_assert_eq(ft_queue_join(qq, 0), -EAGAIN);
	cr_assert_eq(ft_queue_join(qq, 0.03), -ETIMEDOUT);
	get_expect(qq, "a");
	cr_assert_eq(ft_queue_task_done(qq), 0);
	cr_assert_eq(ft_queue_join(qq, 0), -EAGAIN, "one still unfinished");
	get_expect(qq, "b");
	cr_assert_eq(ft_queue_join(qq, 0), -EAGAIN, "got is not done");
	cr_assert_eq(ft_queue_task_done(qq), 0);
	cr_assert_eq(ft_queue_join(qq, 0), 0);
	cr_assert_eq(ft_queue_join(qq, 1.0), 0);
	cr_assert_eq(ft_queue_task_done(qq), -EOVERFLOW, "too many");
	cr_assert_eq(ft_queue_join(qq, 0), 0);
	/* A failed task_done did not go negative: one more put needs one. */
	put_str(qq, "c");
	cr_assert_eq(ft_queue_join(qq, 0), -EAGAIN);
	get_expect(qq, "c");
	cr_assert_eq(ft_queue_task_done(qq), 0);
	cr_assert_eq(ft_queue_join(qq, 0), 0);
	cr_assert_eq(ft_queue_free(qq), 0);
}

#define JOIN_TASKS 5

static void joiner(void *arg)
{
	(void)arg;
	__atomic_store_n(&sh->started, 1, __ATOMIC_RELEASE);
	sh->rc = ft_queue_join(q, FT_FOREVER);
	sh->seen_at_join = __atomic_load_n(&sh->done_count, __ATOMIC_ACQUIRE);
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
}

Test(queue, join_waits_for_every_task_done, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		memset(sh, 0, sizeof(*sh));
		q = ft_queue_new(0);
		for (int i = 0; i < JOIN_TASKS; i++)
			cr_assert_eq(ft_queue_put(q, &i, sizeof(i), FT_FOREVER), 0);
		ft_worker_t *w = ft_worker_new(NULL, joiner, NULL, ft_test_kinds[k]);
		cr_assert_eq(ft_worker_start(w), 0);
		cr_assert(ft_test_await_int(&sh->started, 1));
		for (int i = 0; i < JOIN_TASKS; i++) {
			int v;
			size_t len;
			cr_assert_eq(ft_queue_get(q, &v, sizeof(v), &len, 5.0), 0);
			cr_assert_eq(v, i);
			cr_assert_eq(__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE), 0,
				     "join returned with %d tasks done", i);
			/* Counted before the call, so a join that returns
			 * must see every one. */
			__atomic_add_fetch(&sh->done_count, 1, __ATOMIC_RELEASE);
			cr_assert_eq(ft_queue_task_done(q), 0);
		}
		cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
		cr_assert_eq(sh->rc, 0);
		cr_assert_eq(sh->seen_at_join, JOIN_TASKS);
		cr_assert_eq(ft_queue_free(q), 0);
	}
}

/* ------------------------------------------- a queue made in a process worker */

static ft_event_t *ev_go;

static void maker(void *arg)
{
	(void)arg;
	ft_queue_t *m = ft_queue_new(4);
	if (!m) {
		sh->a_rc = -100;
		return;
	}
	sh->a_rc = ft_queue_put(m, "from maker", 10, 5.0);
	__atomic_store_n(&sh->made, m, __ATOMIC_RELEASE);
	ft_event_set(ev_go);
}

static void sibling(void *arg)
{
	(void)arg;
	if (ft_event_wait(ev_go, 20.0) != 0) {
		sh->b_rc = -101;
		return;
	}
	ft_queue_t *m = __atomic_load_n(&sh->made, __ATOMIC_ACQUIRE);
	size_t len = 0;
	sh->b_rc = ft_queue_get(m, sh->b_got, sizeof(sh->b_got) - 1, &len, 5.0);
	if (sh->b_rc == 0)
		sh->b_rc = ft_queue_put(m, "from sibling", 12, 5.0);
}

Test(queue, queue_made_in_process_worker, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	sh = ft_test_shared(sizeof(*sh));
	ev_go = ft_event_new();
	ft_worker_t *b = ft_worker_new("sibling", sibling, NULL, FT_WORKER_PROCESS);
	ft_worker_t *a = ft_worker_new("maker", maker, NULL, FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_start(b), 0);
	cr_assert_eq(ft_worker_start(a), 0);
	cr_assert_eq(ft_worker_join(a, FT_FOREVER), 0);
	cr_assert_eq(ft_worker_join(b, FT_FOREVER), 0);
	cr_assert_eq(sh->a_rc, 0);
	cr_assert_eq(sh->b_rc, 0);
	cr_assert_str_eq(sh->b_got, "from maker");
	ft_queue_t *m = sh->made;
	cr_assert_not_null(m);
	cr_assert_eq(ft_queue_qsize(m), 1);
	get_expect(m, "from sibling");
	cr_assert_eq(ft_queue_full(m), 0);
	put_str(m, "parent");
	get_expect(m, "parent");
	cr_assert_eq(ft_queue_free(m), 0);
	cr_assert_eq(ft_event_free(ev_go), 0);
}

/* ------------------------------------------------------------- arena bound */

Test(queue, message_larger_than_arena_is_enomem, .timeout = FT_TEST_TIMEOUT)
{
	unsetenv("FREETHREADING_ARENA_SIZE");
	struct ft_config c = { .arena_size = 1 << 20 };
	cr_assert_eq(ft_init(&c), 0);
	ft_queue_t *qq = ft_queue_new(0);
	cr_assert_not_null(qq);
	put_str(qq, "one");
	put_str(qq, "two");
	size_t n = 2u << 20;
	char *huge = malloc(n);
	cr_assert_not_null(huge);
	memset(huge, 'h', n);
	cr_assert_eq(ft_queue_put(qq, huge, n, FT_FOREVER), -ENOMEM);
	cr_assert_eq(ft_queue_put_nowait(qq, huge, n), -ENOMEM);
	/* Just under the arena: still cannot fit beside the runtime. */
	cr_assert_eq(ft_queue_put(qq, huge, (1u << 20) - 64, FT_FOREVER), -ENOMEM);
	cr_assert_eq(ft_queue_qsize(qq), 2, "nothing queued");
	get_expect(qq, "one");
	get_expect(qq, "two");
	cr_assert_eq(ft_queue_empty(qq), 1);
	/* The queue still works, and join does not wait for the failed puts. */
	cr_assert_eq(ft_queue_task_done(qq), 0);
	cr_assert_eq(ft_queue_task_done(qq), 0);
	cr_assert_eq(ft_queue_join(qq, 0), 0);
	put_str(qq, "three");
	get_expect(qq, "three");
	free(huge);
	cr_assert_eq(ft_queue_free(qq), 0);
}

/* --------------------------------------------------------------- bad input */

static void assert_all_fail(ft_queue_t *bad, int code)
{
	char buf[8];
	size_t len;
	void *out;
	cr_assert_eq(ft_queue_put(bad, "x", 1, 0.01), code);
	cr_assert_eq(ft_queue_put_nowait(bad, "x", 1), code);
	cr_assert_eq(ft_queue_get(bad, buf, sizeof(buf), &len, 0.01), code);
	cr_assert_eq(ft_queue_get_nowait(bad, buf, sizeof(buf), &len), code);
	cr_assert_eq(ft_queue_get_alloc(bad, &out, &len, 0.01), code);
	cr_assert_eq(ft_queue_qsize(bad), code);
	cr_assert_eq(ft_queue_empty(bad), code);
	cr_assert_eq(ft_queue_full(bad), code);
	cr_assert_eq(ft_queue_task_done(bad), code);
	cr_assert_eq(ft_queue_join(bad, 0.01), code);
	cr_assert_eq(ft_queue_free(bad), code);
}

Test(queue, null_queue_is_einval, .timeout = FT_TEST_TIMEOUT)
{
	assert_all_fail(NULL, -EINVAL);
}

Test(queue, bad_arguments_are_einval, .timeout = FT_TEST_TIMEOUT)
{
	ft_queue_t *qq = ft_queue_new(0);
	char buf[8];
	size_t len;
	void *out;
	cr_assert_eq(ft_queue_put(qq, NULL, 1, FT_FOREVER), -EINVAL);
	cr_assert_eq(ft_queue_put_nowait(qq, NULL, 5), -EINVAL);
	cr_assert_eq(ft_queue_qsize(qq), 0);
	put_str(qq, "kept");
	cr_assert_eq(ft_queue_get(qq, NULL, 8, &len, 0.01), -EINVAL);
	cr_assert_eq(ft_queue_get_nowait(qq, NULL, 1, &len), -EINVAL);
	cr_assert_eq(ft_queue_get(qq, buf, sizeof(buf), NULL, 0.01), -EINVAL);
	cr_assert_eq(ft_queue_get_nowait(qq, buf, sizeof(buf), NULL), -EINVAL);
	cr_assert_eq(ft_queue_get_alloc(qq, NULL, &len, 0.01), -EINVAL);
	cr_assert_eq(ft_queue_get_alloc(qq, &out, NULL, 0.01), -EINVAL);
	cr_assert_eq(ft_queue_qsize(qq), 1, "nothing lost");
	get_expect(qq, "kept");
	cr_assert_eq(ft_queue_free(qq), 0);
}

Test(queue, stale_and_wrong_handles_are_ebadf, .timeout = FT_TEST_TIMEOUT)
{
	ft_queue_t *qq = ft_queue_new(2);
	put_str(qq, "gone");
	cr_assert_eq(ft_queue_free(qq), 0);
	assert_all_fail(qq, -EBADF);

	ft_lock_t *l = ft_lock_new();
	assert_all_fail((ft_queue_t *)l, -EBADF);
	cr_assert_eq(ft_lock_locked(l), 0, "the lock is untouched");
	cr_assert_eq(ft_lock_free(l), 0);

	ft_simple_queue_t *sq = ft_simple_queue_new();
	cr_assert_eq(ft_simple_queue_put(sq, "s", 1), 0);
	assert_all_fail((ft_queue_t *)sq, -EBADF);
	char buf[4];
	size_t len;
	cr_assert_eq(ft_simple_queue_get(sq, buf, sizeof(buf), &len, 1.0), 0,
		     "the simple queue is untouched");
	cr_assert_eq(len, 1);
	cr_assert_eq(ft_simple_queue_free(sq), 0);
}
