/* SPDX-License-Identifier: MIT */
/*
 * Futures: the record of one task (or of a map: a group of chunk tasks),
 * its state word, its references, its done-callbacks.  The state word
 * and its invariants (E1, E2) are in executor.h.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena/type.h"
#include "executor/executor.h"
#include "runtime/runtime.h"
#include "wait/wait.h"

/* Callbacks live in the creating process's memory, guarded by one
 * process-local lock: they are added and run only there. */
struct callback {
	ft_done_fn fn;
	void *arg;
	struct callback *next;
};

static void cb_lock(struct ft_future *f)
{
	uint32_t zero = 0;
	while (!ft__cas_acquire(&f->cb_lock, &zero, 1)) {
		zero = 0;
		sched_yield();
	}
}

static void cb_unlock(struct ft_future *f)
{
	ft__store_release(&f->cb_lock, 0);
}
/* A future whose callbacks have run (or are running): later ones run at
 * once in the adder. */
#define CBS_CLOSED ((void *)1)

/*
 * After a process's death (the repair pass): a future whose creating
 * process is that one, or any other that is gone, can no longer be run
 * or settled by its manager.  End it, so waiters in other processes
 * return: -ESRCH if it was running (its worker died with its creator,
 * by PDEATHSIG), BROKEN (-EPIPE) if it was still queued.  kill(pid, 0)
 * cannot call a live process dead; a reused pid only leaves the future
 * as it was.  Its callbacks, the dead process's, never run.
 */
static void future_repair(void *obj)
{
	struct ft_future *f = obj;
	struct ft__engine *e = f->eng;
	uint32_t phase = ft__future_phase(f);
	if (f->kind == F_GROUP || phase >= F_FINISHED || !e ||
	    (ft__arena_check(e, FT__TAG_EXECUTOR) < 0 &&
	     ft__arena_check(e, FT__TAG_POOL) < 0))
		return;
	if (kill(e->creator, 0) == 0 || errno != ESRCH)
		return;
	if (phase == F_RUNNING)
		ft__future_finish(f, F_RUNNING, -ESRCH, false);
	else
		ft__future_finish(f, F_PENDING, -EPIPE, false);
}

FT__TYPE(future_type) = { .tag = FT__TAG_FUTURE, .repair = future_repair };

struct ft_future *ft__future_new(struct ft__engine *e, uint32_t kind,
				 size_t inline_bytes)
{
	struct ft_future *f = ft__new_object(sizeof(*f) + inline_bytes);
	if (!f)
		return NULL;
	f->refs = 1;
	f->kind = kind;
	f->eng = e;
	return f;
}

void ft__future_ref(struct ft_future *f)
{
	ft__fetch_add_relaxed(&f->refs, 1);
}

void ft__future_unref(struct ft_future *f)
{
	/* acq_rel: our writes to the future happen before whoever drops the
	 * last reference frees it, and that one sees all of them.  (Not a
	 * release decrement and an acquire fence: ThreadSanitizer cannot
	 * follow fences.) */
	if (ft__fetch_add_acq_rel(&f->refs, (uint32_t)-1) != 1)
		return;
	if (f->own_in)
		ft__arena_free(f->own_in, FT__TAG_SHARED);
	if (f->own_out)
		ft__arena_free(f->own_out, FT__TAG_SHARED);
	for (size_t i = 0; i < f->nchunks; i++)
		ft__future_unref(f->chunks[i]);
	if (f->chunks)
		ft__arena_free(f->chunks, FT__TAG_SHARED);
	if (f->imap_seen)
		ft__arena_free(f->imap_seen, FT__TAG_SHARED);
	ft__arena_free(f, FT__TAG_FUTURE);
}

/* The terminal code of a group's chunk reaches the group. */
static void settle_group(struct ft_future *chunk, int code)
{
	struct ft_future *g = chunk->group;
	if (!g)
		return;
	if (code != 0) {
		/* The first failure finishes the group at once (Python's
		 * MapResult); its code is computed in item order on read. */
		ft__future_finish(g, F_PENDING, 1, false);
	}
	if (ft__fetch_add_acq_rel(&g->chunks_left, (uint32_t)-1) == 1)
		ft__future_finish(g, F_PENDING, 1, false);
	ft__future_unref(g);   /* the chunk's reference on its group */
}

/* The program's futures' ends word (F2), in the arena, made at set-up
 * (so every process worker inherits the pointer).  Not the workers' ends
 * word: the manager sleeps on that one, and would wake per task. */
static uint32_t *ends_word;

uint32_t *ft__future_ends_word(void)
{
	return ends_word;
}

static int ends_setup(void)
{
	ends_word = ft__arena_alloc(sizeof(*ends_word));
	if (!ends_word)
		return -ENOMEM;
	ft__arena_publish(ends_word, FT__TAG_SHARED);
	return 0;
}
FT__SETUP_HOOK(ends_hook, ends_setup);

