/* SPDX-License-Identifier: MIT */
/*
 * One sandboxed worker: ft_worker_set_sandbox hands the worker layer an
 * isolation (worker.h) that its child enters before the target runs.
 * The worker keeps its record in the arena; the child, once inside, never
 * touches it again and ends by _exit, whose status its reaper reports.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "worker/worker.h"

/* The exit status of a worker whose sandbox could not be set up. */
#define EXIT_NO_SANDBOX 127

struct isolation {
	struct ft__isolation base;  /* first: the worker layer's view */
	struct ft_sandbox *policy;
};

static void enter(struct ft__isolation *self)
{
	struct isolation *iso = (struct isolation *)self;
	if (ft__sandbox_enter(iso->policy, -1, NULL) < 0)
		_exit(EXIT_NO_SANDBOX);
}

static void release(struct ft__isolation *self)
{
	struct isolation *iso = (struct isolation *)self;
	ft__sandbox_release(iso->policy);
	free(iso);
}

FT_API int ft_worker_set_sandbox(ft_worker_t *w, const ft_sandbox_t *sb)
{
	int r = ft__check(w, FT__TAG_WORKER);
	if (r < 0)
		return r;
	if (!sb || (w->flags & FT_WORKER_THREAD))
		return -EINVAL;
	if (ft__worker_phase(w) != W_NEW)
		return -EALREADY;
	if (w->isolation && w->isolation_pid != getpid())
		return -ECHILD;
	struct isolation *iso = malloc(sizeof(*iso));
	if (!iso)
		return -ENOMEM;
	iso->policy = ft__sandbox_copy(sb);
	if (!iso->policy) {
		free(iso);
		return -ENOMEM;
	}
	iso->base.enter = enter;
	iso->base.release = release;
	struct ft__isolation *old = w->isolation;
	w->isolation_pid = getpid();
	w->isolation = &iso->base;
	if (old)
		old->release(old);
	return 0;
}
