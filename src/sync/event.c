/* SPDX-License-Identifier: MIT */
/*
 * Event: one futex word.
 *   bit 0      SET
 *   bit 1      WAITERS: someone sleeps; set() wakes only if it sees this
 *   bits 2..31 generation, bumped by every set() of a clear event, so a
 *              waiter that wakes after a set() and a clear() still knows it
 *              was set while it waited (as CPython's wait returns True)
 */
#include <errno.h>

#include "base/atomic.h"
#include "sync/sync.h"
#include "wait/wait.h"

#define EV_SET     1u
#define EV_WAITERS 2u
#define EV_GEN     4u
#define EV_GEN_MASK (~3u)

struct ft_event {
	uint32_t word;
};

FT_API ft_event_t *ft_event_new(void)
{
	ft_event_t *e = ft__new_object(sizeof(*e));
	if (e)
		ft__arena_publish(e, FT__TAG_EVENT);
	return e;
}

FT_API int ft_event_set(ft_event_t *e)
{
	int r = ft__check(e, FT__TAG_EVENT);
	if (r < 0)
		return r;
	uint32_t v = ft__load_relaxed(&e->word);
	do {
		if (v & EV_SET)
			return 0;
		/* Release pairs with the acquire loads in wait/is_set. */
	} while (!ft__cas_release(&e->word, &v,
				  ((v & EV_GEN_MASK) + EV_GEN) | EV_SET));
	if (v & EV_WAITERS)
		ft__wake(&e->word, 0x7fffffff);
	return 0;
}

FT_API int ft_event_clear(ft_event_t *e)
{
	int r = ft__check(e, FT__TAG_EVENT);
	if (r < 0)
		return r;
	ft__fetch_and_acq_rel(&e->word, ~EV_SET);
	return 0;
}

FT_API int ft_event_is_set(ft_event_t *e)
{
	int r = ft__check(e, FT__TAG_EVENT);
	return r < 0 ? r : (int)(ft__load_acquire(&e->word) & EV_SET);
}

FT_API int ft_event_wait(ft_event_t *e, double timeout)
{
	struct ft__deadline d;
	int r = ft__check_timed(e, FT__TAG_EVENT, timeout, &d);
	if (r < 0)
		return r;
	uint32_t v = ft__load_acquire(&e->word);
	if (v & EV_SET)
		return 0;
	if (ft__deadline_now(&d))
		return -EAGAIN;
	const struct timespec *abs = ft__deadline_abs(&d);
	uint32_t gen = v & EV_GEN_MASK;
	if (ft__spin_while(&e->word, v))
		v = ft__load_acquire(&e->word);
	for (;;) {
		if ((v & EV_SET) || (v & EV_GEN_MASK) != gen)
			return 0;
		if (!(v & EV_WAITERS) &&
		    !ft__cas_acquire(&e->word, &v, v | EV_WAITERS))
			continue;
		if (ft__wait(&e->word, v | EV_WAITERS, abs) == -ETIMEDOUT) {
			v = ft__load_acquire(&e->word);
			return ((v & EV_SET) || (v & EV_GEN_MASK) != gen)
				? 0 : -ETIMEDOUT;
		}
		v = ft__load_acquire(&e->word);
	}
}

FT_API int ft_event_free(ft_event_t *e)
{
	int r = ft__check(e, FT__TAG_EVENT);
	return r < 0 ? r : ft__arena_free(e, FT__TAG_EVENT);
}
