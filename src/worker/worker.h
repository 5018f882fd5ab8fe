/* SPDX-License-Identifier: MIT */
/*
 * Layer 4: workers.  A worker record lives in the arena so every process
 * of the program can see, join and enumerate it.
 */
#ifndef FT_WORKER_H
#define FT_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>
#include <unistd.h>

#include "base/atomic.h"
#include "freethreading.h"

/*
 * state: a futex word.
 *   bits 0..7  phase: NEW -> RUNNING -> DONE (NEW again if a start fails)
 *   DETACHED   the handle was freed while running: whoever finishes the
 *              worker frees the record
 *   SLEEPERS   someone sleeps waiting for DONE: the finisher must wake
 */
#define W_NEW      0u
#define W_RUNNING  1u
#define W_DONE     2u
#define W_PHASE    0xffu
#define W_DETACHED 0x100u
#define W_SLEEPERS 0x200u

/* flags: the public FT_WORKER_* bits, plus these. */
#define W_IS_PROCESS 0x100u /* resolved at start from flags and backend */
#define W_MAIN       0x200u
#define W_DUMMY      0x400u
/* Set by a process worker itself once it has taken an owner word or
 * started a worker (ft__note_may_own): its reaper repairs only then. */
#define W_MAY_OWN    0x800u
/* Set by a process worker ending through its target's return or exit()
 * as its only thread (exit.c): its reaper need not walk the arena. */
#define W_CLEAN_END  0x1000u

/* ident while a just-started thread has not published its tid yet, and
 * someone sleeps waiting for it. */
#define IDENT_WAITING 0x80000000u

/*
 * A process worker's isolation, set by a layer above (the sandbox, in the
 * process that will start the worker): entered in the child, after the
 * fork and before the target, it returns with the child cut off from the
 * arena (or ends the child).  The starting process releases it once the
 * child is forked; the child runs on its own copy.
 */
struct ft__isolation {
	void (*enter)(struct ft__isolation *self);
	void (*release)(struct ft__isolation *self);
};

struct ft_worker {
	uint32_t state;
	uint32_t flags;
	uint32_t ident;       /* tid or pid; futex word until published */
	int32_t exitcode;
	int32_t creator_pid;  /* the process that started it */
	int32_t adopter;      /* process watching it since its creator died */
	ft_target_fn target;           /* one of the two is set */
	ft_void_target_fn void_target;
	void *arg;
	ft_worker_t *reg_next, *reg_prev; /* the registry (registry.c) */
	uint32_t owner_process; /* a process worker's owner slot (owner.h) */
	/* Process-local to isolation_pid, which alone may start it. */
	struct ft__isolation *isolation;
	int32_t isolation_pid;
	char name[FT_WORKER_NAME_MAX + 1];
};

static inline uint32_t ft__worker_phase(const ft_worker_t *w)
{
	return __atomic_load_n(&w->state, __ATOMIC_ACQUIRE) & W_PHASE;
}

/* The record of the calling worker (TLS), or NULL if none yet. */
extern FT__TLS ft_worker_t *ft__self;

/* In a process worker's child, from fork on, its own record; else NULL
 * (sanitizer.c). */
extern ft_worker_t *ft__process_record;
/* This process has started a worker (so its exit has some to join). */
extern bool ft__workers_started;
/* Process worker @w has ended with @code (reaped, or known gone): end
 * its owner slot, repair what it may have left, finish the record. */
void ft__process_ended(ft_worker_t *w, int code);
ft_worker_t *ft__main_worker(void);

/* The registry of records (registry.c).  Put a new record on it. */
void ft__worker_register(ft_worker_t *w);
/* Take @w off the registry and free its block: 0, or -EBADF if someone
 * else freed it first. */
int ft__worker_release(ft_worker_t *w);
/* Store in @out (up to @cap) the records for which @match is true, in
 * creation order; returns how many matched.  @match runs holding the
 * registry's lock: it may only read the record. */
size_t ft__workers_collect(ft_worker_t **out, size_t cap,
			   bool (*match)(ft_worker_t *w, void *ctx), void *ctx);
/* Call @act on each record @match selects, a batch at a time, outside the
 * registry's lock (@act may join, finish or free; it must leave the
 * record no longer selected). */
void ft__workers_each(bool (*match)(ft_worker_t *w, void *ctx),
		      void (*act)(ft_worker_t *w, void *ctx), void *ctx);
