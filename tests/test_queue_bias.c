/* The producer bias (src/queue/bias.c): the side taken back by a consumer
 * about to sleep, by a rival producer, from a producer killed mid-put, and
 * with the heavy fence refused mid-stream by a seccomp filter. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "helpers.h"
#include "queue_msg.h"

#define PER 3000
#define MAXMSG (sizeof(struct hdr) + 300)

enum { SRC_VICTIM, SRC_SURVIVOR, SRC_PARENT };

static ft_queue_t *q;

/* The rival-producer tests' state. */
struct rivalsh {
	int errors;
	int streamed;              /* the streamer's puts that returned 0 */
	uint8_t count[2][PER];
};

static struct rivalsh *rs;

/*
 * A producer that streams alone is given the producing side and puts with
 * plain stores (src/queue/bias.c).  These take the side back in
 * each way there is: a consumer about to sleep, another producer, and the
 * death of the biased producer in the middle of a put.  STREAM puts in a
 * row, nobody else putting, are well past the bias threshold.
 */
#define STREAM 300

struct biassh {
	int streamed;   /* the streamer's puts that returned 0 */
	int go;         /* main lets the streamer put its last message */
	int consumer_waiting;
	int got;        /* messages the consumer received */
	int rc;
	uint8_t seen[STREAM + 1];
};

static struct biassh *bs;

static void bias_streamer(void *arg)
{
	(void)arg;
	unsigned char buf[MAXMSG];
	/* Small messages: the first ring holds them all, so no growth
	 * makes the streamer give the bias up on the way. */
	for (uint32_t s = 0; s < STREAM; s++) {
		size_t n = build(buf, SRC_VICTIM, 0, s, 0);
		if (ft_queue_put(q, buf, n, FT_TEST_GUARD_S) == 0)
			__atomic_store_n(&bs->streamed, (int)s + 1, __ATOMIC_RELEASE);
	}
	if (!ft_test_spin_until(&bs->go))
		return;
	size_t n = build(buf, SRC_VICTIM, 0, STREAM, 0);
	if (ft_queue_put(q, buf, n, FT_TEST_GUARD_S) == 0)
		__atomic_store_n(&bs->streamed, STREAM + 1, __ATOMIC_RELEASE);
}

static void bias_consumer(void *arg)
{
	(void)arg;
	unsigned char buf[MAXMSG];
	for (int i = 0; i <= STREAM; i++) {
		size_t len;
		struct hdr h;
		if (i == STREAM)   /* the queue is empty now: we will sleep */
			__atomic_store_n(&bs->consumer_waiting, 1, __ATOMIC_RELEASE);
		/* The last get outlasts main's deadlock guard: a get that
		 * returns only at its deadline is a lost wake, not a pass. */
		int rc = ft_queue_get(q, buf, sizeof(buf), &len,
				      i == STREAM ? 2 * FT_TEST_GUARD_S
						  : FT_TEST_GUARD_S);
		if (rc != 0) {
			bs->rc = rc;
			break;
		}
		if (valid(buf, len, &h) && h.seq <= STREAM && h.seq == (uint32_t)i)
			bs->seen[h.seq] = 1;
		__atomic_store_n(&bs->got, i + 1, __ATOMIC_RELEASE);
	}
}

/* The streamer's last put lands while the consumer sleeps on an empty
 * queue: the consumer must have taken the bias back before sleeping, or
 * that plain put would not wake it (its get would time out). */
Test(queue_bias, consumer_sleep_is_woken, .timeout = FT_TEST_TIMEOUT)
{
	for (unsigned k = 0; k < FT_TEST_NKINDS; k++) {
		bs = ft_test_shared(sizeof(*bs));
		q = ft_queue_new(0);
		cr_assert_not_null(q);
		ft_worker_t *c = ft_worker_new(NULL, bias_consumer, NULL,
					       ft_test_kinds[k]);
		ft_worker_t *p = ft_worker_new(NULL, bias_streamer, NULL,
					       ft_test_kinds[k]);
		cr_assert(c && p);
		cr_assert_eq(ft_worker_start(p), 0);
		cr_assert(ft_test_await_int(&bs->streamed, STREAM));
		cr_assert_eq(ft_worker_start(c), 0);
		cr_assert(ft_test_spin_until(&bs->consumer_waiting));
		ft_test_await_blocked(c, &bs->got);   /* got: returns early
							  only on failure */
		__atomic_store_n(&bs->go, 1, __ATOMIC_RELEASE);
		cr_assert(ft_test_await_int(&bs->got, STREAM + 1),
			  "kind %u: the sleeping consumer was not woken", k);
		ft_test_join(p);
		ft_test_join(c);
		cr_assert_eq(bs->rc, 0, "kind %u: get %d", k, bs->rc);
		cr_assert_eq(bs->got, STREAM + 1, "kind %u", k);
		for (int s = 0; s <= STREAM; s++)
			cr_assert_eq(bs->seen[s], 1, "kind %u: message %d", k, s);
		cr_assert_eq(ft_queue_free(q), 0);
	}
}

