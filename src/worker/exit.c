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
#include "base/sys.h"
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

/*
 * A process worker ending here (its target returned, or it called exit())
 * as its only thread was inside no call of ours: a word it still holds
 * was left by a callback (a barrier's action) or by choice, and its
 * holder's end is known (owner.h, 1).  What only the arena walk repairs
 * (a queue's wake or bias left mid-call) cannot be there, so its reaper
 * skips the walk (repair.c).  Another thread still running, _exit() and
 * exit() from a signal handler (not async-signal-safe) leave no note.
 */
static void note_clean_end(void)
{
	ft_worker_t *w = ft__process_record;
	if (w && ft__sys_thread_count() == 1)
		__atomic_fetch_or(&w->flags, W_CLEAN_END, __ATOMIC_RELAXED);
}

void ft__workers_shutdown(void)
{
	if (ft__load_acquire(&ft__init_state) != 1)
		return;

	if (ft__workers_started) {
		struct whose o = { getpid(), false, 0 };
		ft__workers_each(ours, end, &o);
		o.daemon_processes = true;
		o.sig = SIGKILL;
		ft__workers_each(ours, end, &o);
	}
	note_clean_end();
}
