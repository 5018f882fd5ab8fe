/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>

#include "base/atomic.h"
#include "lockword/lockword.h"
#include "lockword/owner.h"
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

/* The holder of @v is gone: free the word marked OWNER_DIED (the next
 * taker reports it) and wake every sleeper to look again. */
static bool mark_owner_died(uint32_t *w, uint32_t v)
{
	uint32_t nv = (v & FT__LW_WAITERS) | FT__LW_OWNER_DIED;
	/* Release pairs with the next taker's acquire CAS. */
	if (!ft__cas_acq_rel(w, &v, nv))
		return false;
	if (v & FT__LW_WAITERS)
		ft__wake(w, 0x7fffffff);
	return true;
}

static bool holder_gone(enum ft__fate f, unsigned how)
{
	return f == FT__OWNER_IS_DEAD ||
	       (f == FT__OWNER_ENDED && !(how & FT__TAKE_HANDOFF));
}

int ft__lockword_acquire_slow(uint32_t *w, uint32_t me,
			      struct ft__deadline *d, unsigned how)
{
	bool try_only = ft__deadline_now(d);
	const struct timespec *abs = try_only ? NULL : ft__deadline_abs(d);

	/* Spinning only pays while the holder runs; the bound keeps a
	 * preempted holder from costing a whole time slice. */
	if ((how & FT__TAKE_SPIN) && !try_only) {
		uint32_t v = ft__load_relaxed(w);
		if ((v & FT__LW_ID_MASK) != 0)
			ft__spin_while(w, v);
	}
	bool slept = false, check = false, timed_out = false;
	for (;;) {
		uint32_t v = ft__load_relaxed(w);
		if ((v & FT__LW_ID_MASK) == 0) {
			/* Release cleared WAITERS; a taker that slept cannot
			 * tell whether other sleepers remain, so it sets the
			 * bit again: a spare wake is cheaper than a lost one. */
			uint32_t nv = me | (v & FT__LW_WAITERS) |
				      (slept ? FT__LW_WAITERS : 0);
			/* Acquire pairs with the release in
			 * ft__lockword_release / repair. */
			if (ft__cas_acquire(w, &v, nv))
				return (v & FT__LW_OWNER_DIED) ? -EOWNERDEAD : 0;
			continue;
		}
		/* Held: by whom?  Before a sleep the deaths word is marked
		 * first, so an end reported after this judgement wakes it
		 * (owner.h, 5). */
		struct ft__wait_word ww[2];
		if (!try_only)
			ww[1].word = ft__owner_deaths(&ww[1].val);
		if (holder_gone(ft__owner_fate(v & FT__LW_ID_MASK, check), how)) {
			mark_owner_died(w, v);
			continue;
		}
		check = false;
		if (try_only)
			return timed_out ? -ETIMEDOUT : -EAGAIN;
		if (!(v & FT__LW_WAITERS) &&
		    !ft__cas_acquire(w, &v, v | FT__LW_WAITERS))
			continue;
		ww[0].word = w;
		ww[0].val = v | FT__LW_WAITERS;
		/* Every slice, the holder is checked for an end nobody
		 * reports (owner.h, 3). */
		struct timespec ts;
		bool last;
		const struct timespec *until =
			ft__deadline_slice(abs, FT__OWNER_CHECK_NS, &ts, &last);
		int r = ft__waitv(ww, 2, until);
		slept = true;
		if (r != -ETIMEDOUT)
			continue;
		check = true;
		/* Only the caller's deadline ends the wait (a timeout a wait
		 * layer reports without one is a spurious wake-up): then one
		 * last look, checks included, as a try. */
		if (last && abs)
			try_only = timed_out = true;
	}
}

bool ft__lockword_repair(uint32_t *w, unsigned how)
{
	uint32_t v = ft__load_acquire(w);
	for (;;) {
		uint32_t id = v & FT__LW_ID_MASK;
		if (id == 0 ||
		    !holder_gone(ft__owner_fate(id, false), how))
			return false;
		if (mark_owner_died(w, v))
			return true;
		v = ft__load_acquire(w);
	}
}
