/* SPDX-License-Identifier: MIT */
/*
 * The benchmark harness: what a case is, and the helpers every topic file
 * (spawn.c, sync.c, pingpong.c, pair.c) uses.  See harness.c for the
 * method and README.md for the cases.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_REPS 99
#define MAX_SIDES 4
#define MAX_ROWS 3

/* What a row reports; the ratio is always side a / side b. */
enum metric {
	NS_PER_OP, /* latency: lower is better, goal is usually "<=" */
	OPS_PER_S, /* throughput: higher is better, goal is usually ">=" */
};

enum goal_dir {
	AT_MOST,  /* met when ratio <= goal */
	AT_LEAST, /* met when ratio >= goal */
};

/*
 * One thing that is timed.  setup/teardown run once per case, before/after
 * once per timed run (spawning and joining helper workers, say), all
 * outside the timing; only run(ctx, n) is timed.  Every hook but run is
 * optional; each returns 0 or a negative errno (after fail(), if it wants
 * to say more).  @arg is passed to setup as is.
 */
struct side {
	const char *label;      /* "ours", "pthread, threads", ... */
	const void *arg;
	int (*setup)(const void *arg, void **ctx);
	int (*before)(void *ctx, uint64_t n);
	int (*run)(void *ctx, uint64_t n);
	int (*after)(void *ctx);
	void (*teardown)(void *ctx);
};

/* One line of the table: two sides of a case compared against a goal. */
struct row {
	const char *name;          /* what --filter matches */
	const char *baseline_name; /* what side b is, for the reader */
	int a, b;                  /* indices into the case's sides */
	enum metric metric;
	enum goal_dir dir;
	double goal;
};

/*
 * A case: up to MAX_SIDES sides, timed interleaved in one loop (so each
 * row's two sides see the same machine), and the rows reported from them.
 */
struct bench_case {
	const char *name;          /* for messages: "lock counter" */
	int n_sides, n_rows;
	struct side sides[MAX_SIDES];
	struct row rows[MAX_ROWS];
};

/* The topic files' case tables. */
extern const struct bench_case spawn_cases[];
extern const size_t n_spawn_cases;
extern const struct bench_case sync_cases[];
extern const size_t n_sync_cases;
extern const struct bench_case queue_cases[];
extern const size_t n_queue_cases;
/* Not const: pool.c sets its primes rows' goal (0.9 x CPUs) at start-up. */
extern struct bench_case pool_cases[];
extern const size_t n_pool_cases;

/*
 * Stop the whole run with a message naming the case and side: @err is a
 * negative (or positive) errno.  Called in a helper process, it tells the
 * main process to stop too (exit status 2 either way).
 */
