/* SPDX-License-Identifier: MIT */
/*
 * Pool and executor cases: tiny tasks one at a time and a map of a
 * million tiny items against a plain pthread pool written here (what
 * people write: N threads, one mutex, a condvar for "work queued" and one
 * per task for "done"); a CPU-bound map against a serial loop; and the
 * spawn of a pool of N process workers against N fork()s.  N is the
 * online CPU count.  Executors and pools are made in setup, outside the
 * timing, except in the spawn case, which times exactly that.
 */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <freethreading.h>

#include "sync.h"

static int n_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		fail("malloc", -ENOMEM);
	return p;
}

/* ------------------------------------------------------------ tasks */

/* The tiny task: return in + 1. */
static int inc_task(const void *in, void *out)
{
	uint64_t x;
	memcpy(&x, in, sizeof(x));
	x++;
	memcpy(out, &x, sizeof(x));
	return 0;
}

static uint32_t is_prime(uint64_t x)
{
	if (x < 2)
		return 0;
	if (x % 2 == 0)
		return x == 2;
	for (uint64_t d = 3; d * d <= x; d += 2)
		if (x % d == 0)
			return 0;
	return 1;
}

/* The CPU-bound task: 1 if the number is prime (trial division). */
static int prime_task(const void *in, void *out)
{
	uint64_t x;
	memcpy(&x, in, sizeof(x));
	uint32_t p = is_prime(x);
	memcpy(out, &p, sizeof(p));
	return 0;
}

/* ---------------------------------------------- the plain pthread pool */

/*
 * A task: @n items of @in_size bytes at @in, results at @out (n is 1 for
 * a submit, the chunk size for a map).  A submitted task carries a copy
 * of its input and its output inline, as a future does.
 */
struct ptask {
	ft_task_fn fn;
	const char *in;
	char *out;
	size_t n, in_size, out_size;
	int rc;
	bool done;
	pthread_cond_t done_cv;    /* the waiter's: signalled when done */
	struct ptask *next;
	alignas(16) char data[];
};

struct ppool {
	pthread_mutex_t m;         /* guards everything below and each task */
	pthread_cond_t work;       /* a task was queued, or stop */
	struct ptask *head, *tail;
	bool stop;
	int nthreads;
	pthread_t th[];
};

static struct ptask *ptask_new(ft_task_fn fn, const void *in, size_t n,
			       size_t in_size, void *out, size_t out_size)
{
	size_t inline_in = in ? 0 : (in_size + 15) & ~(size_t)15;
	size_t inline_out = out ? 0 : out_size;
	struct ptask *t = xmalloc(sizeof(*t) + inline_in + inline_out);
	t->fn = fn;
	t->in = in ? in : t->data;
	t->out = out ? out : t->data + inline_in;
	t->n = n;
	t->in_size = in_size;
	t->out_size = out_size;
	t->rc = 0;
	t->done = false;
	t->next = NULL;
	check_pt(pthread_cond_init(&t->done_cv, NULL), "pthread_cond_init");
	return t;
}

static void ptask_free(struct ptask *t)
{
	check_pt(pthread_cond_destroy(&t->done_cv), "pthread_cond_destroy");
	free(t);
}

static void *ppool_main(void *arg)
{
	struct ppool *p = arg;

	check_pt(pthread_mutex_lock(&p->m), "pthread_mutex_lock");
	for (;;) {
		while (!p->head && !p->stop)
			check_pt(pthread_cond_wait(&p->work, &p->m),
				 "pthread_cond_wait");
		struct ptask *t = p->head;
		if (!t)
			break; /* stopped, queue drained */
		p->head = t->next;
		if (!p->head)
			p->tail = NULL;
		check_pt(pthread_mutex_unlock(&p->m), "pthread_mutex_unlock");
		int rc = 0;
		for (size_t k = 0; k < t->n && rc == 0; k++)
			rc = t->fn(t->in + k * t->in_size,
				   t->out + k * t->out_size);
		check_pt(pthread_mutex_lock(&p->m), "pthread_mutex_lock");
		t->rc = rc;
		t->done = true;
		check_pt(pthread_cond_signal(&t->done_cv), "pthread_cond_signal");
	}
	check_pt(pthread_mutex_unlock(&p->m), "pthread_mutex_unlock");
	return NULL;
}

