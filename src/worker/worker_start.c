/* SPDX-License-Identifier: MIT */
/*
 * Starting workers.
 *
 * Threads: pthread_create (glibc 2.34+ spawns with clone3), detached; the
 * record's state word is what joiners wait on, from any process.
 *
 * Processes: glibc's fork(), then a pidfd for the supervisor.  A raw
 * clone3() would skip what fork() does for a multithreaded parent (atfork
 * handlers, malloc and stdio lock reset, the cached TID raise() uses, the
 * robust list), and none of that can be redone from outside glibc; see
 * docs/DESIGN.md.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include "base/atomic.h"
#include "lockword/lockword.h"
#include "runtime/runtime.h"
#include "sync/sync.h"
#include "base/sys.h"
#include "wait/wait.h"
#include "worker/worker.h"

bool ft__workers_started;

static void publish_ident(ft_worker_t *w, uint32_t id)
{
	/* Release pairs with the acquire in ft_worker_ident. */
	if (ft__xchg_release(&w->ident, id) == IDENT_WAITING)
		ft__wake(&w->ident, 0x7fffffff);
}

/* The code a thread worker ends with: its target's return value, or
 * what it passed to ft_worker_exit; 0 for pthread_exit or cancellation. */
static FT__TLS int thread_exit_code;

static void thread_finish(void *p)
{
	ft_worker_t *w = p;
	/* Before joiners wake: a word it left held is judged by its end. */
	ft__owner_thread_end();
	ft__self = NULL;
	ft__worker_finish(w, thread_exit_code & 0377);
}

static void *thread_main(void *p)
{
	ft_worker_t *w = p;

	ft__self = w;
	publish_ident(w, ft__tid());
	/* The cleanup handler also runs on pthread_exit() and cancellation,
	 * so a joiner is released however the thread ends. */
	pthread_cleanup_push(thread_finish, w);
	thread_exit_code = ft__run_target(w);
	pthread_cleanup_pop(1);
	return NULL;
}

_Noreturn void ft__thread_exit(int code)
{
	thread_exit_code = code;
	pthread_exit(NULL);
}

const char *ft__thread_spawn_path(void)
{
	/* clone3 with no arguments: EINVAL where the kernel has it (and
	 * nothing is created), ENOSYS/EPERM where it or a filter refuses
	 * it; glibc's pthread_create then falls back to clone. */
	long r = syscall(SYS_clone3, NULL, 0);
	if (r < 0 && (errno == ENOSYS || errno == EPERM))
		return "pthread_create (clone: clone3 refused)";
	return "pthread_create (clone3 in glibc)";
}

static int start_thread(ft_worker_t *w)
{
	pthread_attr_t attr;
	pthread_t t;

	if (pthread_attr_init(&attr) != 0)
		return -ENOMEM;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int r = pthread_create(&t, &attr, thread_main, w);
	pthread_attr_destroy(&attr);
	return -r;
}

/* An isolated worker (a sandbox): no arena from here on, so nothing of
 * the record is touched after entering; it ends by _exit, its reaper
 * sees the status. */
static _Noreturn void isolated_main(ft_worker_t *w, struct ft__isolation *iso)
{
	ft_target_fn target = w->target;
	ft_void_target_fn void_target = w->void_target;
	void *arg = w->arg;
	ft__process_record = NULL;
	ft__self = NULL;
	iso->enter(iso);
	int code = 0;
	if (target)
		code = target(arg);
	else
		void_target(arg);
	_exit(code & 0377);
}

static _Noreturn void process_main(ft_worker_t *w, pid_t parent,
				   const sigset_t *mask,
				   struct ft__isolation *iso)
{
	/* Buffered output still in stdio belongs to the parent (another of
	 * its threads may have written after our flush): don't repeat it. */
	__fpurge(stdout);
	__fpurge(stderr);
	/* Die with the parent.  Checked after arming, in case it already
	 * died between fork and prctl. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(128 + SIGKILL);
	/* Forked by the supervisor for another thread: run with that
	 * thread's signal mask, not the supervisor's all-blocked one. */
	if (mask)
		pthread_sigmask(SIG_SETMASK, mask, NULL);
	if (iso)
		isolated_main(w, iso);
	ft__process_record = w;
	ft__self = w;
	/* The slot our reaper reports the end of (atfork reset ours). */
	ft__owner_process_adopt(w->owner_process);
	/* Our reaper repairs after our death only if we note that we took
	 * an owner word or started a worker. */
	ft__death_note_bit = W_MAY_OWN;
	ft__store_relaxed(&ft__death_note, &w->flags);
	ft__process_exit(ft__run_target(w));
}

