/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "base/atomic.h"
#include "base/sys.h"
#include "runtime/runtime.h"
#include "wait/wait.h"
#include "worker/worker.h"

/*
 * A thread worker's record is finished by its cleanup handler, before
 * the thread is gone.  A thread killed alone (SECCOMP_RET_KILL_THREAD)
 * runs no handler: its record would stay RUNNING for good.  So a joiner
 * in the thread's process checks, every slice, whether the thread still
 * exists (tgkill 0; only there do pid and TID mean the same to both), and
 * if it is gone with the record still RUNNING, finishes it with
 * FT_EXITCODE_UNKNOWN.  A TID reused since hides it, as for owner words
 * (lockword/owner.h, 3).
 */
#define VANISH_CHECK_NS 1000000000L

bool ft__thread_vanished(ft_worker_t *w)
{
	if ((w->flags & W_IS_PROCESS) || w->creator_pid != getpid())
		return false;
	uint32_t id = ft__load_acquire(&w->ident);
	if (id == 0 || id == IDENT_WAITING ||
	    ft__sys_thread_alive(w->creator_pid, (pid_t)id))
		return false;
	/* Gone: its handler would have finished the record first. */
	if (ft__worker_phase(w) != W_RUNNING)
		return false;
	ft__worker_finish(w, FT_EXITCODE_UNKNOWN);
	return true;
}

/* Sleep on the state word until the worker is DONE or @abs passes. */
int ft__join(ft_worker_t *w, const struct timespec *abs)
{
	/* The creator of a process worker can wait for the child itself and
	 * save the hop through the supervisor; a timed join cannot (waitid
	 * has no timeout) and waits for the supervisor's DONE instead. */
	if (!abs && (w->flags & W_IS_PROCESS) && w->creator_pid == getpid() &&
	    ft__worker_phase(w) == W_RUNNING &&
	    ft__reap_here(w, true) == 1)
		return 0;

	uint32_t v = ft__load_acquire(&w->state);
	while ((v & W_PHASE) != W_DONE) {
		if ((v & W_PHASE) == W_NEW)
			return -EINVAL; /* its start failed meanwhile */
		if (!(v & W_SLEEPERS)) {
			if (!ft__cas_acquire(&w->state, &v, v | W_SLEEPERS))
				continue;
			v |= W_SLEEPERS;
		}
		struct timespec ts;
		bool last = true;
		const struct timespec *until = abs;
		if (!(w->flags & W_IS_PROCESS))
			until = ft__deadline_slice(abs, VANISH_CHECK_NS, &ts, &last);
		if (ft__wait(&w->state, v, until) == -ETIMEDOUT &&
		    ft__worker_phase(w) != W_DONE) {
			if (!last) {
				ft__thread_vanished(w);
				v = ft__load_acquire(&w->state);
				continue;
			}
			return -ETIMEDOUT;
		}
		/* Acquire pairs with the release in ft__worker_finish. */
		v = ft__load_acquire(&w->state);
	}
	return 0;
}

FT_API int ft_worker_join(ft_worker_t *w, double timeout)
{
	struct ft__deadline d;
	int r = ft__check_timed(w, FT__TAG_WORKER, timeout, &d);
	if (r < 0)
		return r;
	if (ft__worker_phase(w) == W_NEW)
		return -EINVAL;
	if (w == ft_current_worker())
		return -EDEADLK;
	if (ft__deadline_now(&d))
		return ft_worker_is_alive(w) ? -EAGAIN : 0;
	return ft__join(w, ft__deadline_abs(&d));
}