static struct ppool *ppool_new(int nthreads)
{
	struct ppool *p = xmalloc(sizeof(*p) + (size_t)nthreads * sizeof(pthread_t));
	memset(p, 0, sizeof(*p));
	p->nthreads = nthreads;
	check_pt(pthread_mutex_init(&p->m, NULL), "pthread_mutex_init");
	check_pt(pthread_cond_init(&p->work, NULL), "pthread_cond_init");
	for (int i = 0; i < nthreads; i++)
		check_pt(pthread_create(&p->th[i], NULL, ppool_main, p),
			 "pthread_create");
	return p;
}

static void ppool_submit(struct ppool *p, struct ptask *t)
{
	check_pt(pthread_mutex_lock(&p->m), "pthread_mutex_lock");
	if (p->tail)
		p->tail->next = t;
	else
		p->head = t;
	p->tail = t;
	check_pt(pthread_cond_signal(&p->work), "pthread_cond_signal");
	check_pt(pthread_mutex_unlock(&p->m), "pthread_mutex_unlock");
}

static int ppool_wait(struct ppool *p, struct ptask *t)
{
	check_pt(pthread_mutex_lock(&p->m), "pthread_mutex_lock");
	while (!t->done)
		check_pt(pthread_cond_wait(&t->done_cv, &p->m), "pthread_cond_wait");
	int rc = t->rc;
	check_pt(pthread_mutex_unlock(&p->m), "pthread_mutex_unlock");
	return rc;
}

/* The map as people write it over such a pool: chunks of
 * ceil(n / (4 x threads)) items (Python's default), queued in order,
 * then waited for in order; items and results stay where they are. */
static int ppool_map(struct ppool *p, ft_task_fn fn, const void *items,
		     size_t n, size_t in_size, void *results, size_t out_size)
{
	size_t per = 4 * (size_t)p->nthreads;
	size_t cs = n ? (n + per - 1) / per : 1;
	size_t nch = n ? (n - 1) / cs + 1 : 0;
	struct ptask **ts = xmalloc(nch * sizeof(*ts));
	int rc = 0;

	for (size_t c = 0; c < nch; c++) {
		size_t first = c * cs;
		ts[c] = ptask_new(fn, (const char *)items + first * in_size,
				  n - first < cs ? n - first : cs, in_size,
				  (char *)results + first * out_size, out_size);
		ppool_submit(p, ts[c]);
	}
	for (size_t c = 0; c < nch; c++) {
		int r = ppool_wait(p, ts[c]);
		if (r && !rc)
			rc = r;
		ptask_free(ts[c]);
	}
	free(ts);
	return rc;
}

static void ppool_free(struct ppool *p)
{
	check_pt(pthread_mutex_lock(&p->m), "pthread_mutex_lock");
	p->stop = true;
	check_pt(pthread_cond_broadcast(&p->work), "pthread_cond_broadcast");
	check_pt(pthread_mutex_unlock(&p->m), "pthread_mutex_unlock");
	for (int i = 0; i < p->nthreads; i++)
		check_pt(pthread_join(p->th[i], NULL), "pthread_join");
	check_pt(pthread_cond_destroy(&p->work), "pthread_cond_destroy");
	check_pt(pthread_mutex_destroy(&p->m), "pthread_mutex_destroy");
	free(p);
}

/* ------------------------------------------------ submit + result */

static const unsigned thread_kind = FT_WORKER_THREAD;
static const unsigned process_kind = FT_WORKER_PROCESS;
static const bool heap_arrays = false, arena_arrays = true;

static int ex_setup(const void *arg, void **ctx)
{
	struct ft_pool_options o = { .flags = *(const unsigned *)arg };
	ft_executor_t *ex = ft_executor_new(n_workers(), &o);
	if (!ex)
		fail("ft_executor_new", -errno);
	*ctx = ex;
	return 0;
}

static void ex_teardown(void *ctx)
{
	check_ft(ft_executor_free(ctx), "ft_executor_free");
}

static int ex_submit_result(void *ctx, uint64_t n)
{
	ft_executor_t *ex = ctx;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t out = 0;
		ft_future_t *f = ft_executor_submit(ex, inc_task, &i, sizeof(i),
						    sizeof(out));
		if (!f)
			fail("ft_executor_submit", -errno);
		check_ft(ft_future_result(f, &out, FT_FOREVER), "ft_future_result");
		if (out != i + 1)
			fail_msg("task %llu returned %llu", (unsigned long long)i,
				 (unsigned long long)out);
		check_ft(ft_future_free(f), "ft_future_free");
	}
	return 0;
}

static int pp_setup(const void *arg, void **ctx)
{
	(void)arg;
	*ctx = ppool_new(n_workers());
	return 0;
}

static void pp_teardown(void *ctx)
{
	ppool_free(ctx);
}

