/* SPDX-License-Identifier: MIT */
/*
 * Queue cases: messages from the main worker (producer) to its partner
 * (consumer), against a pipe and against a mutex+condvar ring of fixed
 * slots in shared memory (what people write by hand); and a request/reply
 * round trip through two queues against a pipe pair.  Our queues are
 * bounded at RING_SLOTS messages, as the condvar ring is, and a 64-byte
 * pipe holds about as many.
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <sys/wait.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <freethreading.h>

#include "sync.h"

#define RING_SLOTS 1024
#define MAX_MSG 4096

struct stream {
	size_t msg;                 /* bytes per message */
	ft_queue_t *q, *reply;      /* ours */
	int fwd[2], back[2];        /* pipes: [0] read end, [1] write end */
	pthread_mutex_t m;          /* condvar ring */
	pthread_cond_t not_empty, not_full;
	uint32_t head, tail;        /* counters; slot = counter % RING_SLOTS */
	unsigned char slots[RING_SLOTS][64];
};

/* ------------------------------------------------------------- ours */

static int queue_init(struct stream *s, size_t msg)
{
	s->msg = msg;
	if (!(s->q = ft_queue_new(RING_SLOTS)) || !(s->reply = ft_queue_new(RING_SLOTS)))
		fail("ft_queue_new", -errno);
	return 0;
}

static int queue_init_64(void *st) { return queue_init(st, 64); }
static int queue_init_4k(void *st) { return queue_init(st, 4096); }

static void queue_fini(void *st)
{
	struct stream *s = st;
	check_ft(ft_queue_free(s->q), "ft_queue_free");
	check_ft(ft_queue_free(s->reply), "ft_queue_free");
}

static int queue_producer(void *st, uint64_t n)
{
	struct stream *s = st;
	unsigned char buf[MAX_MSG] = { 1 };
	for (uint64_t i = 0; i < n; i++)
		check_ft(ft_queue_put(s->q, buf, s->msg, FT_FOREVER), "ft_queue_put");
	return 0;
}

static int queue_consumer(void *st, uint64_t n)
{
	struct stream *s = st;
	unsigned char buf[MAX_MSG];
	size_t len;
	for (uint64_t i = 0; i < n; i++) {
		check_ft(ft_queue_get(s->q, buf, sizeof(buf), &len, FT_FOREVER),
			 "ft_queue_get");
		if (len != s->msg)
			fail_msg("ft_queue_get: %zu bytes, want %zu", len, s->msg);
	}
	return 0;
}

static int queue_ask(void *st, uint64_t n)
{
	struct stream *s = st;
	unsigned char buf[64] = { 1 };
	size_t len;
	for (uint64_t i = 0; i < n; i++) {
		check_ft(ft_queue_put(s->q, buf, 64, FT_FOREVER), "ft_queue_put");
		check_ft(ft_queue_get(s->reply, buf, sizeof(buf), &len, FT_FOREVER),
			 "ft_queue_get");
	}
	return 0;
}

static int queue_answer(void *st, uint64_t n)
{
	struct stream *s = st;
	unsigned char buf[64];
	size_t len;
	for (uint64_t i = 0; i < n; i++) {
		check_ft(ft_queue_get(s->q, buf, sizeof(buf), &len, FT_FOREVER),
			 "ft_queue_get");
		check_ft(ft_queue_put(s->reply, buf, len, FT_FOREVER), "ft_queue_put");
	}
	return 0;
}

/* ------------------------------------------------------------ pipes */

static int pipes_init(struct stream *s, size_t msg)
{
	s->msg = msg;
	if (pipe(s->fwd) < 0 || pipe(s->back) < 0)
		fail("pipe", -errno);
	return 0;
}

static int pipes_init_64(void *st) { return pipes_init(st, 64); }
static int pipes_init_4k(void *st) { return pipes_init(st, 4096); }

static void pipes_fini(void *st)
{
	struct stream *s = st;
	close(s->fwd[0]);
	close(s->fwd[1]);
	close(s->back[0]);
	close(s->back[1]);
}

static void write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fail("write", -errno);
		p = (const char *)p + w;
		n -= (size_t)w;
	}
}

static void read_all(int fd, void *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail("read", r < 0 ? -errno : -EPIPE);
		p = (char *)p + r;
		n -= (size_t)r;
	}
}

