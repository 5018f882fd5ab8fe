/* SPDX-License-Identifier: MIT */
/*
 * The manager: one thread per engine in the creating process (Python's
 * executor management thread).  It sleeps on the engine's ctl word and on
 * the program's ends word at once, and on each wake:
 *  - runs the done-callbacks finishers handed over (cb stack);
 *  - settles each worker that ended (E6) and starts its replacement;
 *  - kills a process worker whose task passed its time limit;
 *  - once the engine is shut and every worker gone, says so and ends.
 * Sleeps are cut into 1 s slices: a worker's end that bumps nothing (a
 * thread killed alone) is still found.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "executor/executor.h"
#include "runtime/runtime.h"
#include "wait/wait.h"
#include "worker/worker.h"

/*
 * The engines this process created, to stop their managers at its exit
 * (FT__EXIT_HOOK): an exit kills the process workers, and a manager that
 * saw them die would free their records under the exit's joins and
 * start replacements.  Process-local; a forked child starts empty.
 */
struct engine_node {
	struct ft__engine *e;
	struct engine_node *next;
};
static pthread_mutex_t engines_lock = PTHREAD_MUTEX_INITIALIZER;
static struct engine_node *engines;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void engines_after_fork(void)
{
	/* The child has none of the parent's managers; the nodes are the
	 * parent's (left, as a forked child's heap is never returned). */
	engines = NULL;
	pthread_mutex_init(&engines_lock, NULL);
}

static void register_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, engines_after_fork);
}

static void stop_managers(void)
{
	pthread_mutex_lock(&engines_lock);
	struct engine_node *list = engines;
	engines = NULL;
	pthread_mutex_unlock(&engines_lock);
	while (list) {
		struct engine_node *next = list->next;
		struct ft__engine *e = list->e;
		ft__store_release(&e->stop, 1);
		ft__engine_poke(e);
		/* exit() from a done-callback runs on the manager itself. */
		if (e->manager_started && !pthread_equal(e->manager, pthread_self())) {
			pthread_join(e->manager, NULL);
			e->manager_started = false;
		}
		free(list);
		list = next;
	}
}
FT__EXIT_HOOK(managers_exit_hook, stop_managers);

static void run_callbacks(struct ft__engine *e)
{
	struct ft_future *f = __atomic_exchange_n(&e->cb_stack, NULL,
						  __ATOMIC_ACQUIRE);
	while (f) {
		struct ft_future *next = f->cb_next;
		ft__future_run_callbacks(f);
		ft__future_unref(f);  /* the reference the finisher handed over */
		f = next;
	}
}

/* Whether a slot whose worker ended gets a new one. */
static bool replace(struct ft__engine *e)
{
	if (ft__load_acquire(&e->terminated))
		return false;
	uint32_t st = ft__load_acquire(&e->state);
	return st == E_OPEN ||
	       (st == E_SHUTDOWN && ft_simple_queue_empty(e->q) == 0);
}

void ft__manager_worker_ended(struct ft__engine *e, size_t i)
{
	struct ft__slot *s = &e->slot[i];
	uintptr_t kill = ft__load_acquire(&s->kill_for);
	struct ft_future *target = (struct ft_future *)(kill & ~(uintptr_t)KILL_REASON);
	int kill_code = (kill & KILL_REASON) == KILL_TIME_LIMIT ? -ETIMEDOUT
								 : -ECANCELED;
	bool in_init = ft__load_acquire(&s->phase) == S_INIT;
	struct ft__task_msg m = s->msg;
	struct ft_future *f = m.f ? ft__msg_future(&m) : NULL;
	if (f && ft__future_runner(f) == i) {
		/* Killed on purpose only inside this very task (E7). */
		int code = target == f && !ft__load_acquire(&e->terminated)
				   ? kill_code
				   : -ESRCH;
		ft__future_finish_seq(f, m.seq, F_RUNNING, code, true);
	}
	if (f && ft__future_phase(f) == F_PENDING) {
		/* Taken, not yet claimed (E4): its message is still queued,
		 * or gone with the worker.  Queue it again; the claim (E1)
		 * runs it once either way.  A shut queue ends it. */
		if (ft_simple_queue_put(e->q, &m, sizeof(m)) < 0)
			ft__future_finish_seq(f, m.seq, F_PENDING,
					      ft__engine_closed(e) == -EPIPE
						      ? -EPIPE
						      : -ECANCELED,
					      true);
	}
	s->msg.f = NULL;
	s->kill_for = 0;
	s->kill_sent = false;
	s->in_task = T_OUT;
	ft_worker_t *w = s->w;
	ft__store_release(&s->w, NULL);
	ft_worker_free(w);
	if (in_init && !ft__load_acquire(&e->terminated)) {
		ft__engine_break(e);
		return;
	}
	if (replace(e))
		ft__engine_start_worker(e, i);  /* on failure: next round */
}

