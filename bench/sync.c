/* SPDX-License-Identifier: MIT */
/*
 * Sync cases: Lock, Semaphore and Barrier here, Event and Condition
 * round trips in pingpong.c, against process-shared pthread / POSIX /
 * pipe baselines.  Every pthread object is PTHREAD_PROCESS_SHARED in
 * MAP_SHARED memory, so the baseline pays what a cross-process primitive
 * costs, as ours does.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdalign.h>
#include <unistd.h>

#include <freethreading.h>

#include "sync.h"

/* ------------------------------------------------- pthread object set-up */

void init_mutex(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int r = pthread_mutexattr_init(&a);
	if (r == 0)
		r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (r == 0)
		r = pthread_mutex_init(m, &a);
	if (r != 0)
		fail("pthread_mutex_init(PTHREAD_PROCESS_SHARED)", -r);
	pthread_mutexattr_destroy(&a);
}

void init_cond(pthread_cond_t *c)
{
	pthread_condattr_t a;
	int r = pthread_condattr_init(&a);
	if (r == 0)
		r = pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (r == 0)
		r = pthread_cond_init(c, &a);
	if (r != 0)
		fail("pthread_cond_init(PTHREAD_PROCESS_SHARED)", -r);
	pthread_condattr_destroy(&a);
}

static void init_barrier(pthread_barrier_t *b, unsigned parties)
{
	pthread_barrierattr_t a;
	int r = pthread_barrierattr_init(&a);
	if (r == 0)
		r = pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (r == 0)
		r = pthread_barrier_init(b, &a, parties);
	if (r != 0)
		fail("pthread_barrier_init(PTHREAD_PROCESS_SHARED)", -r);
	pthread_barrierattr_destroy(&a);
}

void check_pt(int r, const char *what)
{
	if (r != 0)
		fail(what, -r);
}

void check_ft(int r, const char *what)
{
	if (r != 0) /* -EOWNERDEAD included: nobody died here */
		fail(what, r);
}

/* ------------------------------------------------- uncontended, one worker */

struct solo {
	ft_lock_t *lock;
	ft_semaphore_t *sem;
	alignas(64) pthread_mutex_t m;
	alignas(64) sem_t s;
};

static int solo_setup(const void *arg, void **ctx)
{
	struct solo *s = shared_map(sizeof(*s));
	(void)arg;
	if (!(s->lock = ft_lock_new()))
		fail("ft_lock_new", -errno);
	if (!(s->sem = ft_semaphore_new(1)))
		fail("ft_semaphore_new", -errno);
	init_mutex(&s->m);
	if (sem_init(&s->s, 1, 1) != 0)
		fail("sem_init(pshared=1)", -errno);
	*ctx = s;
	return 0;
}

static void solo_teardown(void *ctx)
{
	struct solo *s = ctx;
	check_ft(ft_lock_free(s->lock), "ft_lock_free");
	check_ft(ft_semaphore_free(s->sem), "ft_semaphore_free");
	check_pt(pthread_mutex_destroy(&s->m), "pthread_mutex_destroy");
	if (sem_destroy(&s->s) != 0)
		fail("sem_destroy", -errno);
	shared_unmap(s, sizeof(*s));
}

static int ours_lock_solo(void *ctx, uint64_t n)
{
	struct solo *s = ctx;
	for (uint64_t i = 0; i < n; i++) {
		check_ft(ft_lock_acquire(s->lock, FT_FOREVER), "ft_lock_acquire");
		check_ft(ft_lock_release(s->lock), "ft_lock_release");
	}
	return 0;
}

static int base_lock_solo(void *ctx, uint64_t n)
{
	struct solo *s = ctx;
	for (uint64_t i = 0; i < n; i++) {
		check_pt(pthread_mutex_lock(&s->m), "pthread_mutex_lock");
		check_pt(pthread_mutex_unlock(&s->m), "pthread_mutex_unlock");
	}
	return 0;
}

