/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>

#include "base/atomic.h"
#include "lockword/lockword.h"
#include "base/sys.h"
#include "wait/wait.h"

FT__TLS uint32_t ft__tid_cache;
uint32_t *ft__death_note;
uint32_t ft__death_note_bit;

uint32_t ft__tid_slow(void)
{
	ft__tid_cache = (uint32_t)ft__sys_gettid();
	return ft__tid_cache;
}

/* A forked child is another thread: the cached TID is the parent's, and
 * so is the death note (the child's own worker record, if any, sets it
 * again). */
static void after_fork_child(void)
{
	ft__tid_cache = 0;
	ft__store_relaxed(&ft__death_note, (uint32_t *)NULL);
}

__attribute__((constructor)) static void register_fork_handler(void)
{
	pthread_atfork(NULL, NULL, after_fork_child);
}

int ft__lockword_acquire_slow(uint32_t *w, uint32_t tid,
			      struct ft__deadline *d, bool spin)
{
	bool try_only = ft__deadline_now(d);
	const struct timespec *abs = try_only ? NULL : ft__deadline_abs(d);

	/* Spinning only pays while the holder runs; the bound keeps a
	 * preempted holder from costing a whole time slice. */
	if (spin && !try_only) {
		uint32_t v = ft__load_relaxed(w);
		if ((v & FT__LW_TID_MASK) != 0)
			ft__spin_while(w, v);
	}
	bool slept = false;
	for (;;) {
		uint32_t v = ft__load_relaxed(w);
		if ((v & FT__LW_TID_MASK) == 0) {
			/* Release cleared WAITERS; a taker that slept cannot
			 * tell whether other sleepers remain, so it sets the
			 * bit again: a spare wake is cheaper than a lost one. */
			uint32_t nv = tid | (v & FT__LW_WAITERS) |
				      (slept ? FT__LW_WAITERS : 0);
			/* Acquire pairs with the release in
			 * ft__lockword_release / repair. */
			if (ft__cas_acquire(w, &v, nv))
				return (v & FT__LW_OWNER_DIED) ? -EOWNERDEAD : 0;
			continue;
		}
		if (try_only)
			return -EAGAIN;
		if (!(v & FT__LW_WAITERS) &&
		    !ft__cas_acquire(w, &v, v | FT__LW_WAITERS))
			continue;
		int r = ft__wait(w, v | FT__LW_WAITERS, abs);
		slept = true;
		/* Only a deadline ends the wait: without one, a timeout a
		 * wait layer reports is a spurious wake-up, and callers that
		 * wait forever take the word without checking. */
		if (r == -ETIMEDOUT && abs) {
			/* One last look: the word may have freed just now. */
			v = ft__load_relaxed(w);
			if ((v & FT__LW_TID_MASK) != 0)
				return -ETIMEDOUT;
			try_only = true;
		}
	}
}

bool ft__lockword_repair(uint32_t *w)
{
	uint32_t v = ft__load_acquire(w);
	for (;;) {
		uint32_t tid = v & FT__LW_TID_MASK;
		if (tid == 0 || tid == FT__LW_HANDOFF ||
		    ft__sys_tid_exists((pid_t)tid))
			return false;
		uint32_t nv = (v & FT__LW_WAITERS) | FT__LW_OWNER_DIED;
		if (ft__cas_acq_rel(w, &v, nv))
			break;
	}
	ft__wake(w, 0x7fffffff);
	return true;
}
