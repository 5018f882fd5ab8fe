/* SimpleQueue: the guide's example, unbounded put, blocking and timed get,
 * -EMSGSIZE, empty messages, workers of every kind, bad handles. */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "helpers.h"

struct shared {
	int started;
	int done;
	int rc;
	int rc2;
	size_t len;
	char msg[64];
};

static struct shared *sh;
static ft_simple_queue_t *sq;

static void get_expect(ft_simple_queue_t *s, const char *want)
{
	char buf[128];
	size_t len = 999;
	cr_assert_eq(ft_simple_queue_get(s, buf, sizeof(buf), &len, 10.0), 0);
	cr_assert_eq(len, strlen(want));
	cr_assert(memcmp(buf, want, len) == 0, "got %.*s, want %s", (int)len,
		  buf, want);
}

/* The guide: a worker puts "hello" and "world"; main gets them in order. */
static void hello_world(void *arg)
{
	(void)arg;
	sh->rc = ft_simple_queue_put(sq, "hello", 5);
	sh->rc2 = ft_simple_queue_put(sq, "world", 5);
}

Test(simple_queue, guide_example, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		memset(sh, 0, sizeof(*sh));
		sq = ft_simple_queue_new();
		cr_assert_not_null(sq);
		cr_assert_eq(ft_simple_queue_empty(sq), 1);
		ft_worker_t *w = ft_worker_new(NULL, hello_world, NULL,
					       ft_test_kinds[k]);
		cr_assert_eq(ft_worker_start(w), 0);
		get_expect(sq, "hello");
		get_expect(sq, "world");
		cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
		cr_assert_eq(sh->rc, 0);
		cr_assert_eq(sh->rc2, 0);
		cr_assert_eq(ft_simple_queue_empty(sq), 1);
		cr_assert_eq(ft_simple_queue_free(sq), 0);
	}
}

Test(simple_queue, unbounded_fifo, .timeout = FT_TEST_TIMEOUT)
{
	ft_simple_queue_t *s = ft_simple_queue_new();
	static char src[700], buf[700];
	for (int i = 0; i < 3000; i++) {
		size_t n = (size_t)(i * 13) % 700;
		memset(src, (char)i, n);
		if (n >= sizeof(int))
			memcpy(src, &i, sizeof(int));
		cr_assert_eq(ft_simple_queue_put(s, src, n), 0);
	}
	cr_assert_eq(ft_simple_queue_empty(s), 0);
	for (int i = 0; i < 3000; i++) {
		size_t len;
		size_t n = (size_t)(i * 13) % 700;
		cr_assert_eq(ft_simple_queue_get(s, buf, sizeof(buf), &len, 0), 0);
		cr_assert_eq(len, n, "message %d", i);
		if (n >= sizeof(int)) {
			int v;
			memcpy(&v, buf, sizeof(v));
			cr_assert_eq(v, i);
		}
		for (size_t j = sizeof(int); j < n; j++)
			cr_assert_eq(buf[j], (char)i);
	}
	cr_assert_eq(ft_simple_queue_empty(s), 1);
	cr_assert_eq(ft_simple_queue_free(s), 0);
}

Test(simple_queue, empty_message_copy_and_timeouts, .timeout = FT_TEST_TIMEOUT)
{
	ft_simple_queue_t *s = ft_simple_queue_new();
	char buf[16];
	size_t len = 5;
	cr_assert_eq(ft_simple_queue_get(s, buf, sizeof(buf), &len, 0), -EAGAIN);
	cr_assert_eq(ft_simple_queue_get(s, buf, sizeof(buf), &len, 0.03),
		     -ETIMEDOUT);

	cr_assert_eq(ft_simple_queue_put(s, NULL, 0), 0);
	cr_assert_eq(ft_simple_queue_empty(s), 0);
	len = 5;
	cr_assert_eq(ft_simple_queue_get(s, NULL, 0, &len, FT_FOREVER), 0);
	cr_assert_eq(len, 0);

	char src[] = "copy me";
	cr_assert_eq(ft_simple_queue_put(s, src, 7), 0);
	memset(src, 'X', 7);
	/* Too small a buffer: it stays, and the length is reported. */
	len = 0;
	cr_assert_eq(ft_simple_queue_get(s, buf, 3, &len, 1.0), -EMSGSIZE);
	cr_assert_eq(len, 7);
	len = 0;
	cr_assert_eq(ft_simple_queue_get(s, NULL, 0, &len, 1.0), -EMSGSIZE);
	cr_assert_eq(len, 7);
	cr_assert_eq(ft_simple_queue_empty(s), 0);
	get_expect(s, "copy me");
	cr_assert_eq(ft_simple_queue_empty(s), 1);
	cr_assert_eq(ft_simple_queue_free(s), 0);
}