_Noreturn void fail(const char *what, int err);
_Noreturn void fail_msg(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Zeroed MAP_SHARED memory (inherited by forked children), or fail(). */
void *shared_map(size_t size);
void shared_unmap(void *p, size_t size);

/*
 * A one-shot flag in shared memory that any thread or process can wait
 * for: plain futex(2) on a MAP_SHARED word, the same for every side, so
 * it never favours one.
 */
void flag_set(uint32_t *f);
/* Wait for the flag; @timeout_s > 0 bounds the wait (fail() after it). */
void flag_wait(uint32_t *f, double timeout_s, const char *what);

/*
 * From the SIGALRM handler of a timed run that outlived @seconds: print
 * each thread of this process and of its children (state, system call,
 * wchan, CPU used over two seconds) and whether they all sleep (a
 * deadlock) or still run (watchdog.c).  Async-signal-safe.
 */
void watchdog_report(const char *case_name, const char *side,
		     unsigned seconds);

/* ---------------------------------------------------------------- pairs */
/*
 * Two-worker cases (pair.c): the main worker and one partner, spawned as
 * a libfreethreading thread or process worker (ours) or as a pthread or a
 * fork()ed child (baselines).  Per timed run (before/after, untimed) the
 * partner is started, says it is ready and waits at a start flag; the
 * timed part opens the flag, runs the main worker's loop and waits until
 * the partner's loop is done; then the partner is joined and its exit
 * status checked.  The case's state lives in MAP_SHARED memory, so both
 * kinds of partner share it.
 */
enum pair_kind {
	PAIR_FT_THREAD,  /* ft_worker_new(FT_WORKER_THREAD) */
	PAIR_FT_PROCESS, /* ft_worker_new(FT_WORKER_PROCESS) */
	PAIR_PTHREAD,    /* pthread_create */
	PAIR_FORK,       /* fork() */
};

struct pair_ops {
	size_t state_size;                 /* zeroed shared memory for @st */
	int (*init)(void *st);             /* once per case (optional) */
	void (*fini)(void *st);            /* once per case (optional) */
	int (*reset)(void *st);            /* before each run (optional) */
	int (*main_loop)(void *st, uint64_t n);
	int (*partner_loop)(void *st, uint64_t n);
	/* after each run, all n operations done (optional) */
	int (*check)(void *st, uint64_t n);
	/* true: the two share n operations (main n - n/2, partner n/2);
	 * false: each does n (a round trip, a barrier round). */
	bool split;
};

struct pair_arg {
	const struct pair_ops *ops;
	enum pair_kind kind;
};

/* Where the two workers of a pair case run (--pin). */
enum pin {
	PIN_SPLIT, /* main on one CPU, partner on another (default) */
	PIN_SAME,  /* both on one CPU: every hand-off is a context switch */
	PIN_NONE,  /* wherever the scheduler puts them */
};

/* Choose the CPUs for @mode from our affinity mask; PIN_SPLIT falls back
 * to PIN_NONE with a single CPU.  Returns a description for the header. */
const char *pair_placement(enum pin mode);

int pair_setup(const void *arg, void **ctx);
int pair_before(void *ctx, uint64_t n);
int pair_run(void *ctx, uint64_t n);
int pair_after(void *ctx);
void pair_teardown(void *ctx);

#define PAIR_SIDE(label_, ops_, kind_)                                      \
	{                                                                   \
		.label = (label_),                                          \
		.arg = &(const struct pair_arg){ (ops_), (kind_) },         \
		.setup = pair_setup, .before = pair_before,                 \
		.run = pair_run, .after = pair_after,                       \
		.teardown = pair_teardown,                                  \
	}

/* A two-worker case: ours and a baseline, each with a thread and a process
 * partner; rows: threads, processes, and ours process/thread (<= 1.2). */
#define PAIR_CASE(topic_, ours_ops_, base_ops_, base_label_, desc_,         \
		  metric_, dir_, goal_)                                      \
	{                                                                    \
		.name = (topic_), .n_sides = 4, .n_rows = 3,                 \
		.sides = {                                                   \
			PAIR_SIDE("ours, threads", (ours_ops_),              \
				  PAIR_FT_THREAD),                           \
			PAIR_SIDE("ours, processes", (ours_ops_),            \
				  PAIR_FT_PROCESS),                          \
			PAIR_SIDE(base_label_ ", pthreads", (base_ops_),     \
				  PAIR_PTHREAD),                             \
			PAIR_SIDE(base_label_ ", fork", (base_ops_),         \
				  PAIR_FORK),                                \
		},                                                           \
		.rows = {                                                    \
			{ .name = topic_ ", threads",                        \
			  .baseline_name = desc_ ", 2 pthreads",             \
			  .a = 0, .b = 2, .metric = (metric_),               \
			  .dir = (dir_), .goal = (goal_) },                  \
			{ .name = topic_ ", processes",                      \
			  .baseline_name = desc_ ", main + fork()ed child",  \
			  .a = 1, .b = 3, .metric = (metric_),               \
			  .dir = (dir_), .goal = (goal_) },                  \
			{ .name = topic_ ", process/thread",                 \
			  .baseline_name = "ours with thread workers",       \
			  .a = 1, .b = 0, .metric = NS_PER_OP,               \
			  .dir = AT_MOST, .goal = 1.2 },                     \
		},                                                           \
	}

#endif
