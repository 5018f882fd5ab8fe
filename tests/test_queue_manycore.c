/* Many producers and consumers on one bounded queue, more of them than CPUs
 * on a small machine: producers stream in bursts of random length with
 * pauses between, consumers mix blocking, short-timeout and non-blocking
 * gets, half of each kind threads and half processes.  A watchdog fails
 * the test when nothing moves for a while (a lost wake-up shows as a
 * stall), and a bitmap of the first 4M messages of each producer checks
 * that each is delivered exactly once (past that, counts and sums of
 * sequence numbers per producer), whole, and in its producer's order at
 * each consumer.
 *
 * FT_STRESS_SECONDS sets how long producers stream (default 2; run it for
 * minutes on a many-core machine), FT_STRESS_WORKERS the number of
 * producers and of consumers (default: the CPU count, at least 4). */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "helpers.h"
#include "queue_msg.h"

#define MAXW 64                 /* producers, and consumers, at most */
#define MAXSEQ (1u << 22)       /* a producer's messages the bitmap covers */
#define MAXMSG (sizeof(struct hdr) + 96)
#define BOUND 256               /* the queue's maxsize */
#if defined(__SANITIZE_ADDRESS__)
#define STALL_S 30.0
#else
#define STALL_S 10.0
#endif

/* What one consumer took, on lines of its own. */
struct taken {
	uint64_t total;
	uint64_t modes[3];          /* gets that returned 0, by mode */
	uint64_t count[MAXW];       /* per producer */
	uint64_t seq_sum[MAXW];     /* per producer */
} __attribute__((aligned(64)));

struct manysh {
	int stop;                   /* main: producers finish their burst */
	int errors;                 /* calls that failed unexpectedly */
	int bad;                    /* torn or unknown messages */
	int dup;                    /* messages delivered twice */
	int disorder;               /* out of order at one consumer */
	uint64_t produced[MAXW][8]; /* puts that returned 0, a line each */
	struct taken taken[MAXW];
};

static struct manysh *ms;
static uint64_t *seen;          /* MAXW * MAXSEQ bits, shared */
static ft_queue_t *q;

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void pause_briefly(uint32_t *rnd)
{
	uint32_t r = next_rand(rnd) % 4;
	if (r == 0)
		sched_yield();
	else if (r == 1)
		usleep(next_rand(rnd) % 200);
}

static void producer(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	uint32_t rnd = 2463534242u + id * 977u;
	unsigned char buf[MAXMSG];
	uint32_t seq = 0;
	while (!__atomic_load_n(&ms->stop, __ATOMIC_ACQUIRE)) {
		uint32_t burst = 1 + next_rand(&rnd) % 500;
		for (uint32_t i = 0; i < burst; i++, seq++) {
			size_t n = build(buf, id, 0, seq, next_rand(&rnd) % 97);
			int rc = ft_queue_put(q, buf, n, FT_FOREVER);
			if (rc != 0) {
				__atomic_add_fetch(&ms->errors, 1, __ATOMIC_RELAXED);
				return;
			}
			__atomic_store_n(&ms->produced[id][0], seq + 1u,
					 __ATOMIC_RELEASE);
		}
		pause_briefly(&rnd);
	}
}

