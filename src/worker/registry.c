/* SPDX-License-Identifier: MIT */
/*
 * Who is running: the calling worker, and every worker record of the
 * program, whichever process made it.  The records are on one list in the
 * arena (the registry), in creation order, the main record first, so
 * enumeration, the exit-time join and the orphan pass read the workers
 * only, never the whole arena.
 *
 * The list is doubly linked under an owner word.  Invariants:
 * 1. The next links from head are the truth: a record is on the list iff
 *    it is reachable so.  Each change to them is one store (insert: the
 *    predecessor's next, after the new record's own links are written;
 *    remove: the predecessor's next), so a process killed holding the
 *    lock leaves the chain whole.
 * 2. The prev links and the tail are derived: whoever takes the lock with
 *    -EOWNERDEAD rebuilds them from the chain before anything else.
 * 3. A record is removed before its block is freed, so a holder of the
 *    lock never reads a freed record through the list.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "arena/arena.h"
#include "lockword/lockword.h"
#include "runtime/runtime.h"
#include "worker/worker.h"

struct registry {
	uint32_t lock;      /* owner word */
	uint32_t ends;      /* bumped as any worker ends (ft__worker_ends_word) */
	ft_worker_t *head;
	ft_worker_t *tail;
	ft_worker_t *main;
};

FT__TLS ft_worker_t *ft__self;
static pid_t main_pid;
static pthread_key_t dummy_key;
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static struct registry *registry(void)
{
	/* Published before set-up counts as done (a release store every
	 * caller's ft__ensure_init acquires), and never changed after. */
	return *ft__arena_root();
}

/* Invariant 2: the derived links, from the chain. */
static void rebuild(struct registry *r)
{
	ft_worker_t *prev = NULL;
	for (ft_worker_t *w = r->head; w; w = w->reg_next) {
		w->reg_prev = prev;
		prev = w;
	}
	r->tail = prev;
}

uint32_t *ft__worker_ends_word(void)
{
	return &registry()->ends;
}

static struct registry *lock(void)
{
	struct registry *r = registry();
	if (ft__lockword_acquire_spin(&r->lock, ft__owner()) == -EOWNERDEAD)
		rebuild(r);
	return r;
}

static void unlock(struct registry *r)
{
	ft__lockword_release(&r->lock);
}

void ft__worker_register(ft_worker_t *w)
{
	struct registry *r = lock();
	w->reg_next = NULL;
	w->reg_prev = r->tail;
	if (r->tail)
		r->tail->reg_next = w;
	else
		r->head = w;
	r->tail = w;
	unlock(r);
}

/* Remove @w if it is on the list (a second remove finds it gone). */
static void remove_locked(struct registry *r, ft_worker_t *w)
{
	ft_worker_t **from = w->reg_prev ? &w->reg_prev->reg_next : &r->head;
	if (*from != w)
		return;
	*from = w->reg_next;
	if (w->reg_next)
		w->reg_next->reg_prev = w->reg_prev;
	else
		r->tail = w->reg_prev;
}

int ft__worker_release(ft_worker_t *w)
{
	struct registry *r = lock();
	remove_locked(r, w);
	unlock(r);
	return ft__arena_free(w, FT__TAG_WORKER);
}

size_t ft__workers_collect(ft_worker_t **out, size_t cap,
			   bool (*match)(ft_worker_t *w, void *ctx), void *ctx)
{
	struct registry *r = lock();
	size_t n = 0;
	for (ft_worker_t *w = r->head; w; w = w->reg_next)
		if (match(w, ctx)) {
			if (n < cap)
				out[n] = w;
			n++;
		}
	unlock(r);
	return n;
}

void ft__workers_each(bool (*match)(ft_worker_t *w, void *ctx),
		      void (*act)(ft_worker_t *w, void *ctx), void *ctx)
{
	ft_worker_t *batch[32];
	size_t n;
	do {
		n = ft__workers_collect(batch, 32, match, ctx);
		for (size_t i = 0; i < n && i < 32; i++)
			act(batch[i], ctx);
	} while (n > 32);
}

void ft__registry_repair(void)
{
	ft__lockword_repair(&registry()->lock, 0);
}

/* The parent's workers are not a forked child's to join at its exit. */
static void after_fork_child(void)
{
	ft__workers_started = false;
	/* A child of the program's own fork() is no worker of ours (a
	 * process worker's own child sets it after this). */
	ft__process_record = NULL;
	ft__supervisor_after_fork();
}

/* Set-up hook: the registry with the record of the program's main thread,
 * and what a process does at its end (exit.c). */
static int workers_setup(void)
{
	struct registry *r = ft__arena_alloc(sizeof(*r));
	ft_worker_t *w = ft__arena_alloc(sizeof(*w));
	if (!r || !w)
		return -ENOMEM;
	main_pid = getpid();
	w->flags = W_MAIN;
	w->state = W_RUNNING;
	w->ident = (uint32_t)main_pid;
	snprintf(w->name, sizeof(w->name), "%s",
		 ft__multiprocessing ? "MainProcess" : "MainThread");
	ft__arena_publish(w, FT__TAG_WORKER);
	r->head = r->tail = r->main = w;
	ft__arena_publish(r, FT__TAG_REGISTRY);
	*ft__arena_root() = r;
	if (pthread_atfork(NULL, NULL, after_fork_child) != 0 ||
	    on_exit(ft__workers_on_exit, NULL) != 0)
		return -ENOMEM;
	return 0;
}
FT__SETUP_HOOK(workers_hook, workers_setup);

ft_worker_t *ft__main_worker(void)
{
	return registry()->main;
}

static void dummy_end(void *p)
{
	ft_worker_t *w = p;
	ft__self = NULL;
	ft__worker_finish(w, 0);
	ft__worker_release(w);
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
	ft__worker_register(w);
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

static bool live(ft_worker_t *w, void *children_of)
{
	if (ft__worker_phase(w) != W_RUNNING)
		return false;
	return !children_of ||
	       (w->creator_pid == *(pid_t *)children_of &&
		!(w->flags & (W_MAIN | W_DUMMY)));
}

static int collect(ft_worker_t **out, size_t cap, bool children_only)
{
	int r = ft__ensure_init();
	if (r < 0)
		return r;
	if (!out && cap)
		return -EINVAL;
	pid_t me = getpid();
	size_t n = ft__workers_collect(out, cap, live, children_only ? &me : NULL);
	return n > INT32_MAX ? INT32_MAX : (int)n;
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
