/* SPDX-License-Identifier: MIT */
/*
 * Condition: a sequence word to sleep on, and two counters kept under the
 * condition's lock: waiting (registered waiters) and signals (notifications
 * granted and not yet taken).  A waiter returns "notified" only by taking
 * a signal, so notify(n) releases at most n waiters however the wakes race.
 *
 * No lost wake-up: a waiter reads seq before it releases the lock; a
 * notifier holds the lock and bumps seq, so a waiter that has released the
 * lock but not yet slept finds seq changed and does not sleep.
 */
#include <errno.h>

#include "base/atomic.h"
#include "sync/sync.h"
#include "wait/wait.h"

struct ft_condition {
	void *lock;         /* a struct ft_lock or ft_rlock */
	uint32_t lock_tag;  /* FT__TAG_LOCK or FT__TAG_RLOCK */
	uint32_t seq;       /* futex word, bumped by every notify */
	uint32_t waiting;   /* under the lock */
	uint32_t signals;   /* under the lock */
	uint32_t owns_lock; /* made its own RLock: free it with the condition */
};

FT_API ft_condition_t *ft_condition_new(void *lock)
{
	uint32_t tag = FT__TAG_RLOCK;
	int r = ft__ensure_init();
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	if (lock) {
		if (ft__arena_check(lock, FT__TAG_LOCK) == 0)
			tag = FT__TAG_LOCK;
		else if (ft__arena_check(lock, FT__TAG_RLOCK) != 0) {
			errno = EBADF;
			return NULL;
		}
	}
	ft_condition_t *c = ft__new_object(sizeof(*c));
	if (!c)
		return NULL;
	bool own = !lock;
	if (own && !(lock = ft_rlock_new())) {
		ft__arena_free(c, FT__TAG_RESERVED);
		return NULL;
	}
	c->owns_lock = own;
	c->lock = lock;
	c->lock_tag = tag;
	ft__arena_publish(c, FT__TAG_CONDITION);
	return c;
}

/* The lock's owner word: Lock and RLock both begin with it. */
static uint32_t *lock_word(ft_condition_t *c)
{
	return c->lock_tag == FT__TAG_LOCK ? &((struct ft_lock *)c->lock)->word
					   : &((struct ft_rlock *)c->lock)->word;
}

static int check(ft_condition_t *c);

/* 0 if the caller holds the lock, else -EPERM (or the handle's error). */
static int check_held(ft_condition_t *c)
{
	int r = check(c);
	if (r < 0)
		return r;
	if ((ft__load_relaxed(lock_word(c)) & FT__LW_ID_MASK) != ft__owner())
		return -EPERM;
	return 0;
}

/* The condition and the lock it names, both live: 0, or the error. */
static int check(ft_condition_t *c)
{
	int r = ft__check(c, FT__TAG_CONDITION);
	if (r == 0 && ft__arena_check(c->lock, c->lock_tag) < 0)
		r = -EBADF;
	return r;
}

FT_API int ft_condition_acquire(ft_condition_t *c, double timeout)
{
	struct ft__deadline d;
	int r = check(c);
	if (r == 0)
		r = ft__deadline_init(&d, timeout);
	if (r < 0)
		return r;
	return c->lock_tag == FT__TAG_LOCK ? ft__lock_take(c->lock, &d)
					   : ft__rlock_take(c->lock, &d);
}

FT_API int ft_condition_release(ft_condition_t *c)
{
	int r = check(c);
	if (r < 0)
		return r;
	return c->lock_tag == FT__TAG_LOCK ? ft__lock_give(c->lock)
					   : ft__rlock_give(c->lock);
}

/* Wait with the lock held and checked, until @abs (NULL: forever). */
static int wait_until(ft_condition_t *c, const struct timespec *abs)
{
	bool rlock = c->lock_tag == FT__TAG_RLOCK;
	uint32_t *word = lock_word(c);
	bool owner_died = false;

	c->waiting++;
	for (;;) {
		uint32_t seq = ft__load_relaxed(&c->seq);
		uint32_t depth = 0;
		if (rlock)
			depth = ft__rlock_release_all(c->lock);
		else
			ft__lockword_release(word);
		int r = ft__spin_while(&c->seq, seq) ? 0
						     : ft__wait(&c->seq, seq, abs);
		int retake = rlock ? ft__rlock_take_back(c->lock, depth)
				   : ft__lockword_take(word, ft__owner(), NULL,
						       FT__TAKE_SPIN |
						       FT__TAKE_HANDOFF);
		/* Sticky: a death met on any retake is reported. */
		owner_died |= retake == -EOWNERDEAD;
		if (c->signals > 0) {
			c->signals--;
			r = 0;
		} else if (r == -ETIMEDOUT || ft__deadline_passed(abs)) {
			r = -ETIMEDOUT;
		} else {
			continue; /* woken for another waiter's signal */
		}
		c->waiting--;
		return owner_died ? -EOWNERDEAD : r;
	}
}

FT_API int ft_condition_wait(ft_condition_t *c, double timeout)
{
	struct ft__deadline d;
	int r = check_held(c);
	if (r == 0)
		r = ft__deadline_init(&d, timeout);
	if (r < 0)
		return r;
	r = wait_until(c, ft__deadline_abs(&d));
	return (r == -ETIMEDOUT && ft__deadline_now(&d)) ? -EAGAIN : r;
}

FT_API int ft_condition_wait_for(ft_condition_t *c, ft_predicate_fn pred,
				 void *arg, double timeout)
{
	struct ft__deadline d;
	int r = check_held(c);
	if (r == 0 && !pred)
		r = -EINVAL;
	if (r == 0)
		r = ft__deadline_init(&d, timeout);
	if (r < 0)
		return r;
	int value = pred(arg);
	if (value || ft__deadline_now(&d))
		return value;
	const struct timespec *abs = ft__deadline_abs(&d);
	while (!value && !ft__deadline_passed(abs)) {
		wait_until(c, abs);
		value = pred(arg);
	}
	return value;
}

static int notify(ft_condition_t *c, uint32_t n)
{
	int r = check_held(c);
	if (r < 0)
		return r;
	uint32_t unsignalled = c->waiting - c->signals;
	if (n > unsignalled)
		n = unsignalled;
	if (n == 0)
		return 0;
	c->signals += n;
	/* Release pairs with nothing in particular: waiters read seq under
	 * the lock; the kernel compares it for sleepers. */
	ft__fetch_add_acq_rel(&c->seq, 1u);
	ft__wake(&c->seq, (int)n);
	return 0;
}

FT_API int ft_condition_notify(ft_condition_t *c, int n)
{
	if (n < 0) {
		int r = ft__check(c, FT__TAG_CONDITION);
		return r < 0 ? r : -EINVAL;
	}
	return notify(c, (uint32_t)n);
}

FT_API int ft_condition_notify_all(ft_condition_t *c)
{
	return notify(c, UINT32_MAX);
}

FT_API int ft_condition_free(ft_condition_t *c)
{
	int r = ft__check(c, FT__TAG_CONDITION);
	if (r < 0)
		return r;
	void *own = c->owns_lock ? c->lock : NULL;
	r = ft__arena_free(c, FT__TAG_CONDITION);
	if (r == 0 && own)
		ft__arena_free(own, FT__TAG_RLOCK);
	return r;
}
