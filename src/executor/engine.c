/* SPDX-License-Identifier: MIT */
/*
 * The engine under executors and pools: its workers, the queue of task
 * messages they take from, and the worker's loop.
 *
 * (E4) A worker takes a message with a get whose buffer is its own slot
 *      in the arena: the queue copies the message there before it drops
 *      it (queue invariant Q1), so a worker killed at any instant leaves
 *      the message queued, or in its slot, or both.  The manager queues
 *      a message it finds in a dead worker's slot with its future still
 *      PENDING again (it cannot tell "both" from "slot only"); the claim
 *      (E1) makes the copies run once.
 * (E6) A claimed task is finished by its worker, or, if that worker
 *      ends first, by the manager: with -ESRCH, or with the code it was
 *      killed for (time limit, cancel), which happens only inside the
 *      task (E7, executor.h).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "executor/executor.h"
#include "runtime/runtime.h"
#include "wait/wait.h"
#include "worker/worker.h"

/* getpid() without a system call: every pool call checks its creator.
 * Set at set-up and in each forked child. */
static pid_t self_pid;

pid_t ft__self_pid(void)
{
	return self_pid;
}

static void pid_after_fork(void)
{
	self_pid = getpid();
}

static int pid_setup(void)
{
	self_pid = getpid();
	return pthread_atfork(NULL, NULL, pid_after_fork) ? -ENOMEM : 0;
}
FT__SETUP_HOOK(pid_hook, pid_setup);

