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
#include "worker/worker.h"

struct whose {
	pid_t me;
	bool daemon_processes; /* else: non-daemon workers */
};

/* Workers this process started that still run, but the caller. */
static bool ours(ft_worker_t *w, void *ctx)
{
	const struct whose *o = ctx;
	if (w->creator_pid != o->me || (w->flags & (W_MAIN | W_DUMMY)) ||
	    ft__worker_phase(w) != W_RUNNING || w == ft__self)
		return false;
	if (o->daemon_processes)
		return (w->flags & FT_WORKER_DAEMON) && (w->flags & W_IS_PROCESS);
	return !(w->flags & FT_WORKER_DAEMON);
}

/* Join (after @sig, if not 0) each worker @o selects, a batch at a time:
 * a joined worker is DONE and not selected again. */
static void end_each(struct whose *o, int sig)
{
	ft_worker_t *batch[32];
	size_t n;
	do {
		n = ft__workers_collect(batch, 32, ours, o);
		for (size_t i = 0; i < n && i < 32; i++) {
			if (sig)
				(void)ft__signal_child(batch[i], sig);
			ft__join(batch[i], NULL);
		}
	} while (n > 32);
}

void ft__workers_shutdown(void)
{
	if (ft__load_acquire(&ft__init_state) != 1)
		return;

	if (!ft__workers_started)
		return; /* none of ours to join or kill */

	struct whose o = { getpid(), false };
	end_each(&o, 0);
	o.daemon_processes = true;
	end_each(&o, SIGKILL);
}