/* Free the registry's lock if its holder died (repair pass). */
void ft__registry_repair(void);

/* Mark @w ended with @code; frees it if detached, wakes joiners. */
void ft__worker_finish(ft_worker_t *w, int code);

/*
 * Process workers (supervisor.c).  Reap the child (@pidfd if >= 0, else
 * @pid) if it has ended, or with @block once it does: 1 if this call
 * reaped it and finished @w, 0 if it still runs, -ECHILD if someone else
 * reaped it (then @w may already be gone: don't touch it).
 */
int ft__process_reap(ft_worker_t *w, pid_t pid, int pidfd, bool block);
/* For joiners in the process that forked @w: reap it here through a dup
 * of the supervisor's pidfd, as ft__process_reap does (1 reaped and
 * finished, 0 not), or 0 at once where the supervisor has no pidfd for
 * it (the reaper thread reaps it then). */
int ft__reap_here(ft_worker_t *w, bool block);
/* Send @sig to @w's child, which this process forked: through its pidfd
 * where the supervisor has one.  0 or -errno. */
int ft__signal_child(ft_worker_t *w, int sig);
/* Fork @w's process now, from the calling thread (worker_start.c); the
 * child restores @mask if given. */
int ft__spawn_process(ft_worker_t *w, const sigset_t *mask);
/* Have the supervisor thread fork @w (for callers other than a process's
 * main thread). */
int ft__spawn_via_supervisor(ft_worker_t *w);
/* Watch a started child so it is reaped and repaired even if nobody joins. */
void ft__supervise(ft_worker_t *w, pid_t pid);
/* How process workers are watched, and how threads start, in words for
 * ft_runtime_info (each probes what the kernel lets us use). */
const char *ft__supervisor_path(void);
const char *ft__thread_spawn_path(void);
/* Watch a process worker whose creator died (it cannot be reaped here):
 * finish its record when it dies. */
void ft__supervise_orphan(ft_worker_t *w, pid_t pid);
/* Reset per-process supervisor state in a forked child. */
void ft__supervisor_after_fork(void);

/* After a process worker that may have owned something ended: free owner
 * words whose holder is gone (@walk: walk the arena for them) and settle
 * the records of workers orphaned with it. */
void ft__repair_dead_owners(bool walk);

/* What a process does as it ends with @status (exit.c): with 0, join its
 * non-daemon children (for at most the exit timeout); else, or past it,
 * terminate its non-daemon process children; kill what still runs as a
 * process.  At the end of a process worker, and from on_exit(3). */
void ft__workers_shutdown(int status);
void ft__workers_on_exit(int status, void *arg);

/* Run @w's target: its exit code (0 for a void target). */
static inline int ft__run_target(ft_worker_t *w)
{
	if (w->void_target) {
		w->void_target(w->arg);
		return 0;
	}
	return w->target(w->arg);
}
/* End the calling thread worker @w with @code (pthread_exit). */
_Noreturn void ft__thread_exit(int code);
/* End the calling process worker with @code, as its target's return
 * does: join and kill what it started, flush stdio, _exit. */
_Noreturn void ft__process_exit(int code);
/* Bumped (and waited on) as any worker ends: the wake of ft_worker_wait
 * over more workers than one futex_waitv takes (registry.c). */
uint32_t *ft__worker_ends_word(void);
#define ENDS_SLEEPERS 1u   /* bit 0: someone waits; the count is in steps of 2 */

/* The modes of ft_worker_wait, shared by every wait over a set (the
 * executor's ft_wait): whether @mode names one, and whether it is met
 * with @done of @of ended, @failed telling if one ended in failure. */
static inline bool ft__wait_mode_valid(int mode)
{
	return mode == FT_FIRST_COMPLETED || mode == FT_FIRST_EXCEPTION ||
	       mode == FT_ALL_COMPLETED;
}

static inline bool ft__wait_mode_met(int mode, size_t done, size_t of,
				     bool failed)
{
	switch (mode) {
	case FT_FIRST_COMPLETED:
		return done > 0 || of == 0;
	case FT_FIRST_EXCEPTION:
		return failed || done == of;
	default:
		return done == of;
	}
}

int ft__join(ft_worker_t *w, const struct timespec *abs);
/* A thread worker of this process gone without its cleanup (killed alone
 * by a seccomp filter): finish its record with FT_EXITCODE_UNKNOWN and
 * return true (worker_join.c). */
bool ft__thread_vanished(ft_worker_t *w);

#endif