/* A second producer takes the side from a streaming one, again and again
 * (the streamer earns it back each time): every message exactly once,
 * whole, in order per producer. */
static void bias_rival_stream(void *arg)
{
	(void)arg;
	unsigned char buf[MAXMSG];
	for (uint32_t s = 0; s < PER; s++) {
		size_t n = build(buf, 0, 0, s, s % 8);
		if (ft_queue_put(q, buf, n, FT_TEST_GUARD_S) != 0)
			__atomic_add_fetch(&rs->errors, 1, __ATOMIC_RELAXED);
		else
			__atomic_store_n(&rs->streamed, (int)s + 1, __ATOMIC_RELEASE);
	}
}

Test(queue_bias, taken_by_second_producer, .timeout = FT_TEST_TIMEOUT)
{
	for (unsigned k = 0; k < FT_TEST_NKINDS; k++) {
		rs = ft_test_shared(sizeof(*rs));
		q = ft_queue_new(0);
		cr_assert_not_null(q);
		ft_worker_t *p = ft_worker_new(NULL, bias_rival_stream, NULL,
					       ft_test_kinds[k]);
		cr_assert_not_null(p);
		cr_assert_eq(ft_worker_start(p), 0);
		unsigned char buf[MAXMSG];
		int64_t last[2] = { -1, -1 };
		int mine = 0, total = 0;
		/* Put one message each time the streamer has put 100 more,
		 * and take what is there without sleeping. */
		while (total < PER + PER / 100) {
			int streamed = __atomic_load_n(&rs->streamed, __ATOMIC_ACQUIRE);
			if (mine < PER / 100 && streamed >= (mine + 1) * 100 - 50) {
				size_t n = build(buf, 1, 0, (uint32_t)mine, 5);
				cr_assert_eq(ft_queue_put(q, buf, n, FT_TEST_GUARD_S), 0);
				mine++;
			}
			size_t len;
			int rc = ft_queue_get(q, buf, sizeof(buf), &len,
					      mine == PER / 100 ? FT_TEST_GUARD_S : 0);
			if (rc == -EAGAIN)
				continue;
			cr_assert_eq(rc, 0, "kind %u: get %d", k, rc);
			struct hdr h;
			cr_assert(valid(buf, len, &h) && h.src < 2 && h.seq < PER,
				  "kind %u: torn message", k);
			cr_assert_gt((int64_t)h.seq, last[h.src],
				     "kind %u: producer %u out of order", k, h.src);
			last[h.src] = h.seq;
			rs->count[h.src][h.seq]++;
			total++;
		}
		ft_test_join(p);
		cr_assert_eq(rs->errors, 0);
		for (int s = 0; s < PER; s++)
			cr_assert_eq(rs->count[0][s], 1, "kind %u: seq %d", k, s);
		for (int s = 0; s < PER / 100; s++)
			cr_assert_eq(rs->count[1][s], 1, "kind %u: mine %d", k, s);
		cr_assert_eq(ft_queue_qsize(q), 0);
		cr_assert_eq(ft_queue_free(q), 0);
	}
}

/* A process streaming with the bias is killed at varying points, inside
 * puts or between them: the next producer must not wait for it forever
 * (repair clears what it left), and what it put is whole and in order. */
static void bias_doomed_stream(void *arg)
{
	(void)arg;
	unsigned char buf[MAXMSG];
	for (uint32_t s = 0;; s++) {
		size_t n = build(buf, SRC_VICTIM, 0, s, 0);
		if (ft_queue_put(q, buf, n, FT_TEST_GUARD_S) != 0)
			return;
		__atomic_store_n(&bs->streamed, (int)s + 1, __ATOMIC_RELEASE);
	}
}

#define BIAS_KILLS 12

