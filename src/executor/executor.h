/* SPDX-License-Identifier: MIT */
/*
 * Layer 6: executors, pools and futures.  One engine serves both the
 * executor (concurrent.futures) and the pool (multiprocessing.Pool):
 * workers take task messages from a SimpleQueue, claim the future the
 * message names, run it and finish it; a manager thread in the creating
 * process replaces workers that end or die, enforces time limits and runs
 * done-callbacks.  The invariants are numbered here and in docs/DESIGN.md
 * (Executors).
 */
#ifndef FT_EXECUTOR_H
#define FT_EXECUTOR_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "arena/arena.h"
#include "base/atomic.h"
#include "freethreading.h"

/* Object tags of this layer (arena.h's enum ends at FT__TAG_SLAB). */
enum {
	FT__TAG_FUTURE = FT__TAG_SLAB + 0x100,
	FT__TAG_EXECUTOR,
	FT__TAG_POOL,
};

/*
 * A future's word: the futex word tasks finish on, in the low half of a
 * 64-bit word whose high half is the submission's sequence number.
 *   bits 0..3 phase: PENDING -> RUNNING -> FINISHED, or PENDING ->
 *             CANCELLED or BROKEN (or RUNNING -> FINISHED by the manager for a dead
 *             worker, RUNNING -> PENDING to run again a task whose worker
 *             we killed for another)
 *   SLEEPERS  someone sleeps on the word: the finisher wakes it
 *   HAS_CB    done-callbacks are registered: a finisher hands the future
 *             to the manager (cb stack) instead of dropping its reference
 *   bits 8..31 while RUNNING, the claiming worker's slot: set by the
 *             claim's CAS itself, so a worker killed right after its
 *             claim is still known as the runner
 * (E1) Claims are a 64-bit CAS on (seq, PENDING): a stale queue message
 *      (a cancelled future's, or one left by a worker killed mid-get)
 *      whose block was freed, even reused for another future, never
 *      claims anything.
 * (E2) The terminal transition (to FINISHED or CANCELLED) is one CAS,
 *      made after the result and output are written: exactly one side
 *      finishes, and whoever sees the phase sees the result.
 */
#define F_PENDING   0u
#define F_RUNNING   1u
#define F_FINISHED  2u
#define F_CANCELLED 3u
#define F_BROKEN    4u  /* never ran: its engine broke (-EPIPE) */
#define F_PHASE     0xfu
#define F_SLEEPERS  0x10u
#define F_HAS_CB    0x20u
#define F_RUNNER_SHIFT 8   /* RUNNING: the slot index of its worker */

enum { F_TASK, F_GROUP };

struct ft__engine;

struct ft_future {
	union {
		uint64_t ss;        /* seq << 32 | state */
		uint32_t half[2];
	};
	/* (E3) References: the caller's handle, the engine's while the
	 * task is not finished, the manager's while the future is on the
	 * callback stack, a group's on its chunks.  The last one frees. */
	uint32_t refs;
	uint32_t handle_freed;       /* ft_future_free was called */
	int32_t result;
	uint32_t kind;
	uint32_t failed_at;          /* a failed chunk: its failing item */
	int64_t started_ns;          /* CLOCK_MONOTONIC, once RUNNING */
	struct ft__engine *eng;
	ft_task_fn fn;
	const char *in;              /* n items of in_size */
	char *out;                   /* n results of out_size */
	size_t in_size, out_size, n;
	void *own_in, *own_out;      /* arena blocks to free with it */
	/* A chunk: its group and first item.  A group: its chunks. */
	struct ft_future *group;
	size_t first;
	struct ft_future **chunks;
	size_t nchunks;
	uint32_t chunks_left;        /* a group: chunks not yet done */
	uint32_t imap_next;          /* an imap iterator: next chunk/item */
	size_t imap_item;            /* items yielded */
	size_t imap_item_in_chunk;   /* unordered: next item of imap_next */
	uint32_t imap_kind;          /* 0 not imap, 1 ordered, 2 unordered */
	bool *imap_seen;             /* unordered: chunks yielded (arena) */
	/* Callbacks: process-local memory of the creating process, under
	 * cb_lock (a spin word: held for a few stores, and a lock in the
	 * arena, not the process, so a fork copies none held). */
	uint32_t cb_lock;
	void *cbs;
	struct ft_future *cb_next;   /* the manager's callback stack */
	ft_done_fn on_ok, on_err;    /* apply_async / map_async */
	void *on_arg;
	char data[];                 /* inline input, then output */
};

