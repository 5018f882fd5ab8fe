/* Queue stress: many producers and consumers (exactly-once, per-producer
 * order, checksums), and process workers SIGKILLed in the middle of puts
 * and gets while others keep using the queue. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "helpers.h"

#define MAGIC 0x51554555u

struct hdr {
	uint32_t magic;
	uint32_t src;   /* producer id */
	uint32_t round; /* kill round (0 elsewhere) */
	uint32_t seq;   /* per-producer sequence */
	uint32_t plen;  /* payload bytes after the header */
	uint32_t sum;   /* checksum of all the above and the payload */
};

static uint32_t checksum(const struct hdr *h, const unsigned char *p)
{
	uint32_t x = 2166136261u;
	uint32_t f[5] = { h->magic, h->src, h->round, h->seq, h->plen };
	for (int i = 0; i < 5; i++)
		x = (x ^ f[i]) * 16777619u;
	for (uint32_t i = 0; i < h->plen; i++)
		x = (x ^ p[i]) * 16777619u;
	return x;
}

/* Build message (src, round, seq) with @plen payload bytes into @buf. */
static size_t build(unsigned char *buf, uint32_t src, uint32_t round,
		    uint32_t seq, uint32_t plen)
{
	struct hdr h = { MAGIC, src, round, seq, plen, 0 };
	unsigned char *p = buf + sizeof(h);
	for (uint32_t i = 0; i < plen; i++)
		p[i] = (unsigned char)(seq * 131 + i * 7 + src);
	h.sum = checksum(&h, p);
	memcpy(buf, &h, sizeof(h));
	return sizeof(h) + plen;
}

/* Whether @len bytes at @buf are one whole, untorn message; fills @h. */
static bool valid(const unsigned char *buf, size_t len, struct hdr *h)
{
	if (len < sizeof(*h))
		return false;
	memcpy(h, buf, sizeof(*h));
	return h->magic == MAGIC && len == sizeof(*h) + h->plen &&
	       checksum(h, buf + sizeof(*h)) == h->sum;
}

/* ------------------------------------------------------------------ MPMC */

#define NPROD 3
#define NCONS 2
#define PER 3000
#define MAXMSG (sizeof(struct hdr) + 300)

struct mpmc {
	uint8_t count[NPROD][PER];
	int bad;       /* torn or malformed messages */
	int disorder;  /* a producer's messages out of order at one consumer */
	int errors;    /* calls that failed */
	int got[NCONS];
};

static struct mpmc *ms;
static ft_queue_t *q;

static void mpmc_producer(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	unsigned char buf[MAXMSG];
	for (uint32_t s = 0; s < PER; s++) {
		size_t n = build(buf, id, 0, s, (s * 31 + id * 7) % 301);
		if (ft_queue_put(q, buf, n, 20.0) != 0)
			__atomic_add_fetch(&ms->errors, 1, __ATOMIC_RELAXED);
	}
}

static void mpmc_consumer(void *arg)
{
	uintptr_t me = (uintptr_t)arg;
	unsigned char buf[MAXMSG];
	int64_t last[NPROD] = { -1, -1, -1 };
	for (;;) {
		size_t len;
		if (ft_queue_get(q, buf, sizeof(buf), &len, 20.0) != 0) {
			__atomic_add_fetch(&ms->errors, 1, __ATOMIC_RELAXED);
			return;
		}
		if (len == 0) /* the sentinel */
			return;
		struct hdr h;
		if (!valid(buf, len, &h) || h.src >= NPROD || h.seq >= PER) {
			__atomic_add_fetch(&ms->bad, 1, __ATOMIC_RELAXED);
			continue;
		}
		if ((int64_t)h.seq <= last[h.src])
			__atomic_add_fetch(&ms->disorder, 1, __ATOMIC_RELAXED);
		last[h.src] = h.seq;
		__atomic_add_fetch(&ms->count[h.src][h.seq], 1, __ATOMIC_RELAXED);
		ms->got[me]++;
	}
}