_Noreturn void ft__process_exit(int code)
{
	ft__self = NULL;
	ft__workers_shutdown(code & 0377);
	fflush(NULL);
	/* _exit, not exit: the parent's atexit handlers are not ours to run
	 * (a target that calls exit() runs them, as it chose to). */
	_exit(code & 0377);
}

int ft__spawn_process(ft_worker_t *w, const sigset_t *mask)
{
	pid_t parent = getpid();
	/* Read before the fork: the child must not see it cleared below. */
	struct ft__isolation *iso = w->isolation;

	/* Taken here, so that the reaper (in this process) knows it. */
	w->owner_process = ft__owner_process_new();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		ft__owner_process_end(w->owner_process, false);
		return -e;
	}
	if (pid == 0)
		process_main(w, parent, mask, iso);
	if (iso) {
		/* The child runs on its copy. */
		w->isolation = NULL;
		iso->release(iso);
	}
	publish_ident(w, (uint32_t)pid);
	ft__supervise(w, pid);
	return 0;
}

/*
 * A start that failed: nothing runs, and the record is as if never
 * started, so a joiner or an ft_worker_ident caller that came in while it
 * was RUNNING must learn it.  The state goes first, then ident: a caller
 * that marks ident IDENT_WAITING after our exchange has read it from us
 * (acquire) and sees NEW when it looks at the phase again before
 * sleeping; one that marked it before is seen here and woken.  Joiners
 * sleep on the state word itself, so the futex's value check covers them.
 */
static void unstart(ft_worker_t *w)
{
	uint32_t old = ft__xchg_acq_rel(&w->state, W_NEW);
	if (old & W_SLEEPERS)
		ft__wake(&w->state, 0x7fffffff);
	if (ft__xchg_acq_rel(&w->ident, 0) == IDENT_WAITING)
		ft__wake(&w->ident, 0x7fffffff);
}

FT_API int ft_worker_start(ft_worker_t *w)
{
	int r = ft__check(w, FT__TAG_WORKER);
	if (r < 0)
		return r;
	if (ft__worker_phase(w) != W_NEW)
		return -EALREADY;
	/* Before anything runs: a worker of ours may outlive us. */
	ft__note_may_own();
	ft__workers_started = true;
	/* Filled in before the record turns RUNNING: the repair pass reads
	 * them in any RUNNING record it walks (acquire on the phase). */
	/* An isolation is this process's memory, and needs its own. */
	if (w->isolation && w->isolation_pid != getpid())
		return -ECHILD;
	bool process = (w->flags & FT_WORKER_PROCESS) || w->isolation ||
		       (ft__multiprocessing && !(w->flags & FT_WORKER_THREAD));
	w->flags = (w->flags & ~W_IS_PROCESS) | (process ? W_IS_PROCESS : 0);
	w->creator_pid = getpid();
	w->ident = 0;
	w->exitcode = 0;
	uint32_t v = W_NEW;
	/* Only one of two racing starts gets past this CAS.  Release: the
	 * fields above. */
	if (!ft__cas_acq_rel(&w->state, &v, W_RUNNING))
		return -EALREADY;
	if (!process)
		r = start_thread(w);
	else if (ft__tid() == (uint32_t)w->creator_pid)
		r = ft__spawn_process(w, NULL);
	else
		/* PR_SET_PDEATHSIG follows the forking *thread*: let the
		 * long-lived supervisor fork for any other thread. */
		r = ft__spawn_via_supervisor(w);
	if (r < 0)
		unstart(w);
	return r;
}
