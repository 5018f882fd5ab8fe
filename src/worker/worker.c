/* SPDX-License-Identifier: MIT */
/* Worker records: creation, attributes, release. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arena/arena.h"
#include "base/atomic.h"
#include "runtime/runtime.h"
#include "wait/wait.h"
#include "worker/worker.h"

#define PUBLIC_FLAGS (FT_WORKER_DAEMON | FT_WORKER_PROCESS | FT_WORKER_THREAD)

static int set_name(ft_worker_t *w, const char *name)
{
	size_t n = strlen(name);
	if (n > FT_WORKER_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(w->name, name, n + 1);
	return 0;
}

static ft_worker_t *worker_new(const char *name, ft_target_fn target,
			       ft_void_target_fn void_target, void *arg,
			       unsigned flags)
{
	int r = ft__ensure_init();
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	if ((!target && !void_target) || (flags & ~PUBLIC_FLAGS) ||
	    ((flags & FT_WORKER_PROCESS) && (flags & FT_WORKER_THREAD))) {
		errno = EINVAL;
		return NULL;
	}
	if (name && strlen(name) > FT_WORKER_NAME_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	ft_worker_t *w = ft__new_object(sizeof(*w));
	if (!w)
		return NULL;
	w->flags = flags;
	w->target = target;
	w->void_target = void_target;
	w->arg = arg;
	if (name)
		set_name(w, name);
	else
		snprintf(w->name, sizeof(w->name), "Worker-%u",
			 ft__arena_seq_next(FT__SEQ_WORKER));
	ft__arena_publish(w, FT__TAG_WORKER);
	ft__worker_register(w);
	return w;
}

/* Parenthesised: the header's macro of this name picks the form. */
FT_API ft_worker_t *(ft_worker_new)(const char *name, ft_target_fn target,
				    void *arg, unsigned flags)
{
	return worker_new(name, target, NULL, arg, flags);
}

FT_API ft_worker_t *ft_worker_new_void(const char *name,
				       ft_void_target_fn target, void *arg,
				       unsigned flags)
{
	return worker_new(name, NULL, target, arg, flags);
}

FT_API const char *ft_worker_name(ft_worker_t *w)
{
	return ft__check(w, FT__TAG_WORKER) < 0 ? NULL : w->name;
}

FT_API int ft_worker_set_name(ft_worker_t *w, const char *name)
{
	int r = ft__check(w, FT__TAG_WORKER);
	if (r < 0)
		return r;
	if (!name)
		return -EINVAL;
	return set_name(w, name);
}

FT_API int ft_worker_daemon(ft_worker_t *w)
{
	int r = ft__check(w, FT__TAG_WORKER);
	return r < 0 ? r : !!(w->flags & FT_WORKER_DAEMON);
}

FT_API int ft_worker_set_daemon(ft_worker_t *w, bool daemon)
{
	int r = ft__check(w, FT__TAG_WORKER);
	if (r < 0)
		return r;
	if (ft__worker_phase(w) != W_NEW || (w->flags & (W_MAIN | W_DUMMY)))
		return -EINVAL;
	if (daemon)
		w->flags |= FT_WORKER_DAEMON;
	else
		w->flags &= ~FT_WORKER_DAEMON;
	return 0;
}

FT_API long ft_worker_ident(ft_worker_t *w)
{
	int r = ft__check(w, FT__TAG_WORKER);
	if (r < 0)
		return r;
	for (;;) {
		if (ft__worker_phase(w) == W_NEW)
			return 0; /* never started, or its start failed */
		/* Acquire pairs with the publishing exchange (the thread's,
		 * the parent's) or with a failed start's (unstart). */
		uint32_t id = ft__load_acquire(&w->ident);
		if (id != 0 && id != IDENT_WAITING)
			return (long)id;
		if (id == 0) {
			if (!ft__cas_acq_rel(&w->ident, &id, IDENT_WAITING))
				continue;
			/* A start that failed before our mark: look again. */
			if (ft__worker_phase(w) == W_NEW)
				return 0;
		}
		ft__wait(&w->ident, IDENT_WAITING, NULL);
	}
}

FT_API int ft_worker_is_alive(ft_worker_t *w)
{
	int r = ft__check(w, FT__TAG_WORKER);
	if (r < 0)
		return r;
	if (ft__worker_phase(w) != W_RUNNING)
		return 0;
	/* A dead child stays RUNNING until reaped; its creator can tell at
	 * once (and reap it) rather than wait for the supervisor.  So does
	 * a thread killed alone. */
	if ((w->flags & W_IS_PROCESS) && w->creator_pid == getpid())
		ft__reap_here(w, false);
	else if (!(w->flags & W_IS_PROCESS))
		ft__thread_vanished(w);
	return ft__worker_phase(w) == W_RUNNING;
}

FT_API int ft_worker_exitcode(ft_worker_t *w, int *code)
{
	int r = ft__check(w, FT__TAG_WORKER);
	if (r < 0)
		return r;
	if (!code)
		return -EINVAL;
	switch (ft__worker_phase(w)) {
	case W_NEW:
		return -EINVAL;
	case W_RUNNING:
		if (ft_worker_is_alive(w))
			return -EAGAIN;
	}
	*code = w->exitcode;
	return 0;
}

/*
 * Bump the ends word, after DONE is stored: a sleeper over a large set
 * (worker_wait.c) marks ENDS_SLEEPERS and then looks at the set, so
 * either it sees DONE, or its mark is in the value this exchange reads
 * and it is woken (one word, one modification order).
 */
static void announce_end(void)
{
	uint32_t *ends = ft__worker_ends_word();
	uint32_t v = ft__load_relaxed(ends);
	while (!ft__cas_acq_rel(ends, &v, (v + 2) & ~ENDS_SLEEPERS))
		;
	if (v & ENDS_SLEEPERS)
		ft__wake(ends, 0x7fffffff);
}

void ft__worker_finish(ft_worker_t *w, int code)
{
	uint32_t v = ft__load_relaxed(&w->state);
	if ((v & W_PHASE) == W_DONE)
		return; /* two repair passes raced over an orphan */
	w->exitcode = code;
	/* Release pairs with the joiner's acquire load of the phase: the
	 * exit code is visible once DONE is. */
	while (!ft__cas_release(&w->state, &v, (v & ~W_PHASE) | W_DONE))
		if ((v & W_PHASE) == W_DONE)
			return;
	if (v & W_SLEEPERS)
		ft__wake(&w->state, 0x7fffffff);
	announce_end();
	if (v & W_DETACHED)
		ft__worker_release(w);
}

FT_API int ft_worker_free(ft_worker_t *w)
{
	int r = ft__check(w, FT__TAG_WORKER);
	if (r < 0)
		return r;
	/* The main and dummy records belong to their threads. */
	if (w->flags & (W_MAIN | W_DUMMY))
		return -EINVAL;
	uint32_t v = ft__load_relaxed(&w->state);
	for (;;) {
		if ((v & W_PHASE) != W_RUNNING) {
			/* Never started: its isolation was never handed on. */
			struct ft__isolation *iso = w->isolation;
			if (iso && w->isolation_pid == getpid()) {
				w->isolation = NULL;
				iso->release(iso);
			}
			return ft__worker_release(w);
		}
		if (v & W_DETACHED)
			return -EBADF;
		/* The finisher sees DETACHED in the same word it moves to
		 * DONE, so exactly one side frees the record. */
		if (ft__cas_acq_rel(&w->state, &v, v | W_DETACHED))
			return 0;
	}
}