Test(queue_bias, holder_killed_mid_put, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	bs = ft_test_shared(sizeof(*bs));
	unsigned char buf[MAXMSG];
	for (uint32_t r = 0; r < BIAS_KILLS; r++) {
		q = ft_queue_new(0);
		cr_assert_not_null(q);
		__atomic_store_n(&bs->streamed, 0, __ATOMIC_RELEASE);
		ft_worker_t *v = ft_worker_new(NULL, bias_doomed_stream, NULL,
					       FT_WORKER_PROCESS | FT_WORKER_DAEMON);
		cr_assert_not_null(v);
		cr_assert_eq(ft_worker_start(v), 0);
		int next = 0;   /* the victim's next sequence number expected */
		int target = STREAM + (int)((r * 37) % 200);
		/* Take messages without sleeping (a sleeping consumer would
		 * take the bias back) until the victim is well into its
		 * stream, then kill it at a varying moment. */
		while (__atomic_load_n(&bs->streamed, __ATOMIC_ACQUIRE) < target) {
			size_t len;
			int rc = ft_queue_get(q, buf, sizeof(buf), &len, 0);
			if (rc == -EAGAIN)
				continue;
			struct hdr h;
			cr_assert(rc == 0 && valid(buf, len, &h), "round %u", r);
			cr_assert_eq(h.seq, (uint32_t)next, "round %u: order", r);
			next++;
		}
		for (volatile uint32_t spin = 0; spin < (r % 6) * 2000; spin++)
			;
		pid_t pid = (pid_t)ft_worker_ident(v);
		cr_assert_gt(pid, 0);
		cr_assert_eq(kill(pid, SIGKILL), 0);

		/* Our put must get the side back from the dead: put at once,
		 * before the join, so that it may find the victim still
		 * marked inside a put and wait for the supervisor's repair. */
		size_t n = build(buf, SRC_PARENT, r, 0, 3);
		cr_assert_eq(ft_queue_put(q, buf, n, FT_TEST_GUARD_S), 0,
			     "round %u", r);
		cr_assert_eq(ft_worker_join(v, FT_TEST_GUARD_S), 0, "round %u", r);
		ft_worker_free(v);
		int put_ok = __atomic_load_n(&bs->streamed, __ATOMIC_ACQUIRE);
		for (;;) {
			size_t len;
			struct hdr h;
			cr_assert_eq(ft_queue_get(q, buf, sizeof(buf), &len, 0), 0,
				     "round %u: our message lost", r);
			cr_assert(valid(buf, len, &h), "round %u: torn", r);
			if (h.src == SRC_PARENT)
				break;
			cr_assert_eq(h.seq, (uint32_t)next, "round %u: order", r);
			next++;
		}
		/* Every put that returned 0 landed; the one cut short may. */
		cr_assert(next == put_ok || next == put_ok + 1,
			  "round %u: %d delivered, %d put", r, next, put_ok);
		cr_assert_eq(ft_queue_qsize(q), 0);
		cr_assert_eq(ft_queue_free(q), 0);
	}
}

/* ----------------------------------------------- heavy fence refused */

/*
 * A sandbox set up after start-up may refuse membarrier(2) to a worker
 * that then takes the side back (bias.c, B5): the queue must go on working
 * without the bias, and without losing, repeating or reordering a message.
 * The streamer puts in bursts long enough to be given the side; between
 * bursts it waits until the consumer has taken everything, so the consumer
 * sleeps on an empty queue while the streamer holds the bias, and has to
 * take it back with the refused fence.
 */
#define BURSTS 12
#define BURST 300

struct refusesh {
	int consumed;        /* messages the consumer took, in order */
	int filter_rc;       /* what installing the filter returned */
	int rc;              /* the first failing call's code */
	int order;           /* messages out of order or torn */
};

static struct refusesh *fs;

static void burst_streamer(void *arg)
{
	(void)arg;
	unsigned char buf[MAXMSG];
	for (uint32_t b = 0; b < BURSTS; b++) {
		for (uint32_t i = 0; i < BURST; i++) {
			size_t n = build(buf, 0, b, b * BURST + i, i % 16);
			int rc = ft_queue_put(q, buf, n, FT_TEST_GUARD_S);
			if (rc != 0) {
				fs->rc = rc;
				return;
			}
		}
		if (!ft_test_await_int(&fs->consumed, (int)(b + 1) * BURST))
			return;
	}
}

static void refusing_consumer(void *arg)
{
	(void)arg;
	unsigned char buf[MAXMSG];
	for (int i = 0; i < BURSTS * BURST; i++) {
		if (i == BURST)   /* after the first burst: a sandbox now */
			fs->filter_rc = ft_test_refuse_membarrier();
		size_t len;
		struct hdr h;
		int rc = ft_queue_get(q, buf, sizeof(buf), &len, FT_TEST_GUARD_S);
		if (rc != 0) {
			fs->rc = rc;
			return;
		}
		if (!valid(buf, len, &h) || h.seq != (uint32_t)i)
			fs->order++;
		__atomic_store_n(&fs->consumed, i + 1, __ATOMIC_RELEASE);
	}
}