static inline uint32_t *ft__future_word(struct ft_future *f)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return &f->half[0];
#else
	return &f->half[1];
#endif
}

static inline uint32_t ft__future_phase(struct ft_future *f)
{
	return ft__load_acquire(ft__future_word(f)) & F_PHASE;
}

/* The slot of the worker running @f, or UINT32_MAX if not RUNNING. */
static inline uint32_t ft__future_runner(struct ft_future *f)
{
	uint32_t w = ft__load_acquire(ft__future_word(f));
	return (w & F_PHASE) == F_RUNNING ? w >> F_RUNNER_SHIFT : UINT32_MAX;
}

static inline bool ft__future_is_done(struct ft_future *f)
{
	return ft__future_phase(f) >= F_FINISHED;
}

/* CLOCK_MONOTONIC in nanoseconds: task start times and time limits. */
static inline int64_t ft__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The message a worker takes: which future, which submission of it. */
struct ft__task_msg {
	struct ft_future *f;
	uint64_t seq;
};

/* A worker's place in the engine (arena): the queue's get copies the
 * message straight into it, so a worker killed at any point leaves the
 * message either still queued or here (E4). */
struct ft__slot {
	struct ft__engine *eng;
	ft_worker_t *w;
	struct ft__task_msg msg;  /* the task taken last; f NULL when idle */
	uint32_t phase;           /* S_INIT, S_READY */
	uint32_t busy;            /* between a get's return and the end of
				   * its task (the manager's shutdown join) */
	uint32_t in_task;         /* T_* (E7) */
	uint32_t index;
	/* Set (one CAS from 0) to have the manager kill the worker on
	 * purpose: the future it is killed for, with the reason in the low
	 * bits (KILL_*: futures are 16-byte aligned). */
	uintptr_t kill_for;
	bool kill_sent;           /* the manager has sent SIGKILL */
	/* A runner's slot (E8): its process-local state, and the word the
	 * manager sets once its kill has been sent. */
	void *runner;
	uint32_t kill_done;
};
/* (E7) Workers are killed on purpose only inside a task's function:
 * the worker stores T_IN (tagged with the task's submission number)
 * before the call and CASes it to T_OUT after it; the manager CASes that
 * exact value to T_KILLING before it sends SIGKILL, and a worker whose
 * CAS finds T_KILLING waits for the signal.  So a kill of ours never
 * lands in the bookkeeping around a task (the finish, its reference
 * drops), which a death there would leave half done; and the tag keeps
 * a kill meant for one task off the next one the worker took meanwhile. */
#define T_OUT     0u
#define T_IN      1u
#define T_KILLING 2u
#define T_PHASE   3u
#define T_IN_SEQ(seq) (T_IN | (uint32_t)(seq) << 2)
#define KILL_TIME_LIMIT 1u   /* the future ends -ETIMEDOUT */
#define KILL_CANCEL     2u   /* the future ends -ECANCELED */
#define KILL_REASON     3u
/* Ask for slot @s's worker to be killed for @f: false if another reason
 * was asked first. */
