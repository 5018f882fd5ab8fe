/* SPDX-License-Identifier: MIT */
/*
 * After a process worker dies, free what dead workers left behind: owner
 * words whose holder no longer exists (marked OWNER_DIED, sleepers woken)
 * and worker records of processes that died with nobody left to reap them
 * (their creator died too).  Owner words: one walk of the arena, each
 * object handed to its type's repair hook (type.h).  Worker records: the
 * registry.  Run only after the end of a process that noted it may have
 * left something (W_MAY_OWN), and the walk only if the process died or
 * did not note a clean end (W_CLEAN_END, exit.c).
 */
#include <signal.h>

#include "arena/arena.h"
#include "lockword/lockword.h"
#include "base/sys.h"
#include "arena/type.h"
#include "worker/worker.h"

/* A record nobody will finish unless this pass does: a RUNNING worker
 * whose creator is gone, not yet adopted. */
static bool orphaned(ft_worker_t *w, void *ctx)
{
	(void)ctx;
	/* The phase first: a RUNNING record's fields are filled in. */
	if (ft__worker_phase(w) != W_RUNNING || (w->flags & (W_MAIN | W_DUMMY)))
		return false;
	uint32_t id = __atomic_load_n(&w->ident, __ATOMIC_ACQUIRE);
	return id != 0 && id != IDENT_WAITING && w->creator_pid != 0 &&
	       __atomic_load_n(&w->adopter, __ATOMIC_RELAXED) == 0 &&
	       !ft__sys_tid_exists(w->creator_pid);
}

/* A thread died with its process.  A process is killed by its
 * parent-death signal, but maybe only after this pass: then watch it
 * until it dies (adopting it takes it off the orphans). */
static void settle_orphan(ft_worker_t *w, void *ctx)
{
	(void)ctx;
	uint32_t id = __atomic_load_n(&w->ident, __ATOMIC_ACQUIRE);
	if ((w->flags & W_IS_PROCESS) && ft__sys_tid_exists((pid_t)id)) {
		int32_t none = 0;
		if (__atomic_compare_exchange_n(&w->adopter, &none, (int32_t)getpid(),
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			ft__supervise_orphan(w, (pid_t)id);
		return;
	}
	if (w->flags & W_IS_PROCESS)
		ft__process_ended(w, -SIGKILL);
	else
		ft__worker_finish(w, -SIGKILL);
}

void ft__process_ended(ft_worker_t *w, int code)
{
	/* Read after the reap: every store of the dead process is visible.
	 * Its owner slot ends first, so the pass (and any taker) sees its
	 * words' holders gone; a died one is retired only after the pass
	 * marked them (owner.h, 2).  Repair before finishing: finishing a
	 * detached record frees it, which takes the arena lock the dead
	 * child may have held. */
	uint32_t owner = w->owner_process;
	uint32_t flags = __atomic_load_n(&w->flags, __ATOMIC_RELAXED);
	ft__owner_process_end(owner, code < 0);
	/* An end the process noted as clean left only words whose holder
	 * ended (owner.h, 1), which every taker judges itself: no walk.
	 * A death (even after the note) leaves DIED words to mark. */
	if (flags & W_MAY_OWN)
		ft__repair_dead_owners(code < 0 || !(flags & W_CLEAN_END));
	ft__owner_process_retire(owner);
	ft__worker_finish(w, code);
}

void ft__repair_dead_owners(bool walk)
{
	ft__lockword_repair(ft__arena_lockword(), 0);
	ft__registry_repair();
	if (walk)
		ft__types_repair();
	/* Outside the registry's lock: finishing may free a record, which
	 * takes it.  A settled record is no longer selected. */
	ft__workers_each(orphaned, settle_orphan, NULL);
}