static void run_mpmc(int maxsize, const unsigned *prod_kinds,
		     const unsigned *cons_kinds)
{
	ms = ft_test_shared(sizeof(*ms));
	q = ft_queue_new(maxsize);
	cr_assert_not_null(q);
	ft_worker_t *c[NCONS], *p[NPROD];
	for (uintptr_t i = 0; i < NCONS; i++) {
		c[i] = ft_worker_new(NULL, mpmc_consumer, (void *)i, cons_kinds[i]);
		cr_assert_eq(ft_worker_start(c[i]), 0);
	}
	for (uintptr_t i = 0; i < NPROD; i++) {
		p[i] = ft_worker_new(NULL, mpmc_producer, (void *)i, prod_kinds[i]);
		cr_assert_eq(ft_worker_start(p[i]), 0);
	}
	for (int i = 0; i < NPROD; i++)
		cr_assert_eq(ft_worker_join(p[i], FT_FOREVER), 0);
	for (int i = 0; i < NCONS; i++)
		cr_assert_eq(ft_queue_put(q, NULL, 0, 20.0), 0);
	for (int i = 0; i < NCONS; i++)
		cr_assert_eq(ft_worker_join(c[i], FT_FOREVER), 0);

	cr_assert_eq(ms->errors, 0);
	cr_assert_eq(ms->bad, 0, "torn messages");
	cr_assert_eq(ms->disorder, 0, "per-producer order");
	for (int i = 0; i < NPROD; i++)
		for (int s = 0; s < PER; s++)
			cr_assert_eq(ms->count[i][s], 1,
				     "producer %d seq %d delivered %d times", i,
				     s, ms->count[i][s]);
	cr_assert_eq(ms->got[0] + ms->got[1], NPROD * PER);
	cr_assert_eq(ft_queue_qsize(q), 0);
	cr_assert_eq(ft_queue_empty(q), 1);
	cr_assert_eq(ft_queue_free(q), 0);
}

Test(queue_stress, mpmc_backend_workers, .timeout = FT_TEST_TIMEOUT)
{
	static const unsigned pk[NPROD] = { 0, 0, 0 }, ck[NCONS] = { 0, 0 };
	run_mpmc(32, pk, ck);
}

/* Unbounded, so producers that run ahead make the ring grow (16 KiB at
 * first, ~1.5 MB put in all) while consumers are getting: growth takes
 * both sides' locks and moves the queued bytes under their feet. */
Test(queue_stress, mpmc_growing_ring, .timeout = FT_TEST_TIMEOUT)
{
	static const unsigned pk[NPROD] = { 0, 0, 0 }, ck[NCONS] = { 0, 0 };
	run_mpmc(0, pk, ck);
}

Test(queue_stress, mpmc_mixed_workers, .timeout = FT_TEST_TIMEOUT)
{
	static const unsigned pk[NPROD] = { FT_WORKER_PROCESS, FT_WORKER_THREAD,
					    FT_WORKER_PROCESS };
	static const unsigned ck[NCONS] = { FT_WORKER_THREAD, FT_WORKER_PROCESS };
	run_mpmc(32, pk, ck);
}

/* ------------------------------------------------------ kill in the middle */

#define ROUNDS 40
#define VMAX 600        /* most puts a victim makes in one round */
#define SLOT 256        /* a victim's get lands straight in shared memory */
#define SMAX 200000     /* most puts the survivor makes */
#define PMAX (ROUNDS * 4)
#define VPLEN(s) (((s) * 29u) % 201u)

enum { SRC_VICTIM, SRC_SURVIVOR, SRC_PARENT };

struct killsh {
	/* this round's victim */
	int progress;       /* puts it has finished (returned) */
	int in_get;         /* it is inside a get */
	int gets_done;      /* gets that returned 0 (slots filled) */
	int verrors;
	unsigned char slot[VMAX][SLOT];
	/* put_ok: set only after the put returned 0 */
	uint8_t vput_ok[ROUNDS][VMAX], vcount[ROUNDS][VMAX];
	uint8_t sput_ok[SMAX], scount[SMAX];
	uint8_t pput_ok[PMAX], pcount[PMAX];
	int stop;
	int serrors;
	int bad;            /* torn messages delivered */
	int recorded;
};

static struct killsh *ks;