/* Bump the ends word if a sleeper over many futures marked it (seq_cst:
 * the other half of the handshake is in future_wait.c). */
static void bump_ends(void)
{
	uint32_t *ends = ends_word;
	uint32_t v = ft__load_seq_cst(ends);
	if (!(v & FENDS_SLEEPERS))
		return;
	while (!ft__cas_acq_rel(ends, &v, (v + 2) & ~FENDS_SLEEPERS))
		;
	ft__wake(ends, 0x7fffffff);
}

static void push_callbacks(struct ft_future *f)
{
	struct ft__engine *e = f->eng;
	struct ft_future *head = __atomic_load_n(&e->cb_stack, __ATOMIC_RELAXED);
	do
		f->cb_next = head;
	while (!__atomic_compare_exchange_n(&e->cb_stack, &head, f, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	ft__engine_poke(e);
}

#define ANY_SEQ UINT64_MAX

struct ft_future *ft__msg_future(const struct ft__task_msg *m)
{
	struct ft_future *f = m->f;
	if (ft__arena_check(f, FT__TAG_FUTURE) < 0 ||
	    (__atomic_load_n(&f->ss, __ATOMIC_ACQUIRE) >> 32) != m->seq)
		return NULL;
	return f;
}

bool ft__future_finish_seq(struct ft_future *f, uint64_t seq, uint32_t from,
			   int code, bool run_callbacks_here)
{
	uint32_t to = F_FINISHED;
	if (from == F_PENDING && code == -ECANCELED)
		to = F_CANCELLED;
	else if (from == F_PENDING && code == -EPIPE)
		to = F_BROKEN;
	uint64_t cur = __atomic_load_n(&f->ss, __ATOMIC_ACQUIRE);
	do {
		if ((seq != ANY_SEQ && (cur >> 32) != seq) ||
		    ((uint32_t)cur & F_PHASE) != from)
			return false;
		/* (E2) the result before the phase: the CAS releases it.
		 * Only a finisher holding the engine's reference (a RUNNING
		 * task's) stores: a PENDING future's end is told by its
		 * phase alone, so a stale message never writes (E1). */
		if (to == F_FINISHED && f->kind != F_GROUP)
			ft__store_relaxed(&f->result, code);
	} while (!__atomic_compare_exchange_n(&f->ss, &cur,
					      (cur & ~(uint64_t)F_PHASE) | to,
					      false, __ATOMIC_SEQ_CST,
					      __ATOMIC_ACQUIRE));
	uint32_t old = (uint32_t)cur;
	if (old & F_SLEEPERS)
		ft__wake(ft__future_word(f), 0x7fffffff);
	bump_ends();
	if (f->kind != F_GROUP)
		settle_group(f, code);
	if (old & F_HAS_CB) {
		if (run_callbacks_here) {
			ft__future_run_callbacks(f);
		} else {
			/* The manager runs them and drops the reference. */
			push_callbacks(f);
			return true;
		}
	}
	ft__future_unref(f);   /* the engine's (E3) */
	return true;
}

bool ft__future_finish(struct ft_future *f, uint32_t from, int code,
		       bool run_callbacks_here)
{
	return ft__future_finish_seq(f, ANY_SEQ, from, code, run_callbacks_here);
}

void ft__future_run_callbacks(struct ft_future *f)
{
	cb_lock(f);
	struct callback *list = f->cbs == CBS_CLOSED ? NULL : f->cbs;
	f->cbs = CBS_CLOSED;
	cb_unlock(f);
	while (list) {
		struct callback *next = list->next;
		list->fn(f, list->arg);
		free(list);
		list = next;
	}
}

int ft__future_wait_done(struct ft_future *f, const struct timespec *abs)
{
	uint32_t *word = ft__future_word(f);
	for (;;) {
		uint32_t cur = ft__load_acquire(word);
		if ((cur & F_PHASE) >= F_FINISHED)
			return 0;
		if (ft__spin_while_masked(word, cur & F_PHASE, F_PHASE))
			continue;
		if (!(cur & F_SLEEPERS) &&
		    !ft__cas_acquire(word, &cur, cur | F_SLEEPERS))
			continue;
		int r = ft__wait(word, cur | F_SLEEPERS, abs);
		if (r == -ETIMEDOUT)
			return (ft__future_phase(f) >= F_FINISHED) ? 0 : -ETIMEDOUT;
	}
}

/* A live future whose handle was not freed. */
static int check(ft_future_t *f)
{
	int r = ft__check(f, FT__TAG_FUTURE);
	if (r == 0 && ft__load_relaxed(&f->handle_freed))
		return -EBADF;
	return r;
}

FT_API int ft_future_result(ft_future_t *f, void *out, double timeout)
{
	struct ft__deadline d;
	int r = ft__deadline_init(&d, timeout);
	if (r == 0)
		r = check(f);
	if (r < 0)
		return r;
	if (!ft__future_is_done(f)) {
		if (ft__deadline_now(&d))
			return -EAGAIN;
		r = ft__future_wait_done(f, ft__deadline_abs(&d));
		if (r < 0)
			return r;
	}
	if (f->kind == F_GROUP) {
		r = ft__group_code(f);
		if (r == 0 && out)
			ft__group_copy_out(f, out);
		return r;
	}
	if (ft__future_phase(f) == F_CANCELLED)
		return -ECANCELED;
	if (ft__future_phase(f) == F_BROKEN)
		return -EPIPE;
	if (out && f->out_size)
		memcpy(out, f->out, f->out_size);
	return ft__load_relaxed(&f->result);
}

FT_API const void *ft_future_out(ft_future_t *f)
{
	int r = check(f);
	if (r == 0 && !ft__future_is_done(f))
		r = -EAGAIN;
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	return f->out;
}

FT_API int ft_future_done(ft_future_t *f)
{
	int r = check(f);
	return r < 0 ? r : ft__future_is_done(f);
}

FT_API int ft_future_running(ft_future_t *f)
{
	int r = check(f);
	return r < 0 ? r : ft__future_phase(f) == F_RUNNING;
}

FT_API int ft_future_cancelled(ft_future_t *f)
{
	int r = check(f);
	if (r < 0)
		return r;
	if (f->kind == F_GROUP)
		return ft__future_is_done(f) && ft__group_code(f) == -ECANCELED;
	return ft__future_phase(f) == F_CANCELLED ||
	       (ft__future_phase(f) == F_FINISHED &&
		ft__load_relaxed(&f->result) == -ECANCELED);
}

/* Kill the worker running @f so that @f ends with -ECANCELED. */
static int cancel_running(struct ft_future *f)
{
	struct ft__engine *e = f->eng;
	if (!e->processes && !e->runner)
		return 0;
	if (ft__engine_check(e, e->tag_kind) < 0)
		return -ECHILD;
	uint32_t i = ft__future_runner(f);
	if (i >= e->nslots)
		return 0;
	struct ft__slot *s = &e->slot[i];
	if (ft__load_acquire(&s->msg.f) != f)
		return 0;
	if (!ft__slot_kill_for(s, f, KILL_CANCEL))
		/* Being killed already: for this cancel, or its time limit. */
		return ft__load_acquire(&s->kill_for) ==
		       ((uintptr_t)f | KILL_CANCEL);
	ft__engine_poke(e);   /* the manager kills it (manager.c) */
	return 1;
}

FT_API int ft_future_cancel(ft_future_t *f, bool kill)
{
	int r = check(f);
	if (r < 0)
		return r;
	if (f->kind == F_GROUP) {
		ft__group_cancel_pending(f);
		return ft_future_cancelled(f);
	}
	if (ft_future_cancelled(f) == 1)
		return 1;
	bool here = f->eng && ft__self_pid() == f->eng->creator;
	if (ft__future_finish(f, F_PENDING, -ECANCELED, here))
		return 1;
	uint32_t phase = ft__future_phase(f);
	if (phase == F_CANCELLED)
		return 1;
	if (phase == F_RUNNING && kill) {
		if (!here)
			return -ECHILD;
		return cancel_running(f);
	}
	return 0;
}

FT_API int ft_future_add_done_callback(ft_future_t *f, ft_done_fn fn,
				       void *arg)
{
	int r = check(f);
	if (r < 0)
		return r;
	if (!fn)
		return -EINVAL;
	if (f->eng && ft__self_pid() != f->eng->creator)
		return -ECHILD;
	struct callback *c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->arg = arg;
	cb_lock(f);
	if (f->cbs == CBS_CLOSED) {
		cb_unlock(f);
		free(c);
		fn(f, arg);
		return 0;
	}
	c->next = NULL;
	struct callback **tail = (struct callback **)&f->cbs;
	while (*tail)
		tail = &(*tail)->next;
	*tail = c;
	/* (E5) The finisher's CAS and this OR are ordered on the word: if
	 * it finished first, it did not see HAS_CB (or saw an earlier one,
	 * and the manager will run the list, ours included). */
	uint32_t old = ft__fetch_or_acq_rel(ft__future_word(f), F_HAS_CB);
	bool nobody = (old & F_PHASE) >= F_FINISHED && !(old & F_HAS_CB);
	cb_unlock(f);
	if (nobody)
		ft__future_run_callbacks(f);
	return 0;
}

FT_API int ft_future_free(ft_future_t *f)
{
	int r = check(f);
	if (r < 0)
		return r;
	/* Only one free of the handle counts; the block lives on while the
	 * engine still holds it (E3). */
	uint32_t zero = 0;
	if (!ft__cas_acq_rel(&f->handle_freed, &zero, 1))
		return -EBADF;
	ft__future_unref(f);
	return 0;
}