static int pp_submit_result(void *ctx, uint64_t n)
{
	struct ppool *p = ctx;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t out = 0;
		struct ptask *t = ptask_new(inc_task, NULL, 1, sizeof(i), NULL,
					    sizeof(out));
		memcpy(t->data, &i, sizeof(i));
		ppool_submit(p, t);
		int rc = ppool_wait(p, t);
		if (rc != 0)
			fail("pthread pool task", rc);
		memcpy(&out, t->out, sizeof(out));
		ptask_free(t);
		if (out != i + 1)
			fail_msg("task %llu returned %llu", (unsigned long long)i,
				 (unsigned long long)out);
	}
	return 0;
}

/* ------------------------------------------------------ map, tiny items */

/* A run of n items is maps of MAP_ITEMS items and one of the rest. */
#define MAP_ITEMS 1000000

struct mapctx {
	ft_pool_t *pool;           /* ours */
	struct ppool *pp;          /* baseline */
	uint64_t *items, *results; /* heap arrays, as a caller has them, or
				    * ft_shared_alloc ones (in the arena) */
	bool shared;
	uint64_t n;                /* this run's items */
};

static void *map_array(bool shared)
{
	size_t size = MAP_ITEMS * sizeof(uint64_t);
	if (!shared)
		return xmalloc(size);
	void *p = ft_shared_alloc(size);
	if (!p)
		fail("ft_shared_alloc", -errno);
	return p;
}

static void map_array_free(void *p, bool shared)
{
	if (shared)
		check_ft(ft_shared_free(p), "ft_shared_free");
	else
		free(p);
}

static struct mapctx *mapctx_new(bool shared)
{
	struct mapctx *m = xmalloc(sizeof(*m));
	memset(m, 0, sizeof(*m));
	m->shared = shared;
	m->items = map_array(shared);
	m->results = map_array(shared);
	for (size_t i = 0; i < MAP_ITEMS; i++)
		m->items[i] = i;
	return m;
}

/* Ours: a pool of N thread workers; @arg true: arrays in the arena. */
static int map_ours_setup(const void *arg, void **ctx)
{
	struct ft_pool_options o = { .flags = FT_WORKER_THREAD };
	struct mapctx *m = mapctx_new(*(const bool *)arg);
	if (!(m->pool = ft_pool_new(n_workers(), &o)))
		fail("ft_pool_new", -errno);
	*ctx = m;
	return 0;
}

static int map_pp_setup(const void *arg, void **ctx)
{
	(void)arg;
	struct mapctx *m = mapctx_new(false);
	m->pp = ppool_new(n_workers());
	*ctx = m;
	return 0;
}

static void map_teardown(void *ctx)
{
	struct mapctx *m = ctx;
	if (m->pool)
		check_ft(ft_pool_free(m->pool), "ft_pool_free");
	if (m->pp)
		ppool_free(m->pp);
	map_array_free(m->items, m->shared);
	map_array_free(m->results, m->shared);
	free(m);
}

static int map_before(void *ctx, uint64_t n)
{
	struct mapctx *m = ctx;
	m->n = n;
	memset(m->results, 0, MAP_ITEMS * sizeof(uint64_t));
	return 0;
}

/* Every result a map of this run wrote is its item + 1. */
static int map_after(void *ctx)
{
	struct mapctx *m = ctx;
	size_t k = m->n < MAP_ITEMS ? (size_t)m->n : MAP_ITEMS;
	for (size_t i = 0; i < k; i++)
		if (m->results[i] != i + 1)
			fail_msg("map result %zu is %llu", i,
				 (unsigned long long)m->results[i]);
	return 0;
}

static int map_ours_run(void *ctx, uint64_t n)
{
	struct mapctx *m = ctx;
	for (uint64_t done = 0; done < n;) {
		size_t k = n - done < MAP_ITEMS ? (size_t)(n - done) : MAP_ITEMS;
		check_ft(ft_pool_map(m->pool, inc_task, m->items, k,
				     sizeof(uint64_t), m->results,
				     sizeof(uint64_t), 0, FT_FOREVER),
			 "ft_pool_map");
		done += k;
	}
	return 0;
}

static int map_pp_run(void *ctx, uint64_t n)
{
	struct mapctx *m = ctx;
	for (uint64_t done = 0; done < n;) {
		size_t k = n - done < MAP_ITEMS ? (size_t)(n - done) : MAP_ITEMS;
		int rc = ppool_map(m->pp, inc_task, m->items, k,
				   sizeof(uint64_t), m->results,
				   sizeof(uint64_t));
		if (rc != 0)
			fail("pthread pool map", rc);
		done += k;
	}
	return 0;
}

