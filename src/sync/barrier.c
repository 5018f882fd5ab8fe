/* SPDX-License-Identifier: MIT */
/*
 * Barrier: CPython's state machine on an internal owner word and a
 * sequence word that every state change bumps (a condition variable of
 * our own).  Arrivals wait while the previous round drains or a reset
 * completes, so rounds do not overlap:
 *
 *   FILLING   -> (last arrival, action ok)           DRAINING, round++
 *   FILLING   -> (a timeout, abort, action fails)     BROKEN
 *   DRAINING, RESETTING -> (last waiter leaves)       FILLING
 *   reset: waiters inside -> RESETTING, none -> FILLING
 *
 * A waiter knows it passed when round moved on since it arrived; it does
 * not depend on the state it wakes to.  A worker that dies inside wait()
 * never leaves, so a drain or reset could wait for it for ever: a reset
 * that finds the previous reset still waiting forces the barrier back to
 * FILLING and starts a new epoch; waiters of an old epoch (if any still
 * live) get -EPIPE and no longer count.
 */
#include <errno.h>

#include "base/atomic.h"
#include "sync/sync.h"
#include "arena/type.h"
#include "wait/wait.h"

enum { FILLING = 0, DRAINING = 1, RESETTING = -1, BROKEN = -2 };

struct ft_barrier {
	uint32_t lock;   /* owner word guarding the fields below */
	uint32_t seq;    /* futex word: bumped by every state change */
	int32_t state;
	uint32_t count;  /* workers inside ft_barrier_wait, this epoch */
	uint32_t parties;
	uint32_t round;  /* rounds passed */
	uint32_t epoch;  /* forced resets */
	uint32_t pad;
	double timeout;  /* default for ft_barrier_wait */
	ft_action_fn action;
	void *arg;
};

/* A holder of the internal lock that died is freed by the repair pass;
 * whoever takes the lock next sees the state as the holder left it. */
static void barrier_repair(void *obj)
{
	ft__lockword_repair(&((ft_barrier_t *)obj)->lock, 0);
}

FT__TYPE(barrier_type) = { FT__TAG_BARRIER, barrier_repair };

FT_API ft_barrier_t *ft_barrier_new(unsigned parties, ft_action_fn action,
				    void *arg, double timeout)
{
	if (parties < 1 || parties > INT32_MAX) {
		errno = EINVAL;
		return NULL;
	}
	struct ft__deadline d;
	if (ft__deadline_init(&d, timeout) < 0) { /* NaN */
		errno = EINVAL;
		return NULL;
	}
	ft_barrier_t *b = ft__new_object(sizeof(*b));
	if (!b)
		return NULL;
	b->parties = parties;
	b->action = action;
	b->arg = arg;
	b->timeout = timeout;
	ft__arena_publish(b, FT__TAG_BARRIER);
	return b;
}

static void notify_all(ft_barrier_t *b)
{
	ft__fetch_add_acq_rel(&b->seq, 1u);
	ft__wake(&b->seq, 0x7fffffff);
}

static void lock(ft_barrier_t *b)
{
	/* A worker that died inside a barrier call may have left a round
	 * half done: break the barrier, as a failed action would. */
	if (ft__lockword_acquire_spin(&b->lock, ft__owner()) == -EOWNERDEAD) {
		b->state = BROKEN;
		notify_all(b);
	}
}

static void unlock(ft_barrier_t *b)
{
	ft__lockword_release(&b->lock);
}

/* Sleep until the state may have changed; the lock is held on return. */
static int wait_change(ft_barrier_t *b, const struct timespec *abs)
{
	uint32_t seq = ft__load_relaxed(&b->seq);
	unlock(b);
	int r = ft__spin_while(&b->seq, seq) ? 0 : ft__wait(&b->seq, seq, abs);
	lock(b);
	return r == -ETIMEDOUT ? r : 0;
}

/* The caller's deadline passed: the barrier breaks for everyone. */
static int time_out(ft_barrier_t *b, const struct ft__deadline *d)
{
	b->state = BROKEN;
	notify_all(b);
	return ft__deadline_now(d) ? -EAGAIN : -ETIMEDOUT;
}

