/* SPDX-License-Identifier: MIT */
/*
 * Ending a process: as Python does, non-daemon workers the process started
 * are joined, then its daemon process workers are killed (SIGKILL: a
 * daemon that ignored SIGTERM would hang the exit) and reaped.  Daemon
 * threads simply end with the process.  Runs from atexit() and at the end
 * of every process worker.
 */
#include <signal.h>

#include "arena/arena.h"
#include "runtime/runtime.h"
#include "sync/sync.h"
#include "worker/worker.h"

static bool ours(ft_worker_t *w, pid_t me)
{
	return w->creator_pid == me && !(w->flags & (W_MAIN | W_DUMMY)) &&
	       ft__worker_phase(w) == W_RUNNING && w != ft__self;
}

void ft__workers_shutdown(void)
{
	if (ft__load_acquire(&ft__init_state) != 1)
		return;
	pid_t me = getpid();
	uint32_t tag;

	/* A process worker whose target called exit() ends here too. */
	ft__sync_worker_ending(ft__tid());
	if (!ft__workers_started)
		return; /* none of ours to join or kill */

	for (void *p = ft__arena_next(NULL, &tag); p; p = ft__arena_next(p, &tag)) {
		ft_worker_t *w = p;
		if (tag == FT__TAG_WORKER && ours(w, me) &&
		    !(w->flags & FT_WORKER_DAEMON))
			ft__join(w, NULL);
	}
	for (void *p = ft__arena_next(NULL, &tag); p; p = ft__arena_next(p, &tag)) {
		ft_worker_t *w = p;
		if (tag == FT__TAG_WORKER && ours(w, me) &&
		    (w->flags & FT_WORKER_DAEMON) && (w->flags & W_IS_PROCESS)) {
			(void)ft__signal_child(w, SIGKILL);
			ft__join(w, NULL);
		}
	}
}