static int pipe_producer(void *st, uint64_t n)
{
	struct stream *s = st;
	unsigned char buf[MAX_MSG] = { 1 };
	for (uint64_t i = 0; i < n; i++)
		write_all(s->fwd[1], buf, s->msg);
	return 0;
}

static int pipe_consumer(void *st, uint64_t n)
{
	struct stream *s = st;
	unsigned char buf[MAX_MSG];
	for (uint64_t i = 0; i < n; i++)
		read_all(s->fwd[0], buf, s->msg);
	return 0;
}

static int pipe_ask(void *st, uint64_t n)
{
	struct stream *s = st;
	unsigned char buf[64] = { 1 };
	for (uint64_t i = 0; i < n; i++) {
		write_all(s->fwd[1], buf, 64);
		read_all(s->back[0], buf, 64);
	}
	return 0;
}

static int pipe_answer(void *st, uint64_t n)
{
	struct stream *s = st;
	unsigned char buf[64];
	for (uint64_t i = 0; i < n; i++) {
		read_all(s->fwd[0], buf, 64);
		write_all(s->back[1], buf, 64);
	}
	return 0;
}

/* ------------------------------------------------- condvar ring (64 B) */

static int ring_init(void *st)
{
	struct stream *s = st;
	s->msg = 64;
	init_mutex(&s->m);
	init_cond(&s->not_empty);
	init_cond(&s->not_full);
	return 0;
}

static void ring_fini(void *st)
{
	struct stream *s = st;
	pthread_mutex_destroy(&s->m);
	pthread_cond_destroy(&s->not_empty);
	pthread_cond_destroy(&s->not_full);
}

static int ring_reset(void *st)
{
	struct stream *s = st;
	s->head = s->tail = 0;
	return 0;
}

static int ring_producer(void *st, uint64_t n)
{
	struct stream *s = st;
	unsigned char buf[64] = { 1 };
	for (uint64_t i = 0; i < n; i++) {
		check_pt(pthread_mutex_lock(&s->m), "pthread_mutex_lock");
		while (s->tail - s->head == RING_SLOTS)
			check_pt(pthread_cond_wait(&s->not_full, &s->m),
				 "pthread_cond_wait");
		memcpy(s->slots[s->tail % RING_SLOTS], buf, 64);
		s->tail++;
		check_pt(pthread_cond_signal(&s->not_empty), "pthread_cond_signal");
		check_pt(pthread_mutex_unlock(&s->m), "pthread_mutex_unlock");
	}
	return 0;
}

static int ring_consumer(void *st, uint64_t n)
{
	struct stream *s = st;
	unsigned char buf[64];
	for (uint64_t i = 0; i < n; i++) {
		check_pt(pthread_mutex_lock(&s->m), "pthread_mutex_lock");
		while (s->tail == s->head)
			check_pt(pthread_cond_wait(&s->not_empty, &s->m),
				 "pthread_cond_wait");
		memcpy(buf, s->slots[s->head % RING_SLOTS], 64);
		s->head++;
		check_pt(pthread_cond_signal(&s->not_full), "pthread_cond_signal");
		check_pt(pthread_mutex_unlock(&s->m), "pthread_mutex_unlock");
	}
	return 0;
}


/* --------------------------------------------- 2 producers -> 2 consumers */

/*
 * Four workers of one kind: two producers and two consumers, each moving
 * half of the run's n messages.  They are started before the timed part
 * and wait at a start flag; the timed part opens it and waits until all
 * four are done (pair.c does the same for one partner).
 */
#define CREW 4

struct crew {
	uint32_t ready, go, done; /* done: counts workers that finished */
	uint32_t all_done;        /* flag: the fourth set it */
	enum pair_kind kind;
	bool ours;
	uint64_t per_worker;
	ft_worker_t *w[CREW];
	pthread_t th[CREW];
	pid_t pid[CREW];
	struct stream s;          /* last: the condvar ring is large */
};

struct crew_arg {
	enum pair_kind kind;
	bool ours;
};

static struct crew *crew_of;   /* the one being run (a bench runs one) */

