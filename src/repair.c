/* SPDX-License-Identifier: MIT */
/*
 * After a process worker ends, free what dead workers left behind: owner
 * words (arena, Lock, RLock, internal ones) whose holder no longer exists (marked OWNER_DIED, sleepers woken),
 * and worker records of processes that died with nobody left to reap them
 * (their creator died too).  A walk of the whole arena: rare, and cheap
 * next to a process exit.
 */
#include <signal.h>

#include "arena.h"
#include "lockword.h"
#include "queue/queue.h"
#include "sys.h"
#include "worker.h"

static void repair_worker(ft_worker_t *w)
{
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

void ft__repair_after_death(ft_worker_t *w)
{
	/* Read after the reap: every store of the dead process is visible. */
	if (__atomic_load_n(&w->flags, __ATOMIC_RELAXED) & W_MAY_OWN)
		ft__repair_dead_owners();
}

void ft__repair_dead_owners(void)
{
	uint32_t tag;

	ft__lockword_repair(ft__arena_lockword());
	for (void *p = ft__arena_next(NULL, &tag); p; p = ft__arena_next(p, &tag)) {
		switch (tag) {
		case FT__TAG_WORKER:
			repair_worker(p);
			break;
		case FT__TAG_LOCK:
		case FT__TAG_RLOCK:
		case FT__TAG_BARRIER:
			/* Each of these begins with its owner word. */
			ft__lockword_repair(p);
			break;
		case FT__TAG_QUEUE:
		case FT__TAG_SIMPLE_QUEUE:
			ft__queue_repair(p);
			break;
		}
	}
}
