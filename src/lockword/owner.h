/* SPDX-License-Identifier: MIT */
/*
 * Owners: who holds an owner word.  A word names its holder by an owner
 * id, (generation << 16) | slot, of a slot in a table in the arena (the
 * arena hands the table its memory at set-up), not by a kernel TID: TIDs
 * are reused, differ across PID namespaces, and a TID that still exists
 * says nothing about whether the thread we mean does.
 *
 * Two kinds of slot.  A *process* slot stands for one process; a *thread*
 * slot for one thread, and names its process's slot.  A thread is alive
 * while its slot and its process's slot both are.
 *
 * Slot word:
 *   bits 0..1   FREE, RESERVED (being filled in), LIVE, DIED
 *   bit  2      CERTAIN: a process slot whose end someone will report
 *               (the reaper of a process worker); others get checked
 *   bits 16..29 generation, bumped each time the slot is taken
 *
 * Invariants:
 * 1. A slot is FREE with its generation unchanged once its owner ended
 *    normally; taken again, its generation moves on.  So an id whose
 *    slot is FREE, or holds another generation, names an owner that
 *    *ended* (ft__owner_fate).  What a word its owner left held means then
 *    is the word's user's choice: a Lock is handed off, anything else is
 *    an owner death.
 * 2. DIED is set only by whoever knows for certain: the reaper of a
 *    process worker (its pidfd), or a check that found the thread or
 *    process gone (below).  A DIED process slot becomes FREE only after
 *    the repair pass has marked every word its threads held: after that,
 *    no word names them, and (1) is safe.
 * 3. The end of one of our threads is known at its end (the worker's
 *    cleanup handler, or a TLS destructor for threads we did not start).
 *    A thread killed alone (SECCOMP_RET_KILL_THREAD) runs neither: a
 *    sleeper on a word it holds checks the thread with tgkill(pid, tid, 0)
 *    every FT__OWNER_CHECK_NS, and marks it DIED when it is gone.  The
 *    same check covers processes whose end nobody reports (the main
 *    process, a child of the program's own fork()): kill(pid, 0), and a
 *    zombie counts as gone.  That fallback trusts pids and TIDs as the old
 *    scheme did, and only for those two cases, and only where the numbers
 *    mean the same to the checker: a thread is checked only from its own
 *    process, a process only from its own PID namespace.
 * 4. Slots are taken round robin from a shared cursor, so one slot's
 *    generation wraps only after table-size * 16384 takes.
 * 5. Sleepers on an owner word sleep on the word and on one program-wide
 *    *deaths* word, which every reported end that may leave a word to
 *    mark bumps (a process's reaper, a thread that ends owning an RLock,
 *    a fallback check that found a holder gone), waking all its
 *    sleepers to judge their holder again.  Not the holder's own slot: a
 *    sleeper does not see the word change hands while it sleeps, so the
 *    holder it would watch may be a stale one (the lockword model finds
 *    that lost wake-up: models/lockword.pml SLOT=1 STALE=1).  And every
 *    sleep lasts at most FT__OWNER_CHECK_NS before it judges again with
 *    the checks of (3), for the ends nobody reports.
 */
#ifndef FT_OWNER_H
#define FT_OWNER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/atomic.h"

#define FT__OWNER_FREE     0u
#define FT__OWNER_RESERVED 1u
#define FT__OWNER_LIVE     2u
#define FT__OWNER_DIED     3u
#define FT__OWNER_STATE    3u
#define FT__OWNER_CERTAIN  4u
#define FT__OWNER_GEN_SHIFT 16
#define FT__OWNER_GEN_MASK  0x3fff0000u
#define FT__OWNER_IDX_MASK  0xffffu

/* The id of slot 0, never free and never checked: what a thread gets
 * when the table is full.  Its holder's death cannot be found; RLock
 * refuses it (it could not tell two such holders apart). */
#define FT__OWNER_ANON (1u << FT__OWNER_GEN_SHIFT)

/* How long a sleeper trusts its holder before it checks it (3, 5). */
#define FT__OWNER_CHECK_NS 1000000000LL

struct ft__owner_slot {
	uint32_t word;
	int32_t pid;
	union {
		int32_t tid;     /* thread slots */
		uint32_t pidns;  /* process slots: PID namespace, 0 unknown */
	};
	uint32_t process;  /* thread slots: the id of their process's slot */
};

/* Set-up, from the arena: the table is @bytes at @mem (zeroed). */
void ft__owners_attach(void *mem, size_t bytes);
/* Bytes of table for an arena of @arena_size. */
size_t ft__owners_table_size(size_t arena_size);

/* The caller's owner id, taken on first use (never 0). */
extern FT__TLS uint32_t ft__owner_cache;
uint32_t ft__owner_slow(void);
static inline uint32_t ft__owner(void)
{
	uint32_t id = ft__owner_cache;
	return id ? id : ft__owner_slow();
}

/* Owner words the calling thread holds that it alone can release (RLock
 * levels count once; a barrier's lock while its action runs): a thread
 * that ends with any bumps the deaths word (5). */
extern FT__TLS unsigned ft__owner_holds;

/* The calling thread ends normally: its slot is freed (1).  Idempotent. */
void ft__owner_thread_end(void);

/* The deaths word (5): its value, marked so that the next bump wakes.
 * Read it before judging a holder, then sleep on it. */
uint32_t *ft__owner_deaths(uint32_t *val);

/* A process slot for a process worker about to be forked: its reaper
 * reports its end (CERTAIN).  0 when the table is full: the child then
 * takes a slot of its own on first use, checked as in (3). */
uint32_t ft__owner_process_new(void);
/* In the child: @id is this process's slot (from ft__owner_process_new). */
void ft__owner_process_adopt(uint32_t id);
/* The reaper: process @id ended, @died if killed (else it exited).  A
 * died process stays DIED until ft__owner_process_retire (2). */
void ft__owner_process_end(uint32_t id, bool died);
void ft__owner_process_retire(uint32_t id);

enum ft__fate { FT__OWNER_IS_LIVE, FT__OWNER_ENDED, FT__OWNER_IS_DEAD };

/* What became of owner @id.  @check: run the fallback checks of (3)
 * (system calls); without it, only what was reported counts. */
enum ft__fate ft__owner_fate(uint32_t id, bool check);

#endif