/* Kill the worker of slot @s if its task ran past the limit; else lower
 * *@next to when it will. */
static void check_time_limit(struct ft__engine *e, struct ft__slot *s,
			     int64_t *next)
{
	struct ft__task_msg m = s->msg;
	struct ft_future *f = m.f ? ft__msg_future(&m) : NULL;
	if (!f || ft__future_runner(f) != s->index || s->kill_for)
		return;
	int64_t start = ft__load_acquire(&f->started_ns);
	if (!start)
		return;
	int64_t end = start + (int64_t)(e->opt.task_time_limit * 1e9);
	if (ft__now_ns() >= end)
		ft__slot_kill_for(s, f, KILL_TIME_LIMIT);
	else if (end < *next)
		*next = end;
}

/*
 * Kill slot @s's worker if asked to: for a cancel or a time limit of the
 * task it runs now, or because the pool is terminated and it runs one.
 * Only inside the task (E7): a worker not (yet) in it is looked at again
 * a millisecond later.  Only the manager signals workers: it alone frees
 * their records, so it never signals a freed one.  Terminated, an idle
 * worker is left alone: it leaves its get with -ESHUTDOWN and ends
 * cleanly (an end that costs no repair walk).
 */
static void kill_if_asked(struct ft__engine *e, struct ft__slot *s,
			  int64_t *next)
{
	uintptr_t kill = ft__load_acquire(&s->kill_for);
	struct ft_future *target =
		(struct ft_future *)(kill & ~(uintptr_t)KILL_REASON);
	struct ft_future *cur = ft__load_acquire(&s->msg.f);
	bool terminated = ft__load_acquire(&e->terminated);
	if (kill && (target != cur || ft__future_runner(target) != s->index)) {
		/* The task it was asked for has ended or is not this
		 * worker's: nothing to kill for. */
		if (ft__future_is_done(target) ||
		    (ft__future_phase(target) == F_RUNNING &&
		     ft__future_runner(target) != s->index)) {
			/* A CAS: a proxy clears the word itself (E8) and a
			 * newer request may already be there. */
			__atomic_compare_exchange_n(&s->kill_for, &kill, 0,
						    false, __ATOMIC_ACQ_REL,
						    __ATOMIC_ACQUIRE);
			kill = 0;
		}
	}
	if (!kill && !(terminated && ft__load_acquire(&s->busy)))
		return;
	/* The very task asked for (E7's tag); terminated, whichever runs. */
	uint32_t in = ft__load_acquire(&s->in_task);
	if (kill)
		in = T_IN_SEQ(__atomic_load_n(&target->ss, __ATOMIC_ACQUIRE) >> 32);
	if ((in & T_PHASE) == T_IN &&
	    ft__cas_acq_rel(&s->in_task, &in, T_KILLING)) {
		if (e->runner) {
			/* (E8) The proxy settles it and clears in_task. */
			e->runner->kill(s);
			ft__store_release(&s->kill_done, 1);
			ft__wake(&s->kill_done, 1);
			return;
		}
		ft_worker_kill(s->w);
		s->kill_sent = true;
		return;
	}
	int64_t soon = ft__now_ns() + 1000000;
	if (soon < *next)
		*next = soon;
}