static void crew_body(int i)
{
	struct crew *c = crew_of;
	__atomic_fetch_add(&c->ready, 1, __ATOMIC_ACQ_REL);
	flag_wait(&c->go, 0, "crew start flag");
	int r = i < 2 ? (c->ours ? queue_producer : ring_producer)(&c->s, c->per_worker)
		      : (c->ours ? queue_consumer : ring_consumer)(&c->s, c->per_worker);
	if (r < 0)
		fail("crew loop", r);
	if (__atomic_add_fetch(&c->done, 1, __ATOMIC_ACQ_REL) == CREW)
		flag_set(&c->all_done);
}

static void crew_ft_entry(void *arg)
{
	crew_body((int)(intptr_t)arg);
}

static void *crew_pthread_entry(void *arg)
{
	crew_body((int)(intptr_t)arg);
	return NULL;
}

static int crew_setup(const void *arg, void **ctx)
{
	const struct crew_arg *a = arg;
	struct crew *c = shared_map(sizeof(*c));
	c->kind = a->kind;
	c->ours = a->ours;
	if (c->ours)
		queue_init_64(&c->s);
	else
		ring_init(&c->s);
	*ctx = c;
	return 0;
}

static int crew_before(void *ctx, uint64_t n)
{
	struct crew *c = ctx;
	c->ready = c->go = c->done = c->all_done = 0;
	c->per_worker = n / 2 ? n / 2 : 1;
	if (!c->ours)
		ring_reset(&c->s);
	crew_of = c;
	for (int i = 0; i < CREW; i++) {
		void *arg = (void *)(intptr_t)i;
		switch (c->kind) {
		case PAIR_FT_THREAD:
		case PAIR_FT_PROCESS:
			c->w[i] = ft_worker_new(NULL, crew_ft_entry, arg,
						c->kind == PAIR_FT_THREAD
						? FT_WORKER_THREAD : FT_WORKER_PROCESS);
			if (!c->w[i])
				fail("ft_worker_new", -errno);
			check_ft(ft_worker_start(c->w[i]), "ft_worker_start");
			break;
		case PAIR_PTHREAD:
			check_pt(pthread_create(&c->th[i], NULL, crew_pthread_entry,
						arg), "pthread_create");
			break;
		case PAIR_FORK: {
			fflush(stdout);
			/* Not straight into c->pid: the crew is shared memory,
			 * and the child's 0 could land after the parent's pid. */
			pid_t pid = fork();
			if (pid < 0)
				fail("fork", -errno);
			if (pid == 0) {
				crew_body(i);
				_exit(0);
			}
			c->pid[i] = pid;
			break;
		}
		}
	}
	while (__atomic_load_n(&c->ready, __ATOMIC_ACQUIRE) < CREW)
		sched_yield();
	return 0;
}

static int crew_run(void *ctx, uint64_t n)
{
	struct crew *c = ctx;
	(void)n;
	flag_set(&c->go);
	flag_wait(&c->all_done, 0, "crew loops");
	return 0;
}

static int crew_after(void *ctx)
{
	struct crew *c = ctx;
	for (int i = 0; i < CREW; i++) {
		int code = 0;
		switch (c->kind) {
		case PAIR_FT_THREAD:
		case PAIR_FT_PROCESS:
			check_ft(ft_worker_join(c->w[i], 30.0), "ft_worker_join");
			check_ft(ft_worker_exitcode(c->w[i], &code), "ft_worker_exitcode");
			if (code != 0)
				fail_msg("crew worker ended with %d", code);
			check_ft(ft_worker_free(c->w[i]), "ft_worker_free");
			break;
		case PAIR_PTHREAD:
			check_pt(pthread_join(c->th[i], NULL), "pthread_join");
			break;
		case PAIR_FORK:
			while (waitpid(c->pid[i], &code, 0) < 0)
				if (errno != EINTR)
					fail("waitpid", -errno);
			if (!WIFEXITED(code) || WEXITSTATUS(code) != 0)
				fail_msg("crew child ended with status %#x", code);
			break;
		}
	}
	return 0;
}

static void crew_teardown(void *ctx)
{
	struct crew *c = ctx;
	if (c->ours)
		queue_fini(&c->s);
	else
		ring_fini(&c->s);
	shared_unmap(c, sizeof(*c));
}