static int ours_sem_solo(void *ctx, uint64_t n)
{
	struct solo *s = ctx;
	for (uint64_t i = 0; i < n; i++) {
		check_ft(ft_semaphore_acquire(s->sem, FT_FOREVER),
			 "ft_semaphore_acquire");
		check_ft(ft_semaphore_release(s->sem, 1), "ft_semaphore_release");
	}
	return 0;
}

static int base_sem_solo(void *ctx, uint64_t n)
{
	struct solo *s = ctx;
	for (uint64_t i = 0; i < n; i++) {
		if (sem_wait(&s->s) != 0)
			fail("sem_wait", -errno);
		if (sem_post(&s->s) != 0)
			fail("sem_post", -errno);
	}
	return 0;
}

/* ------------------------------------------------- lock counter (split) */

struct counter {
	ft_lock_t *lock;
	alignas(64) pthread_mutex_t m;
	alignas(64) uint64_t count; /* guarded by the lock / mutex */
};

static int counter_init_ours(void *st)
{
	struct counter *c = st;
	if (!(c->lock = ft_lock_new()))
		fail("ft_lock_new", -errno);
	return 0;
}

static void counter_fini_ours(void *st)
{
	check_ft(ft_lock_free(((struct counter *)st)->lock), "ft_lock_free");
}

static int counter_init_base(void *st)
{
	init_mutex(&((struct counter *)st)->m);
	return 0;
}

static void counter_fini_base(void *st)
{
	check_pt(pthread_mutex_destroy(&((struct counter *)st)->m),
		 "pthread_mutex_destroy");
}

static int counter_reset(void *st)
{
	((struct counter *)st)->count = 0;
	return 0;
}

static int counter_check(void *st, uint64_t n)
{
	struct counter *c = st;
	if (c->count != n)
		fail_msg("counter is %llu after %llu increments: lost updates",
			 (unsigned long long)c->count, (unsigned long long)n);
	return 0;
}

static int counter_ours(void *st, uint64_t n)
{
	struct counter *c = st;
	for (uint64_t i = 0; i < n; i++) {
		check_ft(ft_lock_acquire(c->lock, FT_FOREVER), "ft_lock_acquire");
		c->count++;
		check_ft(ft_lock_release(c->lock), "ft_lock_release");
	}
	return 0;
}

static int counter_base(void *st, uint64_t n)
{
	struct counter *c = st;
	for (uint64_t i = 0; i < n; i++) {
		check_pt(pthread_mutex_lock(&c->m), "pthread_mutex_lock");
		c->count++;
		check_pt(pthread_mutex_unlock(&c->m), "pthread_mutex_unlock");
	}
	return 0;
}

static const struct pair_ops counter_ours_ops = {
	.state_size = sizeof(struct counter), .split = true,
	.init = counter_init_ours, .fini = counter_fini_ours,
	.reset = counter_reset, .check = counter_check,
	.main_loop = counter_ours, .partner_loop = counter_ours,
};

static const struct pair_ops counter_base_ops = {
	.state_size = sizeof(struct counter), .split = true,
	.init = counter_init_base, .fini = counter_fini_base,
	.reset = counter_reset, .check = counter_check,
	.main_loop = counter_base, .partner_loop = counter_base,
};

/* ------------------------------------------------- barrier, 2 parties */

struct barrier2 {
	ft_barrier_t *b;
	alignas(64) pthread_barrier_t pb;
};

static int barrier_init_ours(void *st)
{
	struct barrier2 *b = st;
	if (!(b->b = ft_barrier_new(2, NULL, NULL, FT_FOREVER)))
		fail("ft_barrier_new", -errno);
	return 0;
}

static void barrier_fini_ours(void *st)
{
	check_ft(ft_barrier_free(((struct barrier2 *)st)->b), "ft_barrier_free");
}

static int barrier_init_base(void *st)
{
	init_barrier(&((struct barrier2 *)st)->pb, 2);
	return 0;
}