/* Count a delivered message; a torn one counts as bad. */
static void record(const unsigned char *buf, size_t len)
{
	struct hdr h;
	uint8_t *c = NULL;
	if (valid(buf, len, &h)) {
		if (h.src == SRC_VICTIM && h.round < ROUNDS && h.seq < VMAX)
			c = &ks->vcount[h.round][h.seq];
		else if (h.src == SRC_SURVIVOR && h.seq < SMAX)
			c = &ks->scount[h.seq];
		else if (h.src == SRC_PARENT && h.seq < PMAX)
			c = &ks->pcount[h.seq];
	}
	if (!c) {
		__atomic_add_fetch(&ks->bad, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&ks->recorded, 1, __ATOMIC_RELAXED);
}

static void victim(void *arg)
{
	uint32_t round = (uint32_t)(uintptr_t)arg;
	unsigned char buf[SLOT];
	int g = 0;
	for (uint32_t s = 0; s < VMAX; s++) {
		size_t n = build(buf, SRC_VICTIM, round, s, VPLEN(s));
		int rc = ft_queue_put(q, buf, n, 10.0);
		if (rc == 0)
			__atomic_store_n(&ks->vput_ok[round][s], 1, __ATOMIC_RELEASE);
		else
			__atomic_add_fetch(&ks->verrors, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&ks->progress, (int)s + 1, __ATOMIC_RELEASE);
		if (s % 3 == 2)
			continue; /* the queue grows: rings get replaced too */
		__atomic_store_n(&ks->in_get, 1, __ATOMIC_RELEASE);
		size_t len;
		if (ft_queue_get(q, ks->slot[g], SLOT, &len, 0) == 0)
			__atomic_store_n(&ks->gets_done, ++g, __ATOMIC_RELEASE);
		__atomic_store_n(&ks->in_get, 0, __ATOMIC_RELEASE);
	}
	for (;;)
		ft_test_nap(); /* until killed */
}

static void survivor(void *arg)
{
	(void)arg;
	unsigned char buf[SLOT];
	uint32_t s = 0;
	while (!__atomic_load_n(&ks->stop, __ATOMIC_ACQUIRE)) {
		if (s < SMAX) {
			size_t n = build(buf, SRC_SURVIVOR, 0, s, (s * 17) % 150);
			if (ft_queue_put(q, buf, n, 10.0) == 0)
				__atomic_store_n(&ks->sput_ok[s], 1, __ATOMIC_RELEASE);
			else
				__atomic_add_fetch(&ks->serrors, 1, __ATOMIC_RELAXED);
			s++;
		} else {
			ft_test_nap();
		}
		size_t len;
		int rc = ft_queue_get(q, buf, sizeof(buf), &len, 0);
		if (rc == 0)
			record(buf, len);
		else if (rc != -EAGAIN)
			__atomic_add_fetch(&ks->serrors, 1, __ATOMIC_RELAXED);
	}
}

Test(queue_stress, sigkill_mid_operation_keeps_queue_consistent,
     .timeout = FT_TEST_TIMEOUT)
{
	ks = ft_test_shared(sizeof(*ks));
	q = ft_queue_new(0);
	cr_assert_not_null(q);
	ft_worker_t *surv = ft_worker_new("survivor", survivor, NULL, 0);
	cr_assert_eq(ft_worker_start(surv), 0);

	struct hdr cand[ROUNDS]; /* a victim's get cut short: maybe delivered */
	int ncand = 0;
	int prog[ROUNDS];
	uint32_t pseq = 0;
	unsigned char buf[SLOT];

	for (uint32_t r = 0; r < ROUNDS; r++) {
		memset(ks->slot, 0, sizeof(ks->slot));
		ks->progress = ks->in_get = ks->gets_done = 0;
		ft_worker_t *v = ft_worker_new(NULL, victim, (void *)(uintptr_t)r,
					       FT_WORKER_PROCESS | FT_WORKER_DAEMON);
		cr_assert_not_null(v);
		cr_assert_eq(ft_worker_start(v), 0);
		int target = 1 + (int)((r * 97) % 300);
		cr_assert(ft_test_await_int(&ks->progress, target),
			  "round %u: victim stuck before %d puts", r, target);
		/* A varying extra delay moves the kill around inside calls. */
		for (volatile uint32_t spin = 0; spin < (r % 8) * 3000; spin++)
			;
		pid_t pid = (pid_t)ft_worker_ident(v);
		cr_assert_gt(pid, 0);
		cr_assert_eq(kill(pid, SIGKILL), 0);
		cr_assert_eq(ft_worker_join(v, 20.0), 0, "round %u", r);
		int code = 0;
		cr_assert_eq(ft_worker_exitcode(v, &code), 0);
		cr_assert_eq(code, -SIGKILL);

		/* What the victim got before it died. */
		prog[r] = __atomic_load_n(&ks->progress, __ATOMIC_ACQUIRE);
		int done = __atomic_load_n(&ks->gets_done, __ATOMIC_ACQUIRE);
		for (int g = 0; g < done; g++) {
			struct hdr h;
			memcpy(&h, ks->slot[g], sizeof(h));
			cr_assert(h.plen <= SLOT - sizeof(h) &&
				  valid(ks->slot[g], sizeof(h) + h.plen, &h),
				  "round %u: victim's get %d returned a torn message",
				  r, g);
			record(ks->slot[g], sizeof(h) + h.plen);
		}
		if (__atomic_load_n(&ks->in_get, __ATOMIC_ACQUIRE) && done < VMAX) {
			struct hdr h;
			memcpy(&h, ks->slot[done], sizeof(h));
			if (h.plen <= SLOT - sizeof(h) &&
			    valid(ks->slot[done], sizeof(h) + h.plen, &h))
				cand[ncand++] = h;
		}

		/* The rest of us go on: no deadlock, the queue still works. */
		for (int i = 0; i < 3; i++) {
			size_t n = build(buf, SRC_PARENT, 0, pseq, pseq % 100);
			cr_assert_eq(ft_queue_put(q, buf, n, 10.0), 0, "round %u", r);
			ks->pput_ok[pseq++] = 1;
		}
		for (int i = 0; i < 4; i++) {
			size_t len;
			int rc = ft_queue_get(q, buf, sizeof(buf), &len, 0);
			cr_assert(rc == 0 || rc == -EAGAIN, "round %u: get %d", r, rc);
			if (rc == 0) {
				struct hdr h;
				cr_assert(valid(buf, len, &h), "round %u: torn", r);
				record(buf, len);
			}
		}
		cr_assert_geq(ft_queue_qsize(q), 0);
		cr_assert_eq(ft_queue_full(q), 0);
	}

	__atomic_store_n(&ks->stop, 1, __ATOMIC_RELEASE);
	cr_assert_eq(ft_worker_join(surv, FT_FOREVER), 0);
	cr_assert_eq(ks->serrors, 0);
	cr_assert_eq(ks->verrors, 0);

	/* Drain: qsize must match what is really there. */
	int qs = ft_queue_qsize(q);
	cr_assert_geq(qs, 0);
	int drained = 0;
	for (;;) {
		size_t len;
		int rc = ft_queue_get(q, buf, sizeof(buf), &len, 0);
		if (rc == -EAGAIN)
			break;
		cr_assert_eq(rc, 0, "drain: %d", rc);
		struct hdr h;
		cr_assert(valid(buf, len, &h), "drain: torn message");
		record(buf, len);
		drained++;
	}
	cr_assert_eq(drained, qs, "qsize said %d, %d were queued", qs, drained);
	cr_assert_eq(ft_queue_qsize(q), 0);
	cr_assert_eq(ft_queue_empty(q), 1);
	cr_assert_eq(ks->bad, 0, "torn messages delivered");

	/* A get cut short delivered its message only if nobody else got it. */
	for (int i = 0; i < ncand; i++) {
		struct hdr *h = &cand[i];
		uint8_t *c = h->src == SRC_VICTIM ? &ks->vcount[h->round][h->seq]
			   : h->src == SRC_SURVIVOR ? &ks->scount[h->seq]
						    : &ks->pcount[h->seq];
		if (*c == 0)
			*c = 1;
	}

	for (uint32_t r = 0; r < ROUNDS; r++)
		for (uint32_t s = 0; s < VMAX; s++) {
			uint8_t c = ks->vcount[r][s], ok = ks->vput_ok[r][s];
			cr_assert_leq(c, 1, "victim r%u s%u duplicated", r, s);
			if (ok)
				cr_assert_eq(c, 1, "victim r%u s%u lost", r, s);
			else if (c)
				cr_assert_eq((int)s, prog[r],
					     "r%u s%u delivered, never put", r, s);
		}
	for (uint32_t s = 0; s < SMAX; s++) {
		cr_assert_leq(ks->scount[s], 1, "survivor s%u duplicated", s);
		cr_assert_eq(ks->scount[s], ks->sput_ok[s], "survivor s%u", s);
	}
	for (uint32_t s = 0; s < PMAX; s++)
		cr_assert_eq(ks->pcount[s], ks->pput_ok[s], "parent s%u", s);
	cr_assert_eq(ft_queue_free(q), 0);
}

/* ------------------------------------------------------ several sleepers */

/*
 * Only the first put after a sleeper marked tail wakes anyone; the rest
 * of a burst relies on the woken worker passing the wake on.  So: put a
 * burst while every consumer sleeps, and every one of them must get its
 * message (and the same for producers sleeping on a full queue).
 */
#define SLEEPERS 4
#define SLEEP_ROUNDS 10

struct sleepsh {
	int rc[SLEEPERS];
	int done[SLEEPERS];
};

static struct sleepsh *ss;
static ft_queue_t *sq;

static void one_get(void *arg)
{
	uintptr_t i = (uintptr_t)arg;
	char buf[8];
	size_t len;
	ss->rc[i] = ft_queue_get(sq, buf, sizeof(buf), &len, FT_TEST_GUARD_S);
	__atomic_store_n(&ss->done[i], 1, __ATOMIC_RELEASE);
}

static void one_put(void *arg)
{
	uintptr_t i = (uintptr_t)arg;
	ss->rc[i] = ft_queue_put(sq, "p", 1, FT_TEST_GUARD_S);
	__atomic_store_n(&ss->done[i], 1, __ATOMIC_RELEASE);
}

static void sleepers_round(bool consumers)
{
	ft_worker_t *w[SLEEPERS];
	memset(ss, 0, sizeof(*ss));
	for (uintptr_t i = 0; i < SLEEPERS; i++) {
		w[i] = ft_worker_new(NULL, consumers ? one_get : one_put,
				     (void *)i, 0);
		cr_assert_not_null(w[i]);
		cr_assert_eq(ft_worker_start(w[i]), 0);
	}
	for (int i = 0; i < SLEEPERS; i++)
		ft_test_await_blocked(w[i], &ss->done[i]);
	for (int i = 0; i < SLEEPERS; i++) {
		char buf[8];
		size_t len;
		if (consumers)
			cr_assert_eq(ft_queue_put(sq, "c", 1, FT_TEST_GUARD_S), 0);
		else
			cr_assert_eq(ft_queue_get(sq, buf, sizeof(buf), &len,
						  FT_TEST_GUARD_S), 0);
	}
	for (int i = 0; i < SLEEPERS; i++) {
		ft_test_join(w[i]);
		cr_assert_eq(ss->rc[i], 0, "sleeper %d: %d", i, ss->rc[i]);
	}
}

Test(queue_stress, burst_wakes_every_sleeping_consumer,
     .timeout = FT_TEST_TIMEOUT)
{
	ss = ft_test_shared(sizeof(*ss));
	sq = ft_queue_new(0);
	cr_assert_not_null(sq);
	for (int r = 0; r < SLEEP_ROUNDS; r++)
		sleepers_round(true);
	cr_assert_eq(ft_queue_qsize(sq), 0);
	cr_assert_eq(ft_queue_free(sq), 0);
}

Test(queue_stress, burst_wakes_every_sleeping_producer,
     .timeout = FT_TEST_TIMEOUT)
{
	ss = ft_test_shared(sizeof(*ss));
	sq = ft_queue_new(1);
	cr_assert_not_null(sq);
	cr_assert_eq(ft_queue_put(sq, "f", 1, 0), 0);
	for (int r = 0; r < SLEEP_ROUNDS; r++)
		sleepers_round(false);
	cr_assert_eq(ft_queue_qsize(sq), 1);
	cr_assert_eq(ft_queue_free(sq), 0);
}

/* --------------------------------------------------------- producer bias */

/*
 * A producer that streams alone is given the producing side and puts with
 * plain stores (queue.c, "producer bias").  These take the side back in
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
Test(queue_stress, bias_consumer_sleep_is_woken, .timeout = FT_TEST_TIMEOUT)
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
			__atomic_add_fetch(&ms->errors, 1, __ATOMIC_RELAXED);
		else
			__atomic_store_n(&ms->got[0], (int)s + 1, __ATOMIC_RELEASE);
	}
}

Test(queue_stress, bias_taken_by_second_producer, .timeout = FT_TEST_TIMEOUT)
{
	for (unsigned k = 0; k < FT_TEST_NKINDS; k++) {
		ms = ft_test_shared(sizeof(*ms));
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
			int streamed = __atomic_load_n(&ms->got[0], __ATOMIC_ACQUIRE);
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
			ms->count[h.src][h.seq]++;
			total++;
		}
		ft_test_join(p);
		cr_assert_eq(ms->errors, 0);
		for (int s = 0; s < PER; s++)
			cr_assert_eq(ms->count[0][s], 1, "kind %u: seq %d", k, s);
		for (int s = 0; s < PER / 100; s++)
			cr_assert_eq(ms->count[1][s], 1, "kind %u: mine %d", k, s);
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

Test(queue_stress, bias_holder_killed_mid_put, .timeout = FT_TEST_TIMEOUT)
{
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