static inline bool ft__slot_kill_for(struct ft__slot *s, struct ft_future *f,
				     uintptr_t reason)
{
	uintptr_t none = 0;
	return __atomic_compare_exchange_n(&s->kill_for, &none,
					   (uintptr_t)f | reason, false,
					   __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}
#define S_INIT  0u
#define S_READY 1u

/*
 * (E8) A task runner runs a slot's tasks somewhere other than the slot's
 * worker: the sandbox layer's isolated processes, each driven by a thread
 * worker of the engine (its proxy).  A layer above plugs in without the
 * engine calling up: the policy given as ft_pool_options.sandbox starts
 * with a pointer to these operations.  The kill protocol stays E7's: the
 * manager CASes the slot's in_task T_IN -> T_KILLING, calls kill, then
 * sets kill_done; a proxy whose own CAS found T_KILLING calls killed,
 * which waits for kill_done, so nothing the manager signals is reaped
 * (and its pid reused) before the signal is sent.
 */
struct ft__task_runner {
	/* The engine's own copy of @policy; NULL and errno on failure. */
	void *(*copy)(const void *policy);
	void (*release)(void *ctx);
	/* Have slot @s's runner ready (started, initializer run; no-op if
	 * it is): 0, or a negative code that breaks the engine. */
	int (*start)(void *ctx, struct ft__slot *s,
		     const struct ft_pool_options *o);
	/* Run @f's items: 0, the task's code, -ESRCH (what ran it died),
	 * -EPROTO (it broke the protocol; it is killed).  Sets failed_at. */
	int (*run)(struct ft__slot *s, struct ft_future *f);
	/* Reap what run() saw end; between tasks, after the kill protocol. */
	void (*settle)(struct ft__slot *s);
	/* The manager's kill, after its T_IN -> T_KILLING. */
	void (*kill)(struct ft__slot *s);
	/* The proxy's side of a kill: wait for kill_done, then settle. */
	void (*killed)(struct ft__slot *s);
	/* The slot's worker ends: stop and reap, free the state. */
	void (*stop)(struct ft__slot *s);
};

/* Engine states. */
#define E_OPEN     0u
#define E_SHUTDOWN 1u  /* no more tasks; workers drain and exit */
#define E_BROKEN   2u  /* an initializer failed */

struct ft__engine {
	uint32_t tag_kind;         /* FT__TAG_EXECUTOR or FT__TAG_POOL */
	uint32_t state;            /* E_* */
	uint32_t ctl;              /* bumped to wake the manager (futex) */
	uint32_t terminated;
	uint32_t stop;             /* the creating process exits */
	int32_t creator;           /* pid of the creating process */
	int32_t broken_code;
	unsigned flags;            /* worker flags, kind resolved */
	bool processes;
	struct ft_pool_options opt;
	ft_simple_queue_t *q;
	uint32_t seq;              /* submissions (creator only) */
	struct ft_future *cb_stack; /* futures whose callbacks are due */
	size_t nslots;
	uint32_t workers_gone;     /* all exited after shutdown */
	pthread_t manager;         /* the creator's manager thread */
	/* The creating thread's signal mask, which every worker takes on:
	 * replacements are started by the manager, which blocks all. */
	sigset_t mask;
	bool manager_started;
	/* A runner's engine (E8): its operations and policy copy. */
	const struct ft__task_runner *runner;
	void *runner_ctx;
	struct ft__slot slot[];
};

/* engine.c */
/* The calling process's pid, cached (reset in forked children). */
pid_t ft__self_pid(void);
struct ft__engine *ft__engine_new(uint32_t tag, int workers,
				  const struct ft_pool_options *opt);
/* Check @e as a live engine of @tag used by its creator: 0, -EINVAL,
 * -EBADF, -ECHILD. */
int ft__engine_check(struct ft__engine *e, uint32_t tag);
/* Queue future @f (refs taken); 0 or -ESHUTDOWN/-EPIPE/-ENOMEM. */
int ft__engine_queue(struct ft__engine *e, struct ft_future *f);
/* Start (or restart) the worker of slot @i: 0 or -errno. */
int ft__engine_start_worker(struct ft__engine *e, size_t i);
/* Stop taking tasks; with @cancel, cancel what is queued. */
void ft__engine_shutdown(struct ft__engine *e, bool cancel);
/* Wait until every worker has exited (after shutdown): 0 or -ETIMEDOUT. */
int ft__engine_join(struct ft__engine *e, const struct timespec *abs);
/* Join the manager thread and free the engine (workers gone). */
void ft__engine_free(struct ft__engine *e);
/* The engine broke (an initializer failed): pending tasks end -EPIPE. */
void ft__engine_break(struct ft__engine *e);
/* Kill every process worker (pool terminate). */
void ft__engine_kill_workers(struct ft__engine *e);
/* Wake the manager. */
void ft__engine_poke(struct ft__engine *e);
/* -ESHUTDOWN or -EPIPE when no more tasks are taken, else 0. */
int ft__engine_closed(struct ft__engine *e);

/* executor.c, shared with the pool */
struct ft_future *ft__submit(struct ft__engine *e, ft_task_fn fn,
			     const void *in, size_t in_size, size_t out_size);
int ft__map_args(struct ft__engine *e, ft_task_fn fn, const void *items,
		 size_t n, const void *results, size_t chunksize);

/* manager.c */
int ft__manager_start(struct ft__engine *e);
void ft__manager_join(struct ft__engine *e);
/* Handle the end of slot @i's worker (manager, or a joiner). */
void ft__manager_worker_ended(struct ft__engine *e, size_t i);

/* future.c */
/* A new future with @inline_bytes of inline data; refs 1 (the caller's). */
struct ft_future *ft__future_new(struct ft__engine *e, uint32_t kind,
				 size_t inline_bytes);
void ft__future_ref(struct ft_future *f);
void ft__future_unref(struct ft_future *f);
/* Terminal transition from @from to FINISHED with @code (or CANCELLED
 * when @code is -ECANCELED and @from PENDING): true if this call made it.
 * Wakes sleepers, settles the group, hands callbacks over or runs them
 * (@in_creator: the caller is the creating process and may run them),
 * and drops the engine's reference. */
bool ft__future_finish(struct ft_future *f, uint32_t from, int code,
		       bool run_callbacks_here);
/* The same for the submission @seq only (a queue message's), so a block
 * freed and reused meanwhile is never touched (E1). */
bool ft__future_finish_seq(struct ft_future *f, uint64_t seq, uint32_t from,
			   int code, bool run_callbacks_here);
/* A queue message's future, if it still is that submission: the future,
 * else NULL. */
struct ft_future *ft__msg_future(const struct ft__task_msg *m);
/* Run the done-callbacks of @f now (creating process). */
void ft__future_run_callbacks(struct ft_future *f);
/* Sleep until @f is done or @abs: 0 done, -ETIMEDOUT, -EAGAIN (abs now). */
int ft__future_wait_done(struct ft_future *f, const struct timespec *abs);
/* Bumped by every future's end: the wake of waits over many futures. */
uint32_t *ft__future_ends_word(void);
#define FENDS_SLEEPERS 1u

/* map.c */
/* Split @n items into chunks of @chunksize, queue them under a group
 * future (refs: the caller's).  @copy_in: copy the items into the arena;
 * results go to the group's own buffer unless @results_direct. */
struct ft_future *ft__map_start(struct ft__engine *e, ft_task_fn fn,
				const void *items, size_t n, size_t in_size,
				void *results_direct, size_t out_size,
				size_t chunksize, bool copy_in, int *err);
/* The group's code: 0, or the first failing chunk's in item order. */
int ft__group_code(struct ft_future *g);
/* Cancel the group's chunks that have not started. */
void ft__group_cancel_pending(struct ft_future *g);
/* Zeroed arena memory tagged SHARED (freed by the future holding it);
 * NULL when the arena is full. */
void *ft__arena_buf(size_t size);
/* Wait until the futures of @fs are done as @mode says (FT_*_COMPLETED)
 * or @d passes; @skip[i] set: leave fs[i] out.  Returns how many are
 * done (of those not skipped), filling @done if not NULL. */
int ft__futures_wait(struct ft_future *const *fs, size_t n, int mode,
		     struct ft__deadline *d, const bool *skip, bool *done);
/* Whether the future ended in failure (FT_FIRST_EXCEPTION). */
bool ft__future_failed(struct ft_future *f);
/* Whether memory [p, p + len) lies in the arena (shared as it is). */
bool ft__in_arena(const void *p, size_t len);
/* Copy the results of group @g to @out. */
void ft__group_copy_out(struct ft_future *g, void *out);
/* Blocking map over engine @e: 0 or the first failure in order. */
int ft__map_blocking(struct ft__engine *e, ft_task_fn fn, const void *items,
		     size_t n, size_t in_size, void *results, size_t out_size,
		     size_t chunksize, struct ft__deadline *d);

#endif
