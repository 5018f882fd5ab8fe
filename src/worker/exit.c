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
	int sig;               /* sent before the join, if not 0 */
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

/* A joined worker is DONE: no longer ours. */
static void end(ft_worker_t *w, void *ctx)
{
	const struct whose *o = ctx;
	if (o->sig)
		(void)ft__signal_child(w, o->sig);
	ft__join(w, NULL);
}

void ft__workers_shutdown(void)
{
	if (ft__load_acquire(&ft__init_state) != 1)
		return;

	if (!ft__workers_started)
		return; /* none of ours to join or kill */

	struct whose o = { getpid(), false, 0 };
	ft__workers_each(ours, end, &o);
	o.daemon_processes = true;
	o.sig = SIGKILL;
	ft__workers_each(ours, end, &o);
}
