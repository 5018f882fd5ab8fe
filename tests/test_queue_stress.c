/* Queue stress: many producers and consumers (exactly-once, per-producer
 * order, checksums), and process workers SIGKILLed in the middle of puts
 * and gets while others keep using the queue. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "helpers.h"
#include "queue_msg.h"

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
	ft_test_needs_processes();
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
	ft_test_needs_processes();
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
