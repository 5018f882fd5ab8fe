/* SPDX-License-Identifier: MIT */
/*
 * Semaphore: the value is the futex word; sleepers count themselves in
 * waiters so a release only makes a wake syscall when someone sleeps.
 */
#include <errno.h>
#include <limits.h>

#include "base/atomic.h"
#include "sync/sync.h"
#include "wait/wait.h"

struct ft_semaphore {
	uint32_t value;   /* futex word, 0 .. INT_MAX */
	uint32_t waiters; /* workers between registering and leaving */
	uint32_t bound;   /* maximum value; INT_MAX when unbounded */
};

static ft_semaphore_t *make(int value, bool bounded)
{
	if (value < 0) {
		errno = EINVAL;
		return NULL;
	}
	ft_semaphore_t *s = ft__new_object(sizeof(*s));
	if (!s)
		return NULL;
	s->value = (uint32_t)value;
	s->bound = bounded ? (uint32_t)value : INT_MAX;
	ft__arena_publish(s, FT__TAG_SEMAPHORE);
	return s;
}

FT_API ft_semaphore_t *ft_semaphore_new(int value)
{
	return make(value, false);
}

FT_API ft_semaphore_t *ft_bounded_semaphore_new(int value)
{
	return make(value, true);
}

static bool try_take(ft_semaphore_t *s)
{
	uint32_t v = ft__load_relaxed(&s->value);
	while (v > 0)
		/* Acquire pairs with the release in ft_semaphore_release. */
		if (ft__cas_acquire(&s->value, &v, v - 1))
			return true;
	return false;
}

FT_API int ft_semaphore_acquire(ft_semaphore_t *s, double timeout)
{
	struct ft__deadline d;
	int r = ft__check_timed(s, FT__TAG_SEMAPHORE, timeout, &d);
	if (r < 0)
		return r;
	if (try_take(s))
		return 0;
	if (ft__deadline_now(&d))
		return -EAGAIN;
	if (ft__spin_while(&s->value, 0) && try_take(s))
		return 0;
	const struct timespec *abs = ft__deadline_abs(&d);
	/* Seq_cst: the other half of the handshake in release; the futex
	 * syscall rechecks value == 0 in the kernel besides. */
	ft__fetch_add_seq_cst(&s->waiters, 1u);
	for (r = -ETIMEDOUT;;) {
		if (try_take(s)) {
			r = 0;
			break;
		}
		if (ft__wait(&s->value, 0, abs) == -ETIMEDOUT) {
			r = try_take(s) ? 0 : -ETIMEDOUT;
			break;
		}
	}
	ft__fetch_add_acq_rel(&s->waiters, (uint32_t)-1);
	return r;
}

FT_API int ft_semaphore_release(ft_semaphore_t *s, int n)
{
	int r = ft__check(s, FT__TAG_SEMAPHORE);
	if (r < 0)
		return r;
	if (n < 1)
		return -EINVAL;
	uint32_t v = ft__load_relaxed(&s->value);
	do {
		if ((uint32_t)n > s->bound - v)
			return -EOVERFLOW;
	} while (!ft__cas_seq_cst(&s->value, &v, v + (uint32_t)n));
	/* Store-load, both seq_cst (models/semaphore.pml): the new value is
	 * ordered before our look at waiters, and a sleeper's count before
	 * its look at the value, so one of the two sees the other. */
	if (ft__load_seq_cst(&s->waiters))
		ft__wake(&s->value, n);
	return 0;
}

FT_API int ft_semaphore_value(ft_semaphore_t *s)
{
	int r = ft__check(s, FT__TAG_SEMAPHORE);
	return r < 0 ? r : (int)ft__load_acquire(&s->value);
}

FT_API int ft_semaphore_free(ft_semaphore_t *s)
{
	int r = ft__check(s, FT__TAG_SEMAPHORE);
	return r < 0 ? r : ft__arena_free(s, FT__TAG_SEMAPHORE);
}
