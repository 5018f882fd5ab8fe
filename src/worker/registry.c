/* SPDX-License-Identifier: MIT */
/*
 * Who is running: the calling worker, and every live worker of the
 * program.  There is no separate registry: worker records are arena
 * objects, so walking the arena finds them all, whichever process made
 * them, in allocation order (the main record is the arena's first object).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "arena/arena.h"
#include "lockword/lockword.h"
#include "runtime/runtime.h"
#include "worker/worker.h"

FT__TLS ft_worker_t *ft__self;
static pid_t main_pid;
static pthread_key_t dummy_key;
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

/* The parent's workers are not a forked child's to join at its exit. */
static void after_fork_child(void)
{
	ft__workers_started = false;
	ft__supervisor_after_fork();
}

/* Set-up hook: the record of the program's main thread, and what a
 * process does at its end (exit.c). */
static int workers_setup(void)
{
	ft_worker_t *w = ft__arena_alloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	main_pid = getpid();
	w->flags = W_MAIN;
	w->state = W_RUNNING;
	w->ident = (uint32_t)main_pid;
	snprintf(w->name, sizeof(w->name), "%s",
		 ft__multiprocessing ? "MainProcess" : "MainThread");
	ft__arena_publish(w, FT__TAG_WORKER);
	*ft__arena_root() = w;
	if (pthread_atfork(NULL, NULL, after_fork_child) != 0 ||
	    atexit(ft__workers_shutdown) != 0)
		return -ENOMEM;
	return 0;
}
FT__SETUP_HOOK(workers_hook, workers_setup);

ft_worker_t *ft__main_worker(void)
{
	return *ft__arena_root();
}

static void dummy_end(void *p)
{
	ft_worker_t *w = p;
	ft__self = NULL;
	ft__worker_finish(w, 0);
	ft__arena_free(w, FT__TAG_WORKER);
}

static void dummy_key_init(void)
{
	pthread_key_create(&dummy_key, dummy_end);
}

/* A thread we did not start gets a record, as Python's _DummyThread. */
static ft_worker_t *dummy_create(void)
{
	pthread_once(&dummy_once, dummy_key_init);
	ft_worker_t *w = ft__arena_alloc(sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	w->flags = W_DUMMY | FT_WORKER_DAEMON;
	w->state = W_RUNNING;
	w->ident = ft__tid();
	w->creator_pid = getpid();
	snprintf(w->name, sizeof(w->name), "Dummy-%u",
		 ft__arena_seq_next(FT__SEQ_DUMMY));
	ft__arena_publish(w, FT__TAG_WORKER);
	pthread_setspecific(dummy_key, w);
	ft__self = w;
	return w;
}

FT_API ft_worker_t *ft_current_worker(void)
{
	int r = ft__ensure_init();
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	if (ft__self)
		return ft__self;
	pid_t pid = getpid();
	if (pid == main_pid && ft__tid() == (uint32_t)pid)
		return ft__main_worker();
	return dummy_create();
}

static bool live(ft_worker_t *w)
{
	return ft__worker_phase(w) == W_RUNNING;
}

static int collect(ft_worker_t **out, size_t cap, bool children_only)
{
	int r = ft__ensure_init();
	if (r < 0)
		return r;
	if (!out && cap)
		return -EINVAL;
	pid_t me = getpid();
	int n = 0;
	uint32_t tag;
	for (void *p = ft__arena_next(NULL, &tag); p; p = ft__arena_next(p, &tag)) {
		ft_worker_t *w = p;
		if (tag != FT__TAG_WORKER || !live(w))
			continue;
		if (children_only &&
		    (w->creator_pid != me || (w->flags & (W_MAIN | W_DUMMY))))
			continue;
		if ((size_t)n < cap)
			out[n] = w;
		n++;
	}
	return n;
}

FT_API int ft_enumerate(ft_worker_t **out, size_t cap)
{
	return collect(out, cap, false);
}

FT_API int ft_active_count(void)
{
	return collect(NULL, 0, false);
}

FT_API int ft_active_children(ft_worker_t **out, size_t cap)
{
	return collect(out, cap, true);
}

FT_API long ft_get_ident(void)
{
	return (long)ft__tid();
}
