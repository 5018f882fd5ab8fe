/* SPDX-License-Identifier: MIT */
/*
 * Lock: one owner word.  Python's Lock has no owner, so any worker may
 * release it; the word still records who took it, so that a holder's
 * death can be told from a hand-off (see ft__sync_worker_ending).
 */
#include <errno.h>
#include <pthread.h>

#include "base/atomic.h"
#include "sync/sync.h"
#include "arena/type.h"
#include "wait/wait.h"

FT__TLS unsigned ft__locks_taken;
FT__TLS bool ft__exit_hook_armed;
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void thread_exit_hook(void *unused)
{
	(void)unused;
	ft__sync_worker_ending(ft__tid());
}

static void exit_key_init(void)
{
	pthread_key_create(&exit_key, thread_exit_hook);
}

void ft__sync_arm_exit_hook(void)
{
	/* Workers settle their locks as they end (worker layer); a thread
	 * the library did not start needs a TLS destructor for that, armed
	 * on its first lock.  The main thread's end is the process's. */
	ft__exit_hook_armed = true;
	pthread_once(&exit_key_once, exit_key_init);
	pthread_setspecific(exit_key, &ft__exit_hook_armed);
}

FT_API ft_lock_t *ft_lock_new(void)
{
	ft_lock_t *l = ft__new_object(sizeof(*l));
	if (l)
		ft__arena_publish(l, FT__TAG_LOCK);
	return l;
}

int ft__lock_take(struct ft_lock *l, struct ft__deadline *d)
{
	int r = ft__lockword_acquire(&l->word, ft__tid(), d);
	if (r == 0 || r == -EOWNERDEAD)
		ft__sync_note_taken();
	return r;
}

FT_API int ft_lock_acquire(ft_lock_t *l, double timeout)
{
	int r = ft__check(l, FT__TAG_LOCK);
	if (r < 0)
		return r;
	if (__builtin_isnan(timeout))
		return -EINVAL;
	/* The uncontended case before the deadline is even classified:
	 * the slow path converts it (ft__deadline_init). */
	if (__builtin_expect(ft__lockword_try(&l->word, ft__tid()), 1)) {
		ft__sync_note_taken();
		return 0;
	}
	struct ft__deadline d;
	(void)ft__deadline_init(&d, timeout);
	return ft__lock_take(l, &d);
}

static inline int lock_give(struct ft_lock *l)
{
	uint32_t me = ft__tid();
	uint32_t v = ft__load_relaxed(&l->word);
	do {
		if ((v & FT__LW_TID_MASK) == 0)
			return -EPERM;
		/* Release pairs with the next taker's acquire CAS.  A CAS,
		 * not an exchange: of two racing releases only one may free
		 * the lock, the other must see it unheld. */
	} while (!ft__cas_release(&l->word, &v, 0));
	if ((v & FT__LW_TID_MASK) == me && ft__locks_taken)
		ft__locks_taken--;
	if (v & FT__LW_WAITERS)
		ft__wake(&l->word, 1);
	return 0;
}

int ft__lock_give(struct ft_lock *l)
{
	return lock_give(l);
}

FT_API int ft_lock_release(ft_lock_t *l)
{
	int r = ft__check(l, FT__TAG_LOCK);
	return r < 0 ? r : lock_give(l);
}

FT_API int ft_lock_locked(ft_lock_t *l)
{
	int r = ft__check(l, FT__TAG_LOCK);
	if (r < 0)
		return r;
	return (ft__load_acquire(&l->word) & FT__LW_TID_MASK) != 0;
}

FT_API int ft_lock_free(ft_lock_t *l)
{
	int r = ft__check(l, FT__TAG_LOCK);
	return r < 0 ? r : ft__arena_free(l, FT__TAG_LOCK);
}

static void end_hold(uint32_t *word, uint32_t tid, bool owner_died)
{
	uint32_t v = ft__load_relaxed(word);
	while ((v & FT__LW_TID_MASK) == tid) {
		uint32_t nv = owner_died
			? (v & FT__LW_WAITERS) | FT__LW_OWNER_DIED
			: (v & ~FT__LW_TID_MASK) | FT__LW_HANDOFF;
		if (ft__cas_acq_rel(word, &v, nv)) {
			if (owner_died)
				ft__wake(word, 0x7fffffff);
			return;
		}
	}
}

/* A Lock has no owner: one its holder leaves held is handed off. */
static void lock_owner_ended(void *obj, uint32_t tid)
{
	end_hold(&((struct ft_lock *)obj)->word, tid, false);
}

/* An RLock held by an ended worker can never be released: owner died. */
static void rlock_owner_ended(void *obj, uint32_t tid)
{
	end_hold(&((struct ft_rlock *)obj)->word, tid, true);
}

static void owner_word_repair(void *obj)
{
	/* Lock and RLock begin with their owner word. */
	ft__lockword_repair(obj);
}

FT__TYPE(lock_type) = { FT__TAG_LOCK, owner_word_repair, lock_owner_ended };
FT__TYPE(rlock_type) = { FT__TAG_RLOCK, owner_word_repair, rlock_owner_ended };

void ft__sync_worker_ending(uint32_t tid)
{
	if (!ft__locks_taken)
		return;
	ft__types_owner_ended(tid);
	ft__locks_taken = 0;
}
