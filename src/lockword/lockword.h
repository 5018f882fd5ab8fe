/* SPDX-License-Identifier: MIT */
/*
 * The owner word: a 32-bit futex word that names its holder, laid out as
 * the kernel's robust futexes are (linux/futex.h):
 *
 *   bit 31      WAITERS     someone may sleep on the word; release wakes
 *   bit 30      OWNER_DIED  the last holder died holding it
 *   bits 0..29  holder's owner id (owner.h), 0 when free
 *
 * Free is "id == 0" whatever the two flag bits say.  Taking a word whose
 * OWNER_DIED bit is set clears the bit and reports -EOWNERDEAD: the taker
 * holds it.  A holder's death is found two ways: a taker that finds the
 * word held judges the holder (ft__owner_fate) and marks the word itself,
 * sleeping on the program's deaths word too so that a reported end wakes
 * it (owner.h, 5); and the repair pass after a process worker's death
 * calls ft__lockword_repair() on every owner word in the arena.
 */
#ifndef FT_LOCKWORD_H
#define FT_LOCKWORD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/atomic.h"
#include "lockword/owner.h"
#include "wait/wait.h"

#define FT__LW_WAITERS    0x80000000u
#define FT__LW_OWNER_DIED 0x40000000u
#define FT__LW_ID_MASK    0x3fffffffu

/* How a word is taken (ft__lockword_take's @how). */
#define FT__TAKE_SPIN    1u /* spin a little before sleeping */
#define FT__TAKE_HANDOFF 2u /* a Lock: a holder that *ended* handed it off */

/* The caller's kernel thread id, cached per thread (reset across fork). */
extern FT__TLS uint32_t ft__tid_cache;
uint32_t ft__tid_slow(void);
static inline uint32_t ft__tid(void)
{
	uint32_t t = ft__tid_cache;
	return t ? t : ft__tid_slow();
}

/*
 * Take the word for owner @me by @d (NULL: forever; see struct
 * ft__deadline).  0 or -EOWNERDEAD: taken.  -EAGAIN (timeout 0),
 * -ETIMEDOUT: not taken.  The uncontended case is one CAS, inline.
 *
 * FT__TAKE_SPIN: right for words held for a few instructions by a partner
 * about to let go (a condition's waiter taking its lock back from the
 * notifier, internal locks); wrong for a user's lock hammered by two
 * workers, where a spinning waiter snatches the lock at every release and
 * the two trade a cache line per operation, while a sleeping one lets the
 * holder run on (glibc's default mutex does not spin either).
 *
 * FT__TAKE_HANDOFF: a holder that ended normally left the word held on
 * purpose (a Lock has no owner: someone else may release it), so wait
 * for a release.  Without it such a word is an owner death.
 */
int ft__lockword_acquire_slow(uint32_t *w, uint32_t me,
			      struct ft__deadline *d, unsigned how);

/*
 * A process whose death someone will clean up (a process worker) keeps a
 * note, in a word its reaper reads, that it has taken an owner word or
 * started a worker: only then can its death leave something held or
 * orphaned, and only then does the reaper walk the arena to repair.
 * ft__death_note points at that word until the note is made (NULL in any
 * other process, and once made); @bit is what to set there.
 */
extern uint32_t *ft__death_note;
extern uint32_t ft__death_note_bit;
static inline void ft__note_may_own(void)
{
	uint32_t *note = ft__load_relaxed(&ft__death_note);
	if (__builtin_expect(note != NULL, 0)) {
		/* Before the word is taken: a death after the take finds
		 * the note (the reaper reads it after waitid). */
		__atomic_fetch_or(note, ft__death_note_bit, __ATOMIC_RELAXED);
		ft__store_relaxed(&ft__death_note, (uint32_t *)NULL);
	}
}

/* The uncontended case alone: true if the word was free and is now
 * @me's.  Acquire pairs with the release in ft__lockword_release. */
static inline bool ft__lockword_try(uint32_t *w, uint32_t me)
{
	uint32_t expected = 0;
	ft__note_may_own();
	return ft__cas_acquire(w, &expected, me);
}

static inline int ft__lockword_take(uint32_t *w, uint32_t me,
				    struct ft__deadline *d, unsigned how)
{
	uint32_t expected = 0;
	ft__note_may_own();
	/* Acquire pairs with the release in ft__lockword_release. */
	if (__builtin_expect(ft__cas_acquire(w, &expected, me), 1))
		return 0;
	return ft__lockword_acquire_slow(w, me, d, how);
}

/* A user's RLock, an internal word with a deadline: no spin. */
static inline int ft__lockword_acquire(uint32_t *w, uint32_t me,
				       struct ft__deadline *d)
{
	return ft__lockword_take(w, me, d, 0);
}

/* Internal words and retakes: spin, then sleep, for as long as it takes. */
static inline int ft__lockword_acquire_spin(uint32_t *w, uint32_t me)
{
	return ft__lockword_take(w, me, NULL, FT__TAKE_SPIN);
}

/* Free the word, whoever holds it; wakes one sleeper if any.  Returns the
 * previous value.  Inline: every unlock of every primitive comes here. */
static inline uint32_t ft__lockword_release(uint32_t *w)
{
	/* Release pairs with the acquire CAS of the next holder. */
	uint32_t old = ft__xchg_release(w, 0);
	if (__builtin_expect(old & FT__LW_WAITERS, 0))
		ft__wake(w, 1);
	return old;
}

/* If the holder died (or ended, unless @how has FT__TAKE_HANDOFF), mark
 * OWNER_DIED, free the word and wake every sleeper.  Only what was
 * reported counts (no system calls).  Returns true if it did. */
bool ft__lockword_repair(uint32_t *w, unsigned how);

#endif