FT_API int ft_barrier_wait(ft_barrier_t *b, double timeout)
{
	struct ft__deadline d;
	int r = ft__check(b, FT__TAG_BARRIER);
	if (r < 0)
		return r;
	/* FT_FOREVER: the barrier's own (itself checked when made). */
	if (timeout == FT_FOREVER)
		timeout = b->timeout;
	if ((r = ft__deadline_init(&d, timeout)) < 0)
		return r;
	const struct timespec *abs = ft__deadline_abs(&d);

	lock(b);
	while (b->state == DRAINING || b->state == RESETTING) {
		if (wait_change(b, abs) == -ETIMEDOUT &&
		    (b->state == DRAINING || b->state == RESETTING)) {
			r = time_out(b, &d);
			unlock(b);
			return r;
		}
	}
	if (b->state == BROKEN) {
		unlock(b);
		return -EPIPE;
	}
	uint32_t round = b->round, epoch = b->epoch;
	int index = (int)b->count++;
	if ((uint32_t)index + 1 == b->parties) {
		/* The action runs holding the barrier's lock, which only
		 * this thread can release (owner.h, 5). */
		ft__owner_holds++;
		r = b->action ? b->action(b->arg) : 0;
		ft__owner_holds--;
		if (r == 0) {
			b->state = DRAINING;
			b->round++;
			r = index;
		} else {
			b->state = BROKEN;
			/* The contract is 0 or -errno; anything else fails. */
			if (r > 0)
				r = -ECANCELED;
		}
		notify_all(b);
	} else {
		r = index;
		while (b->round == round && b->epoch == epoch &&
		       b->state == FILLING) {
			if (wait_change(b, abs) == -ETIMEDOUT &&
			    b->round == round && b->epoch == epoch &&
			    b->state == FILLING)
				r = time_out(b, &d);
		}
		if (r >= 0 && b->round == round)
			r = -EPIPE; /* broken, reset or a new epoch: not passed */
	}
	if (b->epoch == epoch && --b->count == 0 &&
	    (b->state == DRAINING || b->state == RESETTING)) {
		b->state = FILLING;
		notify_all(b);
	}
	unlock(b);
	return r;
}

FT_API int ft_barrier_reset(ft_barrier_t *b)
{
	int r = ft__check(b, FT__TAG_BARRIER);
	if (r < 0)
		return r;
	lock(b);
	if (b->count == 0 || b->state == RESETTING) {
		/* Nobody inside, or the last reset still waits for waiters
		 * that never left (they died): start a new epoch. */
		if (b->count > 0)
			b->epoch++;
		b->count = 0;
		b->state = FILLING;
	} else {
		b->state = RESETTING;
	}
	notify_all(b);
	unlock(b);
	return 0;
}

FT_API int ft_barrier_abort(ft_barrier_t *b)
{
	int r = ft__check(b, FT__TAG_BARRIER);
	if (r < 0)
		return r;
	lock(b);
	b->state = BROKEN;
	notify_all(b);
	unlock(b);
	return 0;
}

FT_API int ft_barrier_parties(ft_barrier_t *b)
{
	int r = ft__check(b, FT__TAG_BARRIER);
	return r < 0 ? r : (int)b->parties;
}

FT_API int ft_barrier_n_waiting(ft_barrier_t *b)
{
	int r = ft__check(b, FT__TAG_BARRIER);
	if (r < 0)
		return r;
	lock(b);
	r = b->state == FILLING ? (int)b->count : 0;
	unlock(b);
	return r;
}

FT_API int ft_barrier_broken(ft_barrier_t *b)
{
	int r = ft__check(b, FT__TAG_BARRIER);
	return r < 0 ? r : ft__load_relaxed(&b->state) == BROKEN;
}

FT_API int ft_barrier_free(ft_barrier_t *b)
{
	int r = ft__check(b, FT__TAG_BARRIER);
	return r < 0 ? r : ft__arena_free(b, FT__TAG_BARRIER);
}