/* (E1) Claim the message's future for slot @s. */
static struct ft_future *claim(struct ft__slot *s)
{
	struct ft_future *f = s->msg.f;
	if (ft__arena_check(f, FT__TAG_FUTURE) < 0)
		return NULL;
	uint64_t cur = __atomic_load_n(&f->ss, __ATOMIC_ACQUIRE);
	do {
		if ((cur >> 32) != s->msg.seq ||
		    ((uint32_t)cur & F_PHASE) != F_PENDING)
			return NULL;
	} while (!__atomic_compare_exchange_n(
		&f->ss, &cur,
		(cur & ~(uint64_t)UINT32_MAX) | ((uint32_t)cur & ~F_PHASE) |
			F_RUNNING | s->index << F_RUNNER_SHIFT,
		false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	ft__store_release(&f->started_ns, ft__now_ns());
	return f;
}

/* Run each item of @f; stop at the first failure. */
static int run(struct ft_future *f)
{
	for (size_t k = 0; k < f->n; k++) {
		int code = f->fn(f->in + k * f->in_size,
				 f->out + k * f->out_size);
		if (code != 0) {
			f->failed_at = (uint32_t)k;
			return code;
		}
	}
	return 0;
}

/* A runner's task was killed on purpose (E8): its code. */
static int runner_killed(struct ft__engine *e, struct ft__slot *s,
			 struct ft_future *f)
{
	e->runner->killed(s);
	uintptr_t kill = ft__load_acquire(&s->kill_for);
	int code = -ESRCH;  /* a pool's terminate */
	if ((struct ft_future *)(kill & ~(uintptr_t)KILL_REASON) == f &&
	    !ft__load_acquire(&e->terminated))
		code = (kill & KILL_REASON) == KILL_TIME_LIMIT ? -ETIMEDOUT
							      : -ECANCELED;
	ft__store_release(&s->kill_done, 0);
	ft__store_release(&s->kill_for, 0);
	ft__store_release(&s->in_task, T_OUT);
	return code;
}

/* Have slot @s's runner ready: false if that failed, with the slot
 * marked S_INIT, so that the manager breaks the engine. */
static bool runner_ready(struct ft__engine *e, struct ft__slot *s)
{
	if (!e->runner || e->runner->start(e->runner_ctx, s, &e->opt) == 0)
		return true;
	ft__store_release(&s->phase, S_INIT);
	return false;
}

static int worker_loop(struct ft__engine *e, struct ft__slot *s)
{
	if (e->opt.initializer && !e->runner) {
		int r = e->opt.initializer(e->opt.initarg);
		if (r < 0)
			return 1;  /* still S_INIT: the manager breaks the engine */
		ft__store_release(&s->phase, S_READY);
	}
	unsigned done = 0, max = e->opt.max_tasks_per_worker;
	for (;;) {
		size_t len;
		if (!runner_ready(e, s))
			return 1;
		if (ft_simple_queue_get(e->q, &s->msg, sizeof(s->msg), &len,
					FT_FOREVER) < 0)
			break;  /* shut down and drained */
		ft__store_release(&s->busy, 1);
		/* Again: a runner's process may have died while we waited
		 * (the message stays in the slot for the manager, E4). */
		if (!runner_ready(e, s))
			return 1;
		struct ft_future *f = claim(s);
		if (f) {
			if (e->opt.task_time_limit > 0)
				ft__engine_poke(e);
			ft__store_release(&s->in_task, T_IN_SEQ(s->msg.seq));
			int code = e->runner ? e->runner->run(s, f) : run(f);
			uint32_t in = T_IN_SEQ(s->msg.seq);
			if (ft__cas_acq_rel(&s->in_task, &in, T_OUT)) {
				if (e->runner)
					e->runner->settle(s);
			} else if (e->runner) {
				code = runner_killed(e, s, f);
			} else {
				for (;;)
					pause();  /* T_KILLING: SIGKILL is on its way (E7) */
			}
			ft__future_finish(f, F_RUNNING, code, false);
		}
		ft__store_release(&s->msg.f, NULL);
		ft__store_release(&s->busy, 0);
		if (f && max && ++done >= max)
			break;
	}
	return 0;
}

static int worker_main(void *arg)
{
	struct ft__slot *s = arg;
	struct ft__engine *e = s->eng;
	pthread_sigmask(SIG_SETMASK, &e->mask, NULL);
	int r = worker_loop(e, s);
	if (e->runner)
		e->runner->stop(s);
	return r;
}

static int cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static int check_options(const struct ft_pool_options *o, bool *processes)
{
	if (o->flags & ~(FT_WORKER_PROCESS | FT_WORKER_THREAD) ||
	    (o->flags & FT_WORKER_PROCESS && o->flags & FT_WORKER_THREAD))
		return -EINVAL;
	if (isnan(o->task_time_limit) || o->task_time_limit < 0)
		return -EINVAL;
	if (o->sandbox) {
		/* Its processes are driven by thread workers (E8). */
		*processes = false;
		return o->flags & FT_WORKER_THREAD ? -EINVAL : 0;
	}
	*processes = o->flags & FT_WORKER_PROCESS ||
		     (!(o->flags & FT_WORKER_THREAD) && ft__multiprocessing);
	if (o->task_time_limit > 0 && !*processes)
		return -EOPNOTSUPP;
	return 0;
}

int ft__engine_start_worker(struct ft__engine *e, size_t i)
{
	struct ft__slot *s = &e->slot[i];
	/* A runner's initializer runs in its process (runner_ready). */
	s->phase = e->opt.initializer && !e->runner ? S_INIT : S_READY;
	s->msg.f = NULL;
	s->kill_for = 0;
	s->kill_sent = false;
	s->busy = 0;
	s->in_task = T_OUT;
	s->kill_done = 0;
	unsigned flags = FT_WORKER_DAEMON |
			 (e->processes ? FT_WORKER_PROCESS : FT_WORKER_THREAD);
	ft_worker_t *w = ft_worker_new(NULL, worker_main, s, flags);
	if (!w)
		return -errno;
	int r = ft_worker_start(w);
	if (r < 0) {
		ft_worker_free(w);
		return r;
	}
	ft__store_release(&s->w, w);
	return 0;
}

struct ft__engine *ft__engine_new(uint32_t tag, int workers,
				  const struct ft_pool_options *opt)
{
	static const struct ft_pool_options none;
	bool processes = false;
	int r = ft__ensure_init();
	if (r == 0)
		r = check_options(opt ? opt : &none, &processes);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	if (workers == FT_DEFAULT_WORKERS || (tag == FT__TAG_POOL && workers <= 0))
		workers = processes || tag == FT__TAG_POOL ||
				  (opt && opt->sandbox)
				  ? cpu_count()
				  : (cpu_count() + 4 < 32 ? cpu_count() + 4 : 32);
	if (workers <= 0 || workers > 4096) {
		errno = EINVAL;
		return NULL;
	}
	struct ft__engine *e = ft__new_object(
		sizeof(*e) + (size_t)workers * sizeof(struct ft__slot));
	if (!e)
		return NULL;
	e->tag_kind = tag;
	e->opt = opt ? *opt : none;
	if (e->opt.sandbox) {
		/* (E8) The policy's first member: its runner's operations. */
		e->runner = *(const struct ft__task_runner *const *)e->opt.sandbox;
		e->runner_ctx = e->runner->copy(e->opt.sandbox);
		e->opt.sandbox = NULL;  /* the caller's; ours is the copy */
		if (!e->runner_ctx) {
			int err = errno;
			ft__arena_free(e, FT__TAG_RESERVED);
			errno = err;
			return NULL;
		}
	}
	e->processes = processes;
	e->creator = ft__self_pid();
	pthread_sigmask(SIG_BLOCK, NULL, &e->mask);
	e->nslots = (size_t)workers;
	e->q = ft_simple_queue_new();
	if (!e->q) {
		if (e->runner)
			e->runner->release(e->runner_ctx);
		ft__arena_free(e, FT__TAG_RESERVED);
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < e->nslots; i++) {
		e->slot[i].eng = e;
		e->slot[i].index = (uint32_t)i;
	}
	ft__arena_publish(e, tag);
	for (size_t i = 0; i < e->nslots; i++) {
		r = ft__engine_start_worker(e, i);
		if (r < 0)
			break;
	}
	if (r == 0)
		r = ft__manager_start(e);
	if (r < 0) {
		/* Nothing was queued: the started workers exit at once. */
		ft__engine_shutdown(e, false);
		for (size_t i = 0; i < e->nslots; i++)
			if (e->slot[i].w) {
				ft_worker_join(e->slot[i].w, FT_FOREVER);
				ft_worker_free(e->slot[i].w);
				e->slot[i].w = NULL;
			}
		e->workers_gone = 1;
		ft__engine_free(e);
		errno = -r;
		return NULL;
	}
	return e;
}

int ft__engine_check(struct ft__engine *e, uint32_t tag)
{
	int r = ft__check(e, tag);
	if (r < 0)
		return r;
	return ft__self_pid() == e->creator ? 0 : -ECHILD;
}

int ft__engine_closed(struct ft__engine *e)
{
	switch (ft__load_acquire(&e->state)) {
	case E_OPEN:
		return 0;
	case E_BROKEN:
		return -EPIPE;
	default:
		return -ESHUTDOWN;
	}
}

int ft__engine_queue(struct ft__engine *e, struct ft_future *f)
{
	int r = ft__engine_closed(e);
	if (r < 0)
		return r;
	uint32_t seq = ft__fetch_add_relaxed(&e->seq, 1);
	struct ft__task_msg m = { f, seq };
	__atomic_store_n(&f->ss, (uint64_t)seq << 32 | F_PENDING,
			 __ATOMIC_RELAXED);
	ft__future_ref(f);  /* the engine's, until it ends (E3) */
	r = ft_simple_queue_put(e->q, &m, sizeof(m));
	if (r < 0) {
		ft__fetch_sub_release(&f->refs, 1);
		/* A queue shut under us: say why (shut down or broken). */
		int closed = r == -ESHUTDOWN ? ft__engine_closed(e) : 0;
		return closed ? closed : r;
	}
	return 0;
}

/* Take every queued message and end its future with @code. */
static void drain(struct ft__engine *e, int code)
{
	struct ft__task_msg m;
	size_t len;
	while (ft_simple_queue_get(e->q, &m, sizeof(m), &len, 0) == 0)
		if (ft__msg_future(&m))
			ft__future_finish_seq(m.f, m.seq, F_PENDING, code, true);
}

void ft__engine_shutdown(struct ft__engine *e, bool cancel)
{
	uint32_t open = E_OPEN;
	ft__cas_acq_rel(&e->state, &open, E_SHUTDOWN);
	if (cancel)
		drain(e, -ECANCELED);
	ft_simple_queue_shutdown(e->q, false);
	ft__engine_poke(e);
}

/* The engine broke (an initializer failed): nothing more runs. */
void ft__engine_break(struct ft__engine *e)
{
	uint32_t st = ft__load_acquire(&e->state);
	while (st != E_BROKEN && !ft__cas_acq_rel(&e->state, &st, E_BROKEN))
		;
	ft_simple_queue_shutdown(e->q, false);
	drain(e, -EPIPE);
}

void ft__engine_kill_workers(struct ft__engine *e)
{
	ft__store_release(&e->terminated, 1);
	drain(e, -ECANCELED);
	ft_simple_queue_shutdown(e->q, true);
	ft__engine_poke(e);   /* the manager kills them (manager.c) */
}

void ft__engine_poke(struct ft__engine *e)
{
	ft__fetch_add_acq_rel(&e->ctl, 1);
	ft__wake(&e->ctl, 1);
}

int ft__engine_join(struct ft__engine *e, const struct timespec *abs)
{
	for (;;) {
		uint32_t v = ft__load_acquire(&e->workers_gone);
		if (v)
			return 0;
		int r = ft__wait(&e->workers_gone, v, abs);
		if (r == -ETIMEDOUT)
			return ft__load_acquire(&e->workers_gone) ? 0 : -ETIMEDOUT;
	}
}

void ft__engine_free(struct ft__engine *e)
{
	ft__manager_join(e);
	ft_simple_queue_free(e->q);
	if (e->runner)
		e->runner->release(e->runner_ctx);
	uint32_t tag = ft__arena_check(e, e->tag_kind) == 0 ? e->tag_kind
							   : FT__TAG_RESERVED;
	ft__arena_free(e, tag);
}