/* One look at every slot: true once the engine is shut and all gone. */
static bool look(struct ft__engine *e, int64_t *next)
{
	bool any = false;
	for (size_t i = 0; i < e->nslots; i++) {
		struct ft__slot *s = &e->slot[i];
		/* Shut, drained, and this worker between tasks: it is on its
		 * way out (at most one task from it, taken just before).
		 * Join it here (the creator's join reaps through waitid
		 * itself), not later through the supervisor, which looks at
		 * new children only every 10 ms. */
		if (s->w && ft__load_acquire(&e->state) != E_OPEN &&
		    !ft__load_acquire(&s->busy) &&
		    ft_simple_queue_empty(e->q) == 1)
			ft_worker_join(s->w, FT_FOREVER);
		if (s->w && ft_worker_is_alive(s->w) == 0)
			ft__manager_worker_ended(e, i);
		else if (!s->w && replace(e))
			ft__engine_start_worker(e, i);
		if (s->w) {
			any = true;
			if (e->opt.task_time_limit > 0)
				check_time_limit(e, s, next);
			if ((e->processes || e->runner) && !s->kill_sent)
				kill_if_asked(e, s, next);
		}
	}
	return !any && ft__load_acquire(&e->state) != E_OPEN;
}

static void *manager_main(void *arg)
{
	struct ft__engine *e = arg;
	uint32_t *ends = ft__worker_ends_word();
	for (;;) {
		uint32_t v = ft__load_acquire(&e->ctl);
		if (ft__load_acquire(&e->stop))
			return NULL;  /* the process exits (stop_managers) */
		run_callbacks(e);
		int64_t next = INT64_MAX;
		if (look(e, &next))
			break;
		/* Mark the ends word, then look at the workers again: an end
		 * before the mark bumped nobody (worker_wait.c's handshake). */
		uint32_t cur = ft__load_acquire(ends);
		if (!(cur & ENDS_SLEEPERS) &&
		    !ft__cas_acq_rel(ends, &cur, cur | ENDS_SLEEPERS))
			continue;
		bool ended = false;
		for (size_t i = 0; i < e->nslots && !ended; i++)
			ended = e->slot[i].w &&
				ft__worker_phase(e->slot[i].w) == W_DONE;
		if (ended)
			continue;
		struct timespec until;
		int64_t slice = ft__now_ns() + 1000000000;
		if (next > slice)
			next = slice;
		until.tv_sec = next / 1000000000;
		until.tv_nsec = next % 1000000000;
		struct ft__wait_word wv[2] = {
			{ &e->ctl, v },
			{ ends, cur | ENDS_SLEEPERS },
		};
		ft__waitv(wv, 2, &until);
	}
	run_callbacks(e);
	ft__store_release(&e->workers_gone, 1);
	ft__wake(&e->workers_gone, 0x7fffffff);
	/* Callbacks handed over after the last look: none can come, as no
	 * worker is left and the creator's own finishers run them. */
	return NULL;
}

int ft__manager_start(struct ft__engine *e)
{
	struct engine_node *n = malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	pthread_once(&atfork_once, register_atfork);
	sigset_t all, old;
	sigfillset(&all);
	/* The manager never runs the program's signal handlers. */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&e->manager, NULL, manager_main, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		free(n);
		return -r;
	}
	e->manager_started = true;
	n->e = e;
	pthread_mutex_lock(&engines_lock);
	n->next = engines;
	engines = n;
	pthread_mutex_unlock(&engines_lock);
	return 0;
}

void ft__manager_join(struct ft__engine *e)
{
	pthread_mutex_lock(&engines_lock);
	for (struct engine_node **p = &engines; *p; p = &(*p)->next)
		if ((*p)->e == e) {
			struct engine_node *n = *p;
			*p = n->next;
			free(n);
			break;
		}
	pthread_mutex_unlock(&engines_lock);
	if (e->manager_started)
		pthread_join(e->manager, NULL);
	e->manager_started = false;
}
