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
#include <pthread.h>
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
	PAIR_CASE("queue round trip", &qrt_ops, &pipert_ops, "pipes",
		  "request/reply through two pipes, 64 bytes", NS_PER_OP,
		  AT_MOST, 0.5),
};
const size_t n_queue_cases = sizeof(queue_cases) / sizeof(queue_cases[0]);