/* ---------------------------------------------------------- map, primes */

/*
 * A run of n operations tests the n numbers from PRIME_BASE up: about
 * sqrt(1e9) / 2 = 16k trial divisions for a prime (one number in 21), a
 * few for most others, so each number costs about the same whatever n.
 */
#define PRIME_BASE UINT64_C(1000000000)

struct primectx {
	ft_pool_t *pool;           /* NULL: the serial side */
	uint64_t *items;
	uint32_t *results;
	uint64_t n;
};

static int prime_setup(const void *arg, void **ctx)
{
	struct primectx *p = xmalloc(sizeof(*p));
	memset(p, 0, sizeof(*p));
	if (arg) {
		struct ft_pool_options o = { .flags = *(const unsigned *)arg };
		if (!(p->pool = ft_pool_new(n_workers(), &o)))
			fail("ft_pool_new", -errno);
	}
	*ctx = p;
	return 0;
}

static void prime_teardown(void *ctx)
{
	struct primectx *p = ctx;
	if (p->pool)
		check_ft(ft_pool_free(p->pool), "ft_pool_free");
	free(p);
}

static int prime_before(void *ctx, uint64_t n)
{
	struct primectx *p = ctx;
	p->n = n;
	p->items = xmalloc(n * sizeof(uint64_t));
	p->results = xmalloc(n * sizeof(uint32_t));
	for (uint64_t i = 0; i < n; i++) {
		p->items[i] = PRIME_BASE + i;
		p->results[i] = UINT32_MAX;
	}
	return 0;
}

/* Check every 61st result (and the last), then free the arrays. */
static int prime_after(void *ctx)
{
	struct primectx *p = ctx;
	for (uint64_t i = 0; i < p->n; i = i + 61 < p->n || i + 1 == p->n
						   ? i + 61 : p->n - 1)
		if (p->results[i] != is_prime(p->items[i]))
			fail_msg("primes: result %llu is %u",
				 (unsigned long long)i, p->results[i]);
	free(p->items);
	free(p->results);
	p->items = NULL;
	p->results = NULL;
	return 0;
}

static int prime_ours_run(void *ctx, uint64_t n)
{
	struct primectx *p = ctx;
	check_ft(ft_pool_map(p->pool, prime_task, p->items, n, sizeof(uint64_t),
			     p->results, sizeof(uint32_t), 0, FT_FOREVER),
		 "ft_pool_map");
	return 0;
}

static int prime_serial_run(void *ctx, uint64_t n)
{
	struct primectx *p = ctx;
	for (uint64_t i = 0; i < n; i++) {
		int rc = prime_task(&p->items[i], &p->results[i]);
		if (rc != 0)
			fail("prime_task", rc);
	}
	return 0;
}

/* ----------------------------------------------------- pool spawn */

static int spawn_ours_run(void *ctx, uint64_t n)
{
	(void)ctx;
	struct ft_pool_options o = { .flags = FT_WORKER_PROCESS };
	int workers = n_workers();
	for (uint64_t i = 0; i < n; i++) {
		ft_pool_t *p = ft_pool_new(workers, &o);
		if (!p)
			fail("ft_pool_new", -errno);
		check_ft(ft_pool_free(p), "ft_pool_free");
	}
	return 0;
}

static int spawn_fork_run(void *ctx, uint64_t n)
{
	(void)ctx;
	int workers = n_workers();
	pid_t *pids = xmalloc((size_t)workers * sizeof(pid_t));
	for (uint64_t i = 0; i < n; i++) {
		for (int k = 0; k < workers; k++) {
			pid_t pid = fork();
			if (pid < 0)
				fail("fork", -errno);
			if (pid == 0)
				_exit(0);
			pids[k] = pid;
		}
		for (int k = 0; k < workers; k++) {
			int st;
			pid_t r;
			while ((r = waitpid(pids[k], &st, 0)) < 0 && errno == EINTR)
				;
			if (r < 0)
				fail("waitpid", -errno);
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				fail_msg("child ended with status %#x", st);
		}
	}
	free(pids);
	return 0;
}

/* ------------------------------------------------------------ cases */