#define CREW_SIDE(label_, kind_, ours_)                                     \
	{                                                                   \
		.label = (label_),                                          \
		.arg = &(const struct crew_arg){ (kind_), (ours_) },        \
		.setup = crew_setup, .before = crew_before,                 \
		.run = crew_run, .after = crew_after,                       \
		.teardown = crew_teardown,                                  \
	}

/* ------------------------------------------------------------ cases */

static const struct pair_ops q64_ops = {
	.state_size = sizeof(struct stream), .init = queue_init_64,
	.fini = queue_fini, .main_loop = queue_producer,
	.partner_loop = queue_consumer,
};
static const struct pair_ops q4k_ops = {
	.state_size = sizeof(struct stream), .init = queue_init_4k,
	.fini = queue_fini, .main_loop = queue_producer,
	.partner_loop = queue_consumer,
};
static const struct pair_ops pipe64_ops = {
	.state_size = sizeof(struct stream), .init = pipes_init_64,
	.fini = pipes_fini, .main_loop = pipe_producer,
	.partner_loop = pipe_consumer,
};
static const struct pair_ops pipe4k_ops = {
	.state_size = sizeof(struct stream), .init = pipes_init_4k,
	.fini = pipes_fini, .main_loop = pipe_producer,
	.partner_loop = pipe_consumer,
};
static const struct pair_ops ring_ops = {
	.state_size = sizeof(struct stream), .init = ring_init,
	.fini = ring_fini, .reset = ring_reset, .main_loop = ring_producer,
	.partner_loop = ring_consumer,
};
static const struct pair_ops qrt_ops = {
	.state_size = sizeof(struct stream), .init = queue_init_64,
	.fini = queue_fini, .main_loop = queue_ask, .partner_loop = queue_answer,
};
static const struct pair_ops pipert_ops = {
	.state_size = sizeof(struct stream), .init = pipes_init_64,
	.fini = pipes_fini, .main_loop = pipe_ask, .partner_loop = pipe_answer,
};

const struct bench_case queue_cases[] = {
	PAIR_CASE("queue 64B 1->1 vs pipe", &q64_ops, &pipe64_ops, "pipe",
		  "pipe, 64-byte writes/reads", OPS_PER_S, AT_LEAST, 5.0),
	PAIR_CASE("queue 64B 1->1 vs condvar ring", &q64_ops, &ring_ops,
		  "condvar ring", "mutex+condvar ring of 1024 64-byte slots "
		  "(PROCESS_SHARED)", OPS_PER_S, AT_LEAST, 2.0),
	PAIR_CASE("queue 4KiB 1->1 vs pipe", &q4k_ops, &pipe4k_ops, "pipe",
		  "pipe, 4 KiB writes/reads", OPS_PER_S, AT_LEAST, 1.5),
	{
		.name = "queue 64B 2->2", .n_sides = 4, .n_rows = 3,
		.sides = {
			CREW_SIDE("ours, threads", PAIR_FT_THREAD, true),
			CREW_SIDE("ours, processes", PAIR_FT_PROCESS, true),
			CREW_SIDE("condvar ring, pthreads", PAIR_PTHREAD, false),
			CREW_SIDE("condvar ring, fork", PAIR_FORK, false),
		},
		.rows = {
			{ .name = "queue 64B 2->2, threads",
			  .baseline_name = "condvar ring, 2+2 pthreads",
			  .a = 0, .b = 2, .metric = OPS_PER_S, .dir = AT_LEAST,
			  .goal = 1.5 },
			{ .name = "queue 64B 2->2, processes",
			  .baseline_name = "condvar ring, 2+2 fork()ed children",
			  .a = 1, .b = 3, .metric = OPS_PER_S, .dir = AT_LEAST,
			  .goal = 1.5 },
			{ .name = "queue 64B 2->2, process/thread",
			  .baseline_name = "ours with thread workers",
			  .a = 1, .b = 0, .metric = NS_PER_OP, .dir = AT_MOST,
			  .goal = 1.2 },
		},
	},
	PAIR_CASE("queue round trip", &qrt_ops, &pipert_ops, "pipes",
		  "request/reply through two pipes, 64 bytes", NS_PER_OP,
		  AT_MOST, 0.5),
};
const size_t n_queue_cases = sizeof(queue_cases) / sizeof(queue_cases[0]);