static void consumer(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	uint32_t rnd = 88675123u + id * 7919u;
	unsigned char buf[MAXMSG];
	static const double timeouts[3] = { FT_FOREVER, 0.001, 0 };
	struct taken *t = &ms->taken[id];
	int64_t last[MAXW];
	for (int i = 0; i < MAXW; i++)
		last[i] = -1;
	for (;;) {
		unsigned mode = next_rand(&rnd) % 3;
		size_t len;
		int rc = ft_queue_get(q, buf, sizeof(buf), &len, timeouts[mode]);
		if (rc == -ETIMEDOUT || rc == -EAGAIN) {
			if (mode == 0)   /* a blocking get never gives up */
				__atomic_add_fetch(&ms->errors, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (rc != 0) {
			__atomic_add_fetch(&ms->errors, 1, __ATOMIC_RELAXED);
			return;
		}
		if (len == 0)           /* main's sentinel: the end */
			return;
		t->modes[mode]++;
		struct hdr h;
		if (!valid(buf, len, &h) || h.src >= MAXW) {
			__atomic_add_fetch(&ms->bad, 1, __ATOMIC_RELAXED);
			continue;
		}
		if ((int64_t)h.seq <= last[h.src])
			__atomic_add_fetch(&ms->disorder, 1, __ATOMIC_RELAXED);
		last[h.src] = h.seq;
		if (h.seq < MAXSEQ) {
			uint64_t bit = (uint64_t)h.src * MAXSEQ + h.seq;
			uint64_t old = __atomic_fetch_or(&seen[bit / 64],
							 (uint64_t)1 << (bit % 64),
							 __ATOMIC_RELAXED);
			if (old & ((uint64_t)1 << (bit % 64)))
				__atomic_add_fetch(&ms->dup, 1, __ATOMIC_RELAXED);
		}
		t->count[h.src]++;
		t->seq_sum[h.src] += h.seq;
		__atomic_store_n(&t->total, t->total + 1, __ATOMIC_RELEASE);
	}
}

static uint64_t progress(int np, int nc)
{
	uint64_t sum = 0;
	for (int i = 0; i < np; i++)
		sum += __atomic_load_n(&ms->produced[i][0], __ATOMIC_ACQUIRE);
	for (int i = 0; i < nc; i++)
		sum += __atomic_load_n(&ms->taken[i].total, __ATOMIC_ACQUIRE);
	return sum;
}

/* Join @w, failing the test if the queue stops moving meanwhile. */
static void join_watching(ft_worker_t *w, int np, int nc, const char *what)
{
	uint64_t seen_progress = progress(np, nc);
	double still_since = ft_test_now();
	for (;;) {
		int rc = ft_worker_join(w, 0.1);
		if (rc == 0)
			break;
		cr_assert_eq(rc, -ETIMEDOUT, "join %s: %s", what, ft_strerror(rc));
		uint64_t p = progress(np, nc);
		if (p != seen_progress) {
			seen_progress = p;
			still_since = ft_test_now();
		}
		cr_assert(ft_test_now() - still_since < STALL_S,
			  "stalled for %.0f s joining %s: %d queued, "
			  "%llu puts+gets so far", STALL_S, what,
			  ft_queue_qsize(q), (unsigned long long)p);
	}
	int code = -1;
	cr_assert_eq(ft_worker_exitcode(w, &code), 0);
	cr_assert_eq(code, 0, "%s ended with %d", what, code);
	ft_worker_free(w);
}

static int env_int(const char *name, int dflt, int lo, int hi)
{
	const char *s = getenv(name);
	int v = s && *s ? atoi(s) : dflt;
	return v < lo ? lo : v > hi ? hi : v;
}

Test(queue_manycore, bursts_mixed_gets_exactly_once, .timeout = 3600)
{
	ft_test_needs_processes();
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int n = env_int("FT_STRESS_WORKERS", cpus > 4 ? (int)cpus : 4, 1, MAXW);
	int seconds = env_int("FT_STRESS_SECONDS", 2, 1, 86400);
	ms = ft_test_shared(sizeof(*ms));
	seen = ft_test_shared((size_t)MAXW * MAXSEQ / 8);
	q = ft_queue_new(BOUND);
	cr_assert_not_null(q);

	ft_worker_t *c[MAXW], *p[MAXW];
	for (int i = 0; i < n; i++) {
		/* Half threads, half processes, on each side. */
		unsigned kind = i % 2 ? FT_WORKER_PROCESS : FT_WORKER_THREAD;
		c[i] = ft_worker_new(NULL, consumer, (void *)(uintptr_t)i, kind);
		p[i] = ft_worker_new(NULL, producer, (void *)(uintptr_t)i,
				     kind ^ (FT_WORKER_PROCESS | FT_WORKER_THREAD));
		cr_assert(c[i] && p[i]);
		cr_assert_eq(ft_worker_start(c[i]), 0);
		cr_assert_eq(ft_worker_start(p[i]), 0);
	}
	/* Let them stream, watching for a stall. */
	double end = ft_test_now() + seconds;
	uint64_t last = progress(n, n);
	double still_since = ft_test_now();
	while (ft_test_now() < end) {
		usleep(100000);
		uint64_t now = progress(n, n);
		if (now != last) {
			last = now;
			still_since = ft_test_now();
		}
		cr_assert(ft_test_now() - still_since < STALL_S,
			  "stalled for %.0f s: %d queued, %llu puts+gets",
			  STALL_S, ft_queue_qsize(q), (unsigned long long)now);
	}
	__atomic_store_n(&ms->stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < n; i++)
		join_watching(p[i], n, n, "a producer");
	for (int i = 0; i < n; i++)
		cr_assert_eq(ft_queue_put(q, NULL, 0, FT_TEST_GUARD_S), 0);
	for (int i = 0; i < n; i++)
		join_watching(c[i], n, n, "a consumer");

	cr_assert_eq(ms->errors, 0, "calls failed");
	cr_assert_eq(ms->bad, 0, "torn messages");
	cr_assert_eq(ms->dup, 0, "messages delivered twice");
	cr_assert_eq(ms->disorder, 0, "a producer's messages out of order");
	uint64_t produced = 0, modes[3] = { 0, 0, 0 };
	for (int i = 0; i < n; i++) {
		uint64_t np = ms->produced[i][0];
		produced += np;
		for (uint64_t s = 0; s < np && s < MAXSEQ; s++) {
			uint64_t bit = (uint64_t)i * MAXSEQ + s;
			cr_assert(seen[bit / 64] & ((uint64_t)1 << (bit % 64)),
				  "producer %d message %llu lost", i,
				  (unsigned long long)s);
		}
		uint64_t count = 0, sum = 0;
		for (int k = 0; k < n; k++) {
			count += ms->taken[k].count[i];
			sum += ms->taken[k].seq_sum[i];
		}
		cr_assert_eq(count, np, "producer %d: %llu put, %llu taken", i,
			     (unsigned long long)np, (unsigned long long)count);
		cr_assert_eq(sum, np * (np - 1) / 2, "producer %d: lost and "
			     "repeated messages", i);
		for (int m = 0; m < 3; m++)
			modes[m] += ms->taken[i].modes[m];
	}
	cr_assert_eq(ft_queue_qsize(q), 0);
	cr_assert_eq(ft_queue_free(q), 0);
	cr_log_info("%d producers, %d consumers, %d s: %llu messages "
		    "(gets: %llu blocking, %llu timed, %llu non-blocking)",
		    n, n, seconds, (unsigned long long)produced,
		    (unsigned long long)modes[0], (unsigned long long)modes[1],
		    (unsigned long long)modes[2]);
}