/* Not const: the primes rows' goal, 0.9 x N, is set at start-up. */
struct bench_case pool_cases[] = {
	{
		.name = "executor submit+result", .n_sides = 3, .n_rows = 2,
		.sides = {
			{ .label = "ours, threads", .arg = &thread_kind,
			  .setup = ex_setup, .run = ex_submit_result,
			  .teardown = ex_teardown },
			{ .label = "ours, processes", .arg = &process_kind,
			  .setup = ex_setup, .run = ex_submit_result,
			  .teardown = ex_teardown },
			{ .label = "pthread pool", .setup = pp_setup,
			  .run = pp_submit_result, .teardown = pp_teardown },
		},
		.rows = {
			{ .name = "executor submit+result, threads",
			  .baseline_name = "pthread pool of N threads: mutex + "
					   "condvar queue, a done condvar per task",
			  .a = 0, .b = 2, .metric = OPS_PER_S, .dir = AT_LEAST,
			  .goal = 2.0 },
			{ .name = "executor submit+result, processes vs threads",
			  .baseline_name = "ours with N FT_WORKER_THREAD workers",
			  .a = 1, .b = 0, .metric = OPS_PER_S, .dir = AT_LEAST,
			  .goal = 0.8 },
		},
	},
	{
		.name = "pool map 1M tiny items", .n_sides = 3, .n_rows = 2,
		.sides = {
			{ .label = "ours, threads", .arg = &heap_arrays,
			  .setup = map_ours_setup, .before = map_before,
			  .run = map_ours_run, .after = map_after,
			  .teardown = map_teardown },
			{ .label = "pthread pool", .setup = map_pp_setup,
			  .before = map_before, .run = map_pp_run,
			  .after = map_after, .teardown = map_teardown },
			{ .label = "ours, threads, arena arrays",
			  .arg = &arena_arrays,
			  .setup = map_ours_setup, .before = map_before,
			  .run = map_ours_run, .after = map_after,
			  .teardown = map_teardown },
		},
		.rows = {
			{ .name = "pool map 1M tiny items",
			  .baseline_name = "pthread pool of N threads, chunks of "
					   "ceil(n / 4N) items",
			  .a = 0, .b = 1, .metric = OPS_PER_S, .dir = AT_LEAST,
			  .goal = 2.0 },
			/* Not in the issue: the same map with items and
			 * results from ft_shared_alloc, which the pool neither
			 * copies in nor out (what the first row's gap is). */
			{ .name = "pool map 1M tiny items, arena arrays",
			  .baseline_name = "the same pthread pool (heap arrays)",
			  .a = 2, .b = 1, .metric = OPS_PER_S, .dir = AT_LEAST,
			  .goal = 2.0 },
		},
	},
	{
		.name = "pool map primes", .n_sides = 3, .n_rows = 2,
		.sides = {
			{ .label = "ours, threads", .arg = &thread_kind,
			  .setup = prime_setup, .before = prime_before,
			  .run = prime_ours_run, .after = prime_after,
			  .teardown = prime_teardown },
			{ .label = "ours, processes", .arg = &process_kind,
			  .setup = prime_setup, .before = prime_before,
			  .run = prime_ours_run, .after = prime_after,
			  .teardown = prime_teardown },
			{ .label = "serial", .setup = prime_setup,
			  .before = prime_before, .run = prime_serial_run,
			  .after = prime_after, .teardown = prime_teardown },
		},
		.rows = {
			{ .name = "pool map primes, N workers, threads",
			  .baseline_name = "serial loop in the main thread",
			  .a = 0, .b = 2, .metric = OPS_PER_S, .dir = AT_LEAST,
			  .goal = 0.9 /* x N, set at start-up */ },
			{ .name = "pool map primes, N workers, processes",
			  .baseline_name = "serial loop in the main thread",
			  .a = 1, .b = 2, .metric = OPS_PER_S, .dir = AT_LEAST,
			  .goal = 0.9 /* x N, set at start-up */ },
		},
	},
	{
		.name = "warm pool spawn", .n_sides = 2, .n_rows = 1,
		.sides = {
			{ .label = "ours", .run = spawn_ours_run },
			{ .label = "fork", .run = spawn_fork_run },
		},
		.rows = { {
			.name = "warm pool spawn, N process workers",
			.baseline_name = "N x fork + _exit, then N x waitpid",
			.a = 0, .b = 1, .metric = NS_PER_OP, .dir = AT_MOST,
			.goal = 1.0,
		} },
	},
};
const size_t n_pool_cases = sizeof(pool_cases) / sizeof(pool_cases[0]);

/* The primes rows: speed-up >= 0.9 x N on N CPUs. */
__attribute__((constructor)) static void pool_goals(void)
{
	for (size_t i = 0; i < n_pool_cases; i++)
		for (int j = 0; j < pool_cases[i].n_rows; j++)
			if (strstr(pool_cases[i].rows[j].name, "primes"))
				pool_cases[i].rows[j].goal = 0.9 * n_workers();
}
