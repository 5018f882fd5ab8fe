/* SPDX-License-Identifier: MIT */
/*
 * After a process worker dies, free what dead workers left behind: owner
 * words whose holder no longer exists (marked OWNER_DIED, sleepers woken)
 * and worker records of processes that died with nobody left to reap them
 * (their creator died too).  One walk of the arena, each object handed to
 * its type's repair hook (type.h); run only after the death of a process
 * that noted it may have left something (W_MAY_OWN).
 */
#include <signal.h>

#include "arena/arena.h"
#include "lockword/lockword.h"
#include "base/sys.h"
#include "arena/type.h"
#include "worker/worker.h"

static void repair_worker(void *obj)
{
	ft_worker_t *w = obj;
	/* The phase first: a RUNNING record's fields are filled in. */
	if (ft__worker_phase(w) != W_RUNNING || (w->flags & (W_MAIN | W_DUMMY)))
		return;
	uint32_t id = __atomic_load_n(&w->ident, __ATOMIC_ACQUIRE);
	if (id == 0 || id == IDENT_WAITING || w->creator_pid == 0 ||
	    ft__sys_tid_exists(w->creator_pid))
		return;
	/* Its creator is gone, so nobody will reap it.  A thread died with
	 * its process.  A process is killed by its parent-death signal, but
	 * maybe only after this pass: then watch it until it dies. */
	if ((w->flags & W_IS_PROCESS) && ft__sys_tid_exists((pid_t)id)) {
		int32_t none = 0;
		if (__atomic_compare_exchange_n(&w->adopter, &none, (int32_t)getpid(),
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			ft__supervise_orphan(w, (pid_t)id);
		return;
	}
	ft__worker_finish(w, -SIGKILL);
}

FT__TYPE(worker_type) = { FT__TAG_WORKER, repair_worker, NULL };

void ft__repair_after_death(ft_worker_t *w)
{
	/* Read after the reap: every store of the dead process is visible. */
	if (__atomic_load_n(&w->flags, __ATOMIC_RELAXED) & W_MAY_OWN)
		ft__repair_dead_owners();
}

void ft__repair_dead_owners(void)
{
	ft__lockword_repair(ft__arena_lockword());
	ft__types_repair();
}
