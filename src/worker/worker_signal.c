/* SPDX-License-Identifier: MIT */
/* Stopping a process worker from outside: terminate and kill. */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "worker/worker.h"

static int signal_worker(ft_worker_t *w, int sig)
{
	int r = ft__check(w, FT__TAG_WORKER);
	if (r < 0)
		return r;
	uint32_t phase = ft__worker_phase(w);
	if (phase == W_NEW)
		return -EINVAL;
	/* A thread shares its process's malloc, stdio and every lock of the
	 * program's own: nothing can end it from outside and leave those
	 * whole.  Cooperative stops (an Event it checks) are the way. */
	if (!(w->flags & W_IS_PROCESS))
		return -EOPNOTSUPP;
	if (phase == W_DONE)
		return 0;
	/* Only the creator holds the pidfd (and is the child's parent). */
	if (w->creator_pid != getpid())
		return -ECHILD;
	r = ft__signal_child(w, sig);
	/* Ended (and reaped) since we looked: as Python, nothing to do. */
	return r == -ESRCH ? 0 : r;
}

FT_API int ft_worker_terminate(ft_worker_t *w)
{
	return signal_worker(w, SIGTERM);
}

FT_API int ft_worker_kill(ft_worker_t *w)
{
	return signal_worker(w, SIGKILL);
}
