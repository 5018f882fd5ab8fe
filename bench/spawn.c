/* SPDX-License-Identifier: MIT */
/* Spawn cases: start + join one no-op worker, against pthread / fork. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <freethreading.h>

#include "harness.h"

static int noop(void *arg)
{
	(void)arg;
	return 0;
}

static void *noop_pthread(void *arg)
{
	return arg;
}

/* ours: new + start + join + free, of a worker of the given kind
 * running @fn. */
static int spawn_join_fn(uint64_t n, unsigned flags, ft_target_fn fn,
			 void *arg)
{
	for (uint64_t i = 0; i < n; i++) {
		ft_worker_t *w = ft_worker_new(NULL, fn, arg, flags);
		if (!w)
			fail("ft_worker_new", -errno);
		int r = ft_worker_start(w);
		if (r < 0)
			fail("ft_worker_start", r);
		r = ft_worker_join(w, FT_FOREVER);
		if (r < 0)
			fail("ft_worker_join", r);
		int code;
		r = ft_worker_exitcode(w, &code);
		if (r < 0)
			fail("ft_worker_exitcode", r);
		if (code != 0)
			fail_msg("worker ended with %d, not 0", code);
		r = ft_worker_free(w);
		if (r < 0)
			fail("ft_worker_free", r);
	}
	return 0;
}

/* A worker that takes and lets go a Lock: its process then may own
 * words, and its end may need repair. */
static int take_lock(void *arg)
{
	ft_lock_t *l = arg;
	int r = ft_lock_acquire(l, FT_FOREVER);
	if (r == 0)
		r = ft_lock_release(l);
	return r < 0 ? 1 : 0;
}

static int spawn_join(uint64_t n, unsigned flags)
{
	return spawn_join_fn(n, flags, noop, NULL);
}

static int ours_spawn_thread(void *ctx, uint64_t n)
{
	(void)ctx;
	return spawn_join(n, FT_WORKER_THREAD);
}

static int ours_spawn_process(void *ctx, uint64_t n)
{
	(void)ctx;
	return spawn_join(n, FT_WORKER_PROCESS);
}

static int ours_spawn_process_lock(void *ctx, uint64_t n)
{
	(void)ctx;
	static ft_lock_t *lock;
	if (!lock && !(lock = ft_lock_new()))
		fail("ft_lock_new", -errno);
	return spawn_join_fn(n, FT_WORKER_PROCESS, take_lock, lock);
}

static int base_spawn_thread(void *ctx, uint64_t n)
{
	(void)ctx;
	for (uint64_t i = 0; i < n; i++) {
		pthread_t t;
		int r = pthread_create(&t, NULL, noop_pthread, NULL);
		if (r != 0)
			fail("pthread_create", -r);
		r = pthread_join(t, NULL);
		if (r != 0)
			fail("pthread_join", -r);
	}
	return 0;
}

static int base_spawn_process(void *ctx, uint64_t n)
{
	(void)ctx;
	for (uint64_t i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			fail("fork", -errno);
		if (pid == 0)
			_exit(0);
		int st;
		pid_t r;
		while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
			;
		if (r < 0)
			fail("waitpid", -errno);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("child ended with status %#x", st);
	}
	return 0;
}

/* A crowded arena: 1M live objects (Events) around each timed run of the
 * "crowded" side, made and freed outside the timing. */
#define CROWD 1000000
static ft_event_t **crowd;

static int crowd_fill(void *ctx, uint64_t n)
{
	(void)ctx;
	(void)n;
	if (!crowd && !(crowd = calloc(CROWD, sizeof(*crowd))))
		fail("calloc", -ENOMEM);
	for (int i = 0; i < CROWD; i++)
		if (!(crowd[i] = ft_event_new()))
			fail("ft_event_new", -errno);
	return 0;
}

static int crowd_empty(void *ctx)
{
	(void)ctx;
	for (int i = 0; i < CROWD; i++)
		if (ft_event_free(crowd[i]) < 0)
			fail("ft_event_free", -EBADF);
	return 0;
}

const struct bench_case spawn_cases[] = {
	{
		.name = "spawn+join thread", .n_sides = 2, .n_rows = 1,
		.sides = {
			{ .label = "ours", .run = ours_spawn_thread },
			{ .label = "pthread", .run = base_spawn_thread },
		},
		.rows = { {
			.name = "spawn+join thread",
			.baseline_name = "pthread_create + pthread_join",
			.a = 0, .b = 1,
			.metric = NS_PER_OP, .dir = AT_MOST, .goal = 1.1,
		} },
	},
	{
		.name = "spawn+join process", .n_sides = 2, .n_rows = 1,
		.sides = {
			{ .label = "ours", .run = ours_spawn_process },
			{ .label = "fork", .run = base_spawn_process },
		},
		.rows = { {
			.name = "spawn+join process",
			.baseline_name = "fork + _exit + waitpid",
			.a = 0, .b = 1,
			.metric = NS_PER_OP, .dir = AT_MOST, .goal = 1.0,
		} },
	},
	{
		.name = "spawn+join process, 1M objects", .n_sides = 2, .n_rows = 1,
		.sides = {
			{ .label = "crowded", .run = ours_spawn_process,
			  .before = crowd_fill, .after = crowd_empty },
			{ .label = "empty", .run = ours_spawn_process },
		},
		.rows = { {
			.name = "spawn+join process, 1M objects",
			.baseline_name = "ours, no other objects in the arena",
			.a = 0, .b = 1,
			.metric = NS_PER_OP, .dir = AT_MOST, .goal = 1.1,
		} },
	},
	{
		.name = "spawn+join process taking a Lock, 1M objects",
		.n_sides = 2, .n_rows = 1,
		.sides = {
			{ .label = "crowded", .run = ours_spawn_process_lock,
			  .before = crowd_fill, .after = crowd_empty },
			{ .label = "empty", .run = ours_spawn_process_lock },
		},
		.rows = { {
			.name = "spawn+join process taking a Lock, 1M objects",
			.baseline_name = "the same, no other objects in the arena",
			.a = 0, .b = 1,
			.metric = NS_PER_OP, .dir = AT_MOST, .goal = 1.1,
		} },
	},
};
const size_t n_spawn_cases = sizeof(spawn_cases) / sizeof(spawn_cases[0]);