Test(queue_bias, fence_refused_to_sleeping_consumer, .timeout = FT_TEST_TIMEOUT)
{
	for (unsigned k = 0; k < FT_TEST_NKINDS; k++) {
		fs = ft_test_shared(sizeof(*fs));
		q = ft_queue_new(0);
		cr_assert_not_null(q);
		ft_worker_t *c = ft_test_start(refusing_consumer, ft_test_kinds[k]);
		ft_worker_t *p = ft_test_start(burst_streamer, ft_test_kinds[k]);
		ft_test_join(p);
		ft_test_join(c);
		cr_assert_eq(fs->filter_rc, 0, "kind %u: seccomp: %s", k,
			     strerror(fs->filter_rc));
		cr_assert_eq(fs->rc, 0, "kind %u: a call failed: %s", k,
			     ft_strerror(fs->rc));
		cr_assert_eq(fs->order, 0, "kind %u: torn or out of order", k);
		cr_assert_eq(fs->consumed, BURSTS * BURST, "kind %u", k);
		cr_assert_eq(ft_queue_qsize(q), 0);
		cr_assert_eq(ft_queue_free(q), 0);
	}
}

/* The rival producer is the one refused the fence: it must still put, and
 * every message of both arrive exactly once, in order.  The streamer holds
 * the side each time the rival puts (100 puts in a row, and the consumer
 * never sleeps), and then stops until that put has returned: the rival
 * cannot wait for the streamer's next put, and must see it is not inside
 * (bias.c, B2). */
struct chunksh {
	int errors;
	int filtered;    /* the rival installed its filter */
	int streamed;    /* the streamer's puts so far */
	int answered;    /* the rival's puts that returned */
};

static struct chunksh *cs;

static void chunk_streamer(void *arg)
{
	(void)arg;
	unsigned char buf[MAXMSG];
	if (!ft_test_spin_until(&cs->filtered))
		return;
	for (uint32_t s = 0; s < PER; s++) {
		size_t n = build(buf, 0, 0, s, s % 8);
		if (ft_queue_put(q, buf, n, FT_TEST_GUARD_S) != 0)
			__atomic_add_fetch(&cs->errors, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&cs->streamed, (int)s + 1, __ATOMIC_RELEASE);
		/* After each 100: wait for the rival's put. */
		if (s % 100 == 99 &&
		    !ft_test_await_int(&cs->answered, (int)(s + 1) / 100)) {
			__atomic_add_fetch(&cs->errors, 1, __ATOMIC_RELAXED);
			return;
		}
	}
}

static void filtered_rival(void *arg)
{
	(void)arg;
	unsigned char buf[MAXMSG];
	cs->errors += ft_test_refuse_membarrier() != 0;
	__atomic_store_n(&cs->filtered, 1, __ATOMIC_RELEASE);
	for (uint32_t s = 0; s < PER / 100; s++) {
		if (!ft_test_await_int(&cs->streamed, (int)(s + 1) * 100))
			break;
		size_t n = build(buf, 1, 0, s, 5);
		if (ft_queue_put(q, buf, n, FT_TEST_GUARD_S) != 0)
			__atomic_add_fetch(&cs->errors, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&cs->answered, (int)s + 1, __ATOMIC_RELEASE);
	}
}

Test(queue_bias, fence_refused_to_rival_producer, .timeout = FT_TEST_TIMEOUT)
{
	static uint8_t count[2][PER];
	for (unsigned k = 0; k < FT_TEST_NKINDS; k++) {
		cs = ft_test_shared(sizeof(*cs));
		memset(count, 0, sizeof(count));
		q = ft_queue_new(0);
		cr_assert_not_null(q);
		ft_worker_t *r = ft_test_start(filtered_rival, ft_test_kinds[k]);
		ft_worker_t *p = ft_test_start(chunk_streamer, ft_test_kinds[k]);
		unsigned char buf[MAXMSG];
		int64_t last[2] = { -1, -1 };
		double end = ft_test_now() + FT_TEST_GUARD_S;
		/* Take what is there without sleeping: a sleeping consumer
		 * would take the side back itself. */
		for (int total = 0; total < PER + PER / 100;) {
			size_t len;
			struct hdr h;
			int rc = ft_queue_get(q, buf, sizeof(buf), &len, 0);
			if (rc == -EAGAIN) {
				cr_assert(ft_test_now() < end,
					  "kind %u: stalled after %d", k, total);
				continue;
			}
			cr_assert_eq(rc, 0, "kind %u: get %d", k, rc);
			cr_assert(valid(buf, len, &h) && h.src < 2 && h.seq < PER,
				  "kind %u: torn message", k);
			cr_assert_gt((int64_t)h.seq, last[h.src],
				     "kind %u: producer %u out of order", k, h.src);
			last[h.src] = h.seq;
			count[h.src][h.seq]++;
			total++;
		}
		ft_test_join(p);
		ft_test_join(r);
		cr_assert_eq(cs->errors, 0, "kind %u: a call failed", k);
		for (int s = 0; s < PER; s++)
			cr_assert_eq(count[0][s], 1, "kind %u: seq %d", k, s);
		for (int s = 0; s < PER / 100; s++)
			cr_assert_eq(count[1][s], 1, "kind %u: rival %d", k, s);
		cr_assert_eq(ft_queue_qsize(q), 0);
		cr_assert_eq(ft_queue_free(q), 0);
	}
}