static void blocked_getter(void *arg)
{
	(void)arg;
	__atomic_store_n(&sh->started, 1, __ATOMIC_RELEASE);
	sh->rc = ft_simple_queue_get(sq, sh->msg, sizeof(sh->msg), &sh->len,
				     FT_FOREVER);
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
}

Test(simple_queue, blocked_get_released_by_put, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		memset(sh, 0, sizeof(*sh));
		sq = ft_simple_queue_new();
		ft_worker_t *w = ft_worker_new(NULL, blocked_getter, NULL,
					       ft_test_kinds[k]);
		cr_assert_eq(ft_worker_start(w), 0);
		cr_assert(ft_test_await_int(&sh->started, 1));
		cr_assert_eq(__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE), 0);
		cr_assert_eq(ft_simple_queue_put(sq, "ping", 4), 0);
		cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
		cr_assert_eq(sh->rc, 0);
		cr_assert_eq(sh->len, 4);
		cr_assert(memcmp(sh->msg, "ping", 4) == 0);
		cr_assert_eq(ft_simple_queue_empty(sq), 1);
		cr_assert_eq(ft_simple_queue_free(sq), 0);
	}
}

#define SQ_PRODUCERS 3
#define SQ_PER 400

static void producer(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	for (uint32_t i = 0; i < SQ_PER; i++) {
		uint32_t m[2] = { id, i };
		if (ft_simple_queue_put(sq, m, sizeof(m)) != 0)
			__atomic_add_fetch(&sh->rc, 1, __ATOMIC_RELAXED);
	}
}

Test(simple_queue, many_producers_per_producer_order, .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	sq = ft_simple_queue_new();
	ft_worker_t *w[SQ_PRODUCERS];
	for (uintptr_t i = 0; i < SQ_PRODUCERS; i++) {
		w[i] = ft_worker_new(NULL, producer, (void *)i,
				     ft_test_kinds[i % FT_TEST_NKINDS]);
		cr_assert_eq(ft_worker_start(w[i]), 0);
	}
	uint32_t next[SQ_PRODUCERS] = { 0 };
	for (int n = 0; n < SQ_PRODUCERS * SQ_PER; n++) {
		uint32_t m[2];
		size_t len;
		cr_assert_eq(ft_simple_queue_get(sq, m, sizeof(m), &len, 20.0), 0);
		cr_assert_eq(len, sizeof(m));
		cr_assert_lt(m[0], SQ_PRODUCERS);
		cr_assert_eq(m[1], next[m[0]], "producer %u order", m[0]);
		next[m[0]]++;
	}
	for (int i = 0; i < SQ_PRODUCERS; i++)
		cr_assert_eq(ft_worker_join(w[i], FT_FOREVER), 0);
	cr_assert_eq(sh->rc, 0);
	cr_assert_eq(ft_simple_queue_empty(sq), 1);
	cr_assert_eq(ft_simple_queue_free(sq), 0);
}

static void assert_all_fail(ft_simple_queue_t *bad, int code)
{
	char buf[8];
	size_t len;
	cr_assert_eq(ft_simple_queue_put(bad, "x", 1), code);
	cr_assert_eq(ft_simple_queue_get(bad, buf, sizeof(buf), &len, 0.01), code);
	cr_assert_eq(ft_simple_queue_get(bad, buf, sizeof(buf), &len, 0), code);
	cr_assert_eq(ft_simple_queue_empty(bad), code);
	cr_assert_eq(ft_simple_queue_free(bad), code);
}

Test(simple_queue, bad_input, .timeout = FT_TEST_TIMEOUT)
{
	assert_all_fail(NULL, -EINVAL);

	ft_simple_queue_t *s = ft_simple_queue_new();
	char buf[8];
	size_t len;
	cr_assert_eq(ft_simple_queue_put(s, NULL, 3), -EINVAL);
	cr_assert_eq(ft_simple_queue_empty(s), 1);
	cr_assert_eq(ft_simple_queue_put(s, "kept", 4), 0);
	cr_assert_eq(ft_simple_queue_get(s, NULL, 4, &len, 0.01), -EINVAL);
	cr_assert_eq(ft_simple_queue_get(s, buf, sizeof(buf), NULL, 0.01), -EINVAL);
	get_expect(s, "kept");
	cr_assert_eq(ft_simple_queue_free(s), 0);
	assert_all_fail(s, -EBADF);

	/* A Queue or a Lock is not a SimpleQueue. */
	ft_queue_t *q = ft_queue_new(0);
	cr_assert_eq(ft_queue_put(q, "q", 1, FT_FOREVER), 0);
	assert_all_fail((ft_simple_queue_t *)q, -EBADF);
	cr_assert_eq(ft_queue_qsize(q), 1, "the queue is untouched");
	cr_assert_eq(ft_queue_free(q), 0);
	ft_lock_t *l = ft_lock_new();
	assert_all_fail((ft_simple_queue_t *)l, -EBADF);
	cr_assert_eq(ft_lock_free(l), 0);
}
