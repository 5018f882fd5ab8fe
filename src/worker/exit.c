/*
 * Ending a process.  With status 0, as Python does, the non-daemon
 * workers it started are joined (for at most ft__exit_timeout); with a
 * non-zero status (a fatal exit must not hang on a blocked worker), or
 * past that bound, its non-daemon process workers get SIGTERM and a short
 * grace, and then everything it started that still runs as a process is
 * killed (SIGKILL: one that ignored SIGTERM would hang the exit) and
 * reaped.  Threads simply end with the process.  Runs from on_exit() (it
 * sees the status) and at the end of every process worker.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "arena/arena.h"
#include "base/sys.h"
#include "runtime/runtime.h"
#include "worker/worker.h"

/* How long terminated process workers get before SIGKILL. */
#define TERM_GRACE_S 1.0

enum which { NON_DAEMON, NON_DAEMON_PROCESSES, PROCESSES };

struct pass {
	pid_t me;
	enum which which;
	const struct timespec *until; /* joins end here; NULL: forever */
	bool late;                    /* a join ran out of time */
	int sig;                      /* sent before the join, if not 0 */
};

/* Workers this process started that still run, but the caller. */
static bool ours(ft_worker_t *w, void *ctx)
{
	const struct pass *o = ctx;
	if (o->late || w->creator_pid != o->me ||
	    (w->flags & (W_MAIN | W_DUMMY)) ||
	    ft__worker_phase(w) != W_RUNNING || w == ft__self)
		return false;
	bool daemon = w->flags & FT_WORKER_DAEMON;
	bool process = w->flags & W_IS_PROCESS;
	switch (o->which) {
	case NON_DAEMON:
		return !daemon;
	case NON_DAEMON_PROCESSES:
		return !daemon && process;
	default:
		return process;
	}
}

/* Signal and join: a joined worker is DONE, no longer ours.  Once a join
 * runs out of time nothing more matches, so the batch loop ends. */
static void end(ft_worker_t *w, void *ctx)
{
	struct pass *o = ctx;
	if (o->sig)
		(void)ft__signal_child(w, o->sig);
	if (ft__join(w, o->until) == -ETIMEDOUT)
		o->late = true;
}

/* SIGTERM to every one, then one shared grace for all of them. */
static void terminate_all(struct pass *o)
{
	size_t n = ft__workers_collect(NULL, 0, ours, o);
	ft_worker_t **all = n ? malloc(n * sizeof(*all)) : NULL;
	if (!all)
		return; /* the SIGKILL pass still ends them */
	/* Workers started meanwhile are left to the SIGKILL pass. */
	size_t m = ft__workers_collect(all, n, ours, o);
	if (m < n)
		n = m;
	for (size_t i = 0; i < n; i++)
		(void)ft__signal_child(all[i], SIGTERM);
	for (size_t i = 0; i < n; i++)
		(void)ft__join(all[i], o->until);
	free(all);
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

/* The absolute deadline @s seconds from now (NULL for FT_FOREVER). */
static const struct timespec *after(double s, struct ft__deadline *d)
{
	ft__deadline_init(d, s);
	return ft__deadline_abs(d);
}

void ft__workers_shutdown(int status)
{
	if (ft__load_acquire(&ft__init_state) != 1)
		return;

	if (ft__workers_started) {
		struct ft__deadline d;
		struct pass o = { .me = getpid(), .which = NON_DAEMON };
		if (status == 0) {
			o.until = after(ft__exit_timeout, &d);
			ft__workers_each(ours, end, &o);
		}
		if (status != 0 || o.late) {
			double grace = ft__exit_timeout < TERM_GRACE_S &&
						       ft__exit_timeout > 0
					       ? ft__exit_timeout
					       : TERM_GRACE_S;
			o = (struct pass){ .me = o.me,
					   .which = NON_DAEMON_PROCESSES,
					   .until = after(grace, &d) };
			terminate_all(&o);
		}
		/* The joins are over: stop what would replace or free the
		 * process workers about to be killed (pool managers). */
		ft__run_exit_hooks();
		o = (struct pass){ .me = o.me, .which = PROCESSES,
				   .sig = SIGKILL };
		ft__workers_each(ours, end, &o);
	}
	note_clean_end();
}

/* The on_exit(3) handler (registry.c). */
void ft__workers_on_exit(int status, void *arg)
{
	(void)arg;
	ft__workers_shutdown(status);
}