static void barrier_fini_base(void *st)
{
	check_pt(pthread_barrier_destroy(&((struct barrier2 *)st)->pb),
		 "pthread_barrier_destroy");
}

static int barrier_ours(void *st, uint64_t n)
{
	struct barrier2 *b = st;
	for (uint64_t i = 0; i < n; i++) {
		int r = ft_barrier_wait(b->b, FT_FOREVER);
		if (r < 0 || r > 1)
			fail("ft_barrier_wait", r < 0 ? r : -ERANGE);
	}
	return 0;
}

static int barrier_base(void *st, uint64_t n)
{
	struct barrier2 *b = st;
	for (uint64_t i = 0; i < n; i++) {
		int r = pthread_barrier_wait(&b->pb);
		if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
			fail("pthread_barrier_wait", -r);
	}
	return 0;
}

static const struct pair_ops barrier_ours_ops = {
	.state_size = sizeof(struct barrier2),
	.init = barrier_init_ours, .fini = barrier_fini_ours,
	.main_loop = barrier_ours, .partner_loop = barrier_ours,
};

static const struct pair_ops barrier_base_ops = {
	.state_size = sizeof(struct barrier2),
	.init = barrier_init_base, .fini = barrier_fini_base,
	.main_loop = barrier_base, .partner_loop = barrier_base,
};

/* ------------------------------------------------- the table */

#define SOLO_CASE(name_, desc_, ours_, base_, label_)                        \
	{                                                                    \
		.name = (name_), .n_sides = 2, .n_rows = 1,                  \
		.sides = {                                                   \
			{ .label = "ours", .setup = solo_setup,              \
			  .run = (ours_), .teardown = solo_teardown },       \
			{ .label = (label_), .setup = solo_setup,            \
			  .run = (base_), .teardown = solo_teardown },       \
		},                                                           \
		.rows = { { .name = (name_), .baseline_name = (desc_),       \
			    .a = 0, .b = 1, .metric = NS_PER_OP,             \
			    .dir = AT_MOST, .goal = 1.0 } },                 \
	}

/*
 * Sides: 0 ours/threads, 1 ours/processes, 2 baseline/pthreads,
 * 3 baseline/fork.  Rows: threads (0 vs 2), processes (1 vs 3), and
 * process/thread (1 vs 0, our process workers against our thread
 * workers, in ns/op whatever the case's metric).
 */
const struct bench_case sync_cases[] = {
	SOLO_CASE("lock uncontended", "pthread_mutex (PROCESS_SHARED) "
		  "lock + unlock", ours_lock_solo, base_lock_solo,
		  "pthread_mutex"),
	SOLO_CASE("semaphore uncontended", "sem_t (pshared=1) sem_wait + "
		  "sem_post", ours_sem_solo, base_sem_solo, "sem_t"),
	PAIR_CASE("lock counter", &counter_ours_ops, &counter_base_ops,
		  "pthread_mutex", "pthread_mutex (PROCESS_SHARED) "
		  "lock/inc/unlock", OPS_PER_S, AT_LEAST, 1.5),
	PAIR_CASE("event ping-pong", &events_ops, &pipes_ops, "pipes",
		  "two pipes, 1 byte each way", NS_PER_OP, AT_MOST, 0.5),
	PAIR_CASE("condition ping-pong", &cond_ours_ops, &cond_base_ops,
		  "condvar", "pthread_cond + pthread_mutex (PROCESS_SHARED)",
		  NS_PER_OP, AT_MOST, 1.0),
	PAIR_CASE("barrier 2 parties", &barrier_ours_ops, &barrier_base_ops,
		  "pthread_barrier", "pthread_barrier (PROCESS_SHARED)",
		  NS_PER_OP, AT_MOST, 1.0),
};
const size_t n_sync_cases = sizeof(sync_cases) / sizeof(sync_cases[0]);
