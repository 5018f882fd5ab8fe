/* SPDX-License-Identifier: MIT */
/*
 * libfreethreading — one API for parallel workers that are threads or
 * processes.
 *
 * Every object (worker, lock, semaphore, condition, event, barrier,
 * queue) lives in one shared arena: a MAP_SHARED mapping of a memfd made
 * on first use, before any worker exists, so a handle is valid in every
 * worker of the program, whichever backend runs it.
 *
 * Conventions (see freethreading(7)):
 *   - calls that can fail return 0 (or a non-negative count) on success and
 *     a negative errno on failure; they never touch errno;
 *   - *_new constructors return a handle, or NULL with errno set;
 *   - timeouts are double seconds, measured from the call:
 *     FT_FOREVER (exactly -1.0) waits forever, as do values too large to
 *     represent (2^62 s and more, or +infinity); 0 never blocks (a call
 *     that would block returns -EAGAIN); a positive timeout that runs out
 *     returns -ETIMEDOUT; any other negative value is a deadline already
 *     passed (the call does what it can without waiting, then
 *     -ETIMEDOUT), so a remaining time computed as "deadline - now" that
 *     dips below zero never turns into "forever"; NaN gives -EINVAL;
 *   - a handle that is not a live object of the expected type gives -EBADF
 *     (NULL gives -EINVAL).
 */
#ifndef FREETHREADING_H
#define FREETHREADING_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define FT_API __attribute__((visibility("default")))
#else
#define FT_API
#endif

#if defined(__GNUC__)
#define FT_NORETURN __attribute__((__noreturn__))
#else
#define FT_NORETURN
#endif

/* Wait forever: pass as any timeout.  The only negative timeout that
 * waits; see the conventions above. */
#define FT_FOREVER (-1.0)

/* ------------------------------------------------------------------ */
/* Runtime                                                              */
/* ------------------------------------------------------------------ */

/* Backend choice for struct ft_config.backend. */
enum ft_backend {
	FT_BACKEND_DEFAULT = 0,     /* threading, unless the environment says */
	FT_BACKEND_THREADING,       /* workers are threads */
	FT_BACKEND_MULTIPROCESSING, /* workers are processes */
};

/* Wait-layer choice for struct ft_config.wait. */
enum ft_wait_impl {
	FT_WAIT_AUTO = 0, /* futex2, else futex(2): the fastest measured */
	FT_WAIT_URING,    /* IORING_OP_FUTEX_WAIT/WAKE/WAITV */
	FT_WAIT_FUTEX2,   /* futex_waitv(2), futex_wait/futex_wake where present */
	FT_WAIT_FUTEX,    /* classic futex(2) */
};

/*
 * Optional configuration for ft_init().  A zeroed struct means "defaults".
 * Environment variables win over these fields:
 *   FREETHREADING_BACKEND=threading|multiprocessing
 *   FREETHREADING_ARENA_SIZE=<bytes>[K|M|G]
 *   FREETHREADING_WAIT=uring|futex2|futex
 *   FREETHREADING_EXIT_TIMEOUT=<seconds>
 * A bad environment value is named on stderr (once) and makes every call
 * fail with -EINVAL.
 */
struct ft_config {
	int backend;       /* enum ft_backend */
	size_t arena_size; /* bytes of address space reserved; 0: the default */
	int wait;          /* enum ft_wait_impl; an unavailable choice falls back */
	/*
	 * How long an exit with status 0 waits for the non-daemon workers
	 * still running (see ft_worker_exit and ft_worker(3), "Ending a
	 * program"), in seconds; 0 or FT_FOREVER: as long as they run, as
	 * Python does.  Past it, and at once on a non-zero status, process
	 * workers are terminated.  Negative values other than FT_FOREVER
	 * and NaN are -EINVAL.
	 */
	double exit_timeout;
};

/*
 * Initialise the runtime with @cfg (may be NULL).  Optional: the first use
 * of any ft_ call initialises with defaults.  Must run before the first
 * worker starts.  Returns 0; -EALREADY if the runtime was already set up
 * (by an earlier ft_init() or first use; @cfg is then ignored); -EINVAL
 * for a bad @cfg field (nothing is set up: fix it and call again);
 * -ENOMEM if the arena cannot be mapped (nothing is set up either: a
 * later call tries again, so ft_init with a smaller arena_size can still
 * succeed).  A bad environment value (-EINVAL) is final: every later call
 * returns it.
 *
 * The arena is address space reserved in shared memory (a memfd, so
 * strict overcommit does not charge it up front); pages are used only as
 * objects need them.  By default it is as large as physical RAM, or a
 * quarter of what RLIMIT_AS leaves, whichever is smaller, halved until it
 * maps, down to 16 MiB.  A size named in arena_size or
 * FREETHREADING_ARENA_SIZE (at least 1 MiB) is taken as is or refused.
 * ft_runtime_info reports the size in use.
 */
FT_API int ft_init(const struct ft_config *cfg);

/* "threading" or "multiprocessing".  Initialises the runtime if needed;
 * if set-up failed, names the backend that was asked for. */
FT_API const char *ft_get_backend(void);

/*
 * Text for an error code; accepts -errno or errno.  For the codes of the
 * freethreading(7) table the text names the situation ("barrier broken");
 * other codes get strerror()'s text.  Never NULL.
 */
FT_API const char *ft_strerror(int err);

/* What the runtime chose on this machine; strings are static. */
struct ft_runtime_info {
	const char *backend;     /* "threading" | "multiprocessing" */
	const char *wait;        /* "uring" | "futex2" | "futex" */
	const char *spawn_thread;  /* how thread workers start */
	const char *spawn_process; /* how process workers start */
	size_t arena_size;       /* bytes reserved */
	size_t arena_used;       /* bytes handed out so far (high-water mark) */
};

/* Fill @info.  Returns 0, -EINVAL for NULL, or the code set-up failed with. */
FT_API int ft_runtime_info(struct ft_runtime_info *info);

/* ------------------------------------------------------------------ */
/* Workers                                                              */
/* ------------------------------------------------------------------ */

typedef struct ft_worker ft_worker_t;

/*
 * A worker's body.  Its return ends the worker with that exit code, as
 * ft_worker_exit(code) would, under either backend.
 */
typedef int (*ft_target_fn)(void *arg);

/* A body that returns nothing ends its worker with exit code 0. */
typedef void (*ft_void_target_fn)(void *arg);

/* Flags for ft_worker_new(). */
#define FT_WORKER_DAEMON  0x1u /* not joined at exit; a process is killed */
#define FT_WORKER_PROCESS 0x2u /* unshared address space whatever the backend */
#define FT_WORKER_THREAD  0x4u /* shared address space whatever the backend */

/* Longest worker name, without the terminating NUL. */
#define FT_WORKER_NAME_MAX 63

/*
 * Create a worker that will run @target(@arg).  @name may be NULL for
 * "Worker-N" (N counts up from 1 across the whole program).  @arg is passed
 * as is: a process worker sees the memory it points to as of ft_worker_start.
 * Returns NULL with errno EINVAL (NULL target, both PROCESS and THREAD, an
 * unknown flag), ENAMETOOLONG (name over FT_WORKER_NAME_MAX), ENOMEM (arena
 * full).
 */
FT_API ft_worker_t *ft_worker_new(const char *name, ft_target_fn target,
				  void *arg, unsigned flags);

/* ft_worker_new for a body that returns nothing (exit code 0). */
FT_API ft_worker_t *ft_worker_new_void(const char *name,
				       ft_void_target_fn target, void *arg,
				       unsigned flags);

/*
 * In C11 and later, ft_worker_new takes either form of body: a void one
 * is passed on to ft_worker_new_void (chosen at compile time by its type).
 * In C++ an overload does the same.  Before C11, call
 * ft_worker_new_void yourself.
 */
#if !defined(__cplusplus) && defined(__STDC_VERSION__) && \
	__STDC_VERSION__ >= 201112L
#define ft_worker_new(name, target, arg, flags)                           \
	_Generic((target),                                                 \
		 ft_void_target_fn: ft_worker_new_void,                    \
		 default: ft_worker_new)(name, target, arg, flags)
#endif

/*
 * Start the worker.  stdio is flushed first, so a process worker never
 * prints its parent's buffered output again.  Returns 0, -EALREADY if
 * already started, -EBADF/-EINVAL for a bad handle, -EAGAIN/-ENOMEM when
 * the system cannot create a thread or process (RLIMIT_NPROC, a pids
 * cgroup's pids.max, memory).  A failed start leaves the worker as if
 * never started (it may be started again), and whoever waited on it
 * meanwhile returns: ft_worker_join with -EINVAL, ft_worker_ident with 0.
 */
FT_API int ft_worker_start(ft_worker_t *w);

/*
 * Wait for the worker to end.  Returns 0 once it has ended, -ETIMEDOUT if
 * @timeout ran out (the worker runs on), -EAGAIN for timeout 0 while it
 * runs, -EINVAL before start (or when the start failed while this call
 * waited), -EDEADLK when a worker joins itself, -EBADF.
 * Any worker of the program may join any started worker.  A process
 * worker that crashes is reported (see ft_worker_exitcode), never hangs.
 */
FT_API int ft_worker_join(ft_worker_t *w, double timeout);

/* 1 if started and not yet ended, 0 if not, or -EBADF/-EINVAL. */
FT_API int ft_worker_is_alive(ft_worker_t *w);

/*
 * The worker's name, stored in the arena; valid until the handle is freed
 * or renamed.  NULL for a bad handle.
 */
FT_API const char *ft_worker_name(ft_worker_t *w);

/* Rename.  0, -EINVAL (NULL), -ENAMETOOLONG, -EBADF. */
FT_API int ft_worker_set_name(ft_worker_t *w, const char *name);

/* 1 if daemon, 0 if not, or -EBADF/-EINVAL. */
FT_API int ft_worker_daemon(ft_worker_t *w);

/* Set the daemon flag before start.  0, -EINVAL after start, -EBADF. */
FT_API int ft_worker_set_daemon(ft_worker_t *w, bool daemon);

/*
 * The kernel id of the worker once started: the thread id (gettid) of a
 * thread worker, the pid of a process worker.  0 before start (and when
 * the start failed while this call waited); -EBADF or -EINVAL for a bad
 * handle.  Waits (briefly) for a just-started thread to publish its id.
 */
FT_API long ft_worker_ident(ft_worker_t *w);

/*
 * The exit code of a process worker whose status went to someone else:
 * SIGCHLD ignored (inherited across exec, or set by the program),
 * SA_NOCLDWAIT, or a program that reaps with waitpid(-1) itself.  The
 * worker is known to have ended (its pidfd says so); on kernels that keep
 * the status for pidfds (6.15+) the real code is reported instead.  Also
 * the code of a thread worker killed alone by a seccomp filter
 * (SECCOMP_RET_KILL_THREAD), found gone by a join or ft_worker_is_alive
 * in its process.
 */
#define FT_EXITCODE_UNKNOWN (-256)

/*
 * How the worker ended.  On 0, *@code is its exit code (0..255: what its
 * target returned or passed to ft_worker_exit, or a process worker's
 * exit() status, each taken & 0377 as exit(3) does, the same under both
 * backends; 0 for a void target), or minus the signal number that killed
 * a process worker, or FT_EXITCODE_UNKNOWN.  Returns -EAGAIN while it
 * runs, -EINVAL before start or for NULL @code, -EBADF.
 */
FT_API int ft_worker_exitcode(ft_worker_t *w, int *code);

/*
 * End the calling worker with exit code @code & 0377, as if its target
 * had returned @code, under either backend.  In a thread worker the
 * thread ends (pthread_exit: its cleanup handlers and thread-specific
 * destructors run).  In a process worker, as at its target's return, the
 * non-daemon workers it started are joined, its daemon process workers
 * killed, stdio flushed, and the process ends without running atexit(3)
 * handlers, which it inherited from its parent and are not its own.  In
 * the main worker it is exit(@code): the program ends.  In a thread the
 * library did not start it ends that thread.
 *
 * Plain exit() differs by backend: in a process worker it ends that
 * worker with the status (running the atexit handlers it inherited); in a
 * thread worker it ends the whole program, as in any thread.  Use
 * ft_worker_exit, or return a code, to stay backend-neutral.
 */
FT_API FT_NORETURN void ft_worker_exit(int code);

/*
 * Stop a process worker: ft_worker_terminate sends SIGTERM (its handler,
 * if it set one, runs), ft_worker_kill SIGKILL.  The signal goes through
 * the worker's pidfd (by pid only where the kernel has no pidfds, while
 * the record says it runs), so a pid reused after the worker ended is
 * never hit.  It then ends as signalled: ft_worker_exitcode gives
 * -SIGTERM or -SIGKILL (unless it handled SIGTERM and exited).  Locks it
 * held are recovered as for any dead holder (-EOWNERDEAD).
 * Returns 0 (also when the worker has already ended, as Python does),
 * -EOPNOTSUPP for a thread worker (a thread cannot be stopped safely from
 * outside: it may hold malloc's or stdio's locks, and the process's
 * state would be left half-changed; have it check an Event instead),
 * -ECHILD when called from a process other than the one that started the
 * worker (only it holds the pidfd), -EINVAL before start, -EBADF.
 */
FT_API int ft_worker_terminate(ft_worker_t *w);
FT_API int ft_worker_kill(ft_worker_t *w);

/* Modes of ft_worker_wait (the names of concurrent.futures.wait's). */
#define FT_FIRST_COMPLETED 1 /* return when any has ended */
#define FT_FIRST_EXCEPTION 2 /* ... any has ended with a non-zero code */
#define FT_ALL_COMPLETED   3 /* return when all have ended */

/*
 * Wait until workers of the set @workers[0..@n) have ended, as @mode
 * says, or @timeout passes (Python's multiprocessing.connection.wait on
 * sentinels, and concurrent.futures.wait's modes): FT_FIRST_COMPLETED
 * returns once any has ended; FT_FIRST_EXCEPTION once any has ended with
 * a non-zero exit code (or a signal), or all have ended; FT_ALL_COMPLETED
 * once all have.  One sleep covers the whole set (futex_waitv or
 * io_uring's FUTEX_WAITV over the workers' state words; a set of more
 * than 128 sleeps on a word every worker's end bumps).
 *
 * Returns how many of the set have ended (a worker named twice counts
 * twice), and, if @ended is not NULL, sets @ended[i] to whether
 * @workers[i] has.  Running out of time is not an error: the count is
 * then below what @mode asked for (timeout 0 just looks).  Errors:
 * -EINVAL for a bad @mode, @workers NULL with @n > 0, a NaN timeout or a
 * worker never started; -EBADF for a bad handle.  @n may be 0 (returns 0
 * at once).
 */
FT_API int ft_worker_wait(ft_worker_t *const *workers, size_t n, int mode,
			  double timeout, bool *ended);

/*
 * Release the handle.  A running worker is detached: it runs on and its
 * record is reclaimed when it ends (it then leaves ft_enumerate).  The
 * main and Dummy-N records belong to their threads and cannot be freed
 * (-EINVAL).  0 or -EBADF/-EINVAL.
 */
FT_API int ft_worker_free(ft_worker_t *w);

/*
 * The calling worker: the one running this code, or the main worker
 * ("MainThread" under threading, "MainProcess" under multiprocessing).
 * A thread the library did not start gets a record of its own named
 * "Dummy-N" on first call, as Python does (a daemon, freed when the thread
 * ends).  NULL with errno set if the runtime cannot be set up, or ENOMEM
 * if the arena has no room for that record.
 */
FT_API ft_worker_t *ft_current_worker(void);

/*
 * Live workers of the whole program (every process), main worker first.
 * Fills up to @cap handles into @out (may be NULL when @cap is 0) and
 * returns how many are live, which may exceed @cap.  Negative on error.
 */
FT_API int ft_enumerate(ft_worker_t **out, size_t cap);

/* Number of live workers, main included (= ft_enumerate(NULL, 0)). */
FT_API int ft_active_count(void);

/*
 * Live workers started by the calling process (any of its threads), as
 * ft_enumerate fills and counts them.
 */
FT_API int ft_active_children(ft_worker_t **out, size_t cap);

/* The caller's kernel id: gettid() (= getpid() in a process's main thread). */
FT_API long ft_get_ident(void);

/* ------------------------------------------------------------------ */
/* Shared memory                                                        */
/* ------------------------------------------------------------------ */

/*
 * @size bytes of zeroed memory in the arena, 16-byte aligned, at the same
 * address in every worker of either backend: what one worker writes there
 * the others see (order it with a Lock, Event, ... as between threads).
 * NULL with errno EINVAL (size 0) or ENOMEM (arena full).
 */
FT_API void *ft_shared_alloc(size_t size);

/* Give back memory from ft_shared_alloc.  0, -EINVAL (NULL), or -EBADF
 * (not a live ft_shared_alloc block, e.g. freed twice). */
FT_API int ft_shared_free(void *p);

/* ------------------------------------------------------------------ */
/* Synchronization primitives                                           */
/* ------------------------------------------------------------------ */
/*
 * Each is a futex word (or a few) in the arena: the same handle works in
 * every worker of either backend, including objects that a process worker
 * created after the others started.  Blocking calls take a timeout as the
 * last argument (see the top of this file).
 *
 * Owner death: a process worker killed while holding a Lock or an RLock,
 * or any worker or thread that ends in any way while holding an RLock,
 * does not deadlock the rest: the next acquirer gets -EOWNERDEAD and holds
 * the lock (waiters already asleep are woken to compete for it).  A worker
 * or thread that *returns* while holding a Lock leaves it held: Locks have
 * no owner, so that is a legitimate hand-off, and any worker may release
 * it.  (A process's main thread ends with its process.)  Holders are named
 * by a slot per thread and process, not a kernel TID.  Deaths nobody
 * reports (a child of the program's own fork(), a thread killed alone by
 * SECCOMP_RET_KILL_THREAD) are found by the waiters, which check such a
 * holder about once a second.  A program with more than about 65k threads
 * and processes holding locks at once gives the rest an anonymous slot,
 * whose death cannot be found (RLock refuses it: -EAGAIN).
 */

typedef struct ft_lock ft_lock_t;
typedef struct ft_rlock ft_rlock_t;
typedef struct ft_semaphore ft_semaphore_t;
typedef struct ft_condition ft_condition_t;
typedef struct ft_event ft_event_t;
typedef struct ft_barrier ft_barrier_t;

/* A Lock: NULL with errno ENOMEM (arena full) or the set-up error. */
FT_API ft_lock_t *ft_lock_new(void);

/*
 * Take the lock.  0: taken.  -EOWNERDEAD: taken, and its previous holder
 * died holding it (whatever it guarded may be inconsistent).  -EAGAIN
 * (timeout 0) or -ETIMEDOUT: not taken.  -EINVAL/-EBADF: bad handle.
 * Not re-entrant: a worker that takes a Lock it holds waits for itself.
 */
FT_API int ft_lock_acquire(ft_lock_t *l, double timeout);

/* Release; any worker may release a held Lock.  -EPERM if not held. */
FT_API int ft_lock_release(ft_lock_t *l);

/* 1 if held (by anyone), 0 if not, or -EINVAL/-EBADF. */
FT_API int ft_lock_locked(ft_lock_t *l);

/* Free the lock.  0, -EINVAL (NULL) or -EBADF.  Freeing a lock others
 * still use is the caller's bug; it cannot corrupt the arena: their calls
 * get -EBADF, unless the memory has since been reused for a new object of
 * the same type (handles carry no generation). */
FT_API int ft_lock_free(ft_lock_t *l);

/* A re-entrant lock: its owner may take it again; it is free once
 * released as many times as taken. */
FT_API ft_rlock_t *ft_rlock_new(void);

/* As ft_lock_acquire; taking it again when owned only counts (0), up to
 * 2^32-1 levels (then -EOVERFLOW). */
FT_API int ft_rlock_acquire(ft_rlock_t *l, double timeout);

/* Release one level.  -EPERM if the caller does not own it. */
FT_API int ft_rlock_release(ft_rlock_t *l);

/* 1 if owned by anyone, 0 if not, or -EINVAL/-EBADF. */
FT_API int ft_rlock_locked(ft_rlock_t *l);

/* Free the RLock.  0 or -EINVAL/-EBADF. */
FT_API int ft_rlock_free(ft_rlock_t *l);

/*
 * A counting semaphore starting at @value.  A negative value is rejected
 * (NULL, errno EINVAL).  ft_bounded_semaphore_new() makes one whose value
 * may never exceed @value: releasing past it is -EOVERFLOW.
 */
FT_API ft_semaphore_t *ft_semaphore_new(int value);
FT_API ft_semaphore_t *ft_bounded_semaphore_new(int value);

/* Take one unit: 0, -EAGAIN (timeout 0), -ETIMEDOUT, -EINVAL/-EBADF. */
FT_API int ft_semaphore_acquire(ft_semaphore_t *s, double timeout);

/*
 * Give back @n units and wake up to @n waiters.  -EINVAL for n < 1;
 * -EOVERFLOW if a bounded semaphore would exceed its initial value, or any
 * would exceed INT_MAX (the value is then unchanged).
 */
FT_API int ft_semaphore_release(ft_semaphore_t *s, int n);

/* The current value (>= 0), or -EINVAL/-EBADF. */
FT_API int ft_semaphore_value(ft_semaphore_t *s);

/* Free the semaphore.  0 or -EINVAL/-EBADF. */
FT_API int ft_semaphore_free(ft_semaphore_t *s);

/*
 * A condition variable over @lock: an ft_lock_t or an ft_rlock_t handle
 * (handles are typed, so either may be passed), or NULL for a new RLock of
 * its own.  Another handle gives NULL with errno EBADF.  The lock is not
 * owned by the condition: free it yourself, after the condition.
 * Prefer an RLock when a worker that may end (return, crash, be killed)
 * can hold it: an ended owner's RLock passes on with -EOWNERDEAD, while a
 * plain Lock is handed off and a waiter's retake never returns.
 */
FT_API ft_condition_t *ft_condition_new(void *lock);

/* Take / release the condition's lock (as its own acquire/release). */
FT_API int ft_condition_acquire(ft_condition_t *c, double timeout);
FT_API int ft_condition_release(ft_condition_t *c);

/*
 * Release the lock (all levels of an RLock), sleep until notified or the
 * timeout, then take the lock back (at its former depth) whatever
 * happened.  0: notified; -ETIMEDOUT (or -EAGAIN for timeout 0): not
 * notified, the lock is held again.  -EPERM if the caller does not hold
 * the lock (for a Lock: was not the worker that took it).  -EOWNERDEAD if
 * retaking the lock found its holder dead (the lock is held).
 */
FT_API int ft_condition_wait(ft_condition_t *c, double timeout);

/* A predicate for ft_condition_wait_for: nonzero when satisfied.  It is
 * called with the lock held. */
typedef int (*ft_predicate_fn)(void *arg);

/*
 * Wait until @pred(@arg) is nonzero, against one deadline for the whole
 * call.  Returns the predicate's last value (0 = still false at the
 * deadline), -EPERM if the lock is not held, -EINVAL for a NULL @pred.
 * An owner death met while retaking the lock is not reported here (the
 * lock is held either way); use ft_condition_wait to see it.
 */
FT_API int ft_condition_wait_for(ft_condition_t *c, ft_predicate_fn pred,
				 void *arg, double timeout);

/*
 * Wake at most @n waiters (0: none).  -EINVAL for n < 0, -EPERM if the
 * lock is not held.  Returns 0.  A process worker killed while waiting
 * stays counted as a waiter: one later notify may be spent on it.
 */
FT_API int ft_condition_notify(ft_condition_t *c, int n);

/* Wake every waiter.  -EPERM if the lock is not held. */
FT_API int ft_condition_notify_all(ft_condition_t *c);

/* Free the condition, and the RLock it made for itself (lock NULL).
 * 0 or -EINVAL/-EBADF. */
FT_API int ft_condition_free(ft_condition_t *c);

/* An event, initially clear. */
FT_API ft_event_t *ft_event_new(void);

/* Set the flag and wake every waiter.  0 or -EINVAL/-EBADF. */
FT_API int ft_event_set(ft_event_t *e);

/* Clear the flag.  0 or -EINVAL/-EBADF. */
FT_API int ft_event_clear(ft_event_t *e);

/* 1 if set, 0 if not, or -EINVAL/-EBADF. */
FT_API int ft_event_is_set(ft_event_t *e);

/* 0 once the flag is set; -EAGAIN (timeout 0) or -ETIMEDOUT if not. */
FT_API int ft_event_wait(ft_event_t *e, double timeout);

/* Free the event.  0 or -EINVAL/-EBADF. */
FT_API int ft_event_free(ft_event_t *e);

/* A barrier's action: 0, or a negative errno that breaks the barrier. */
typedef int (*ft_action_fn)(void *arg);

/*
 * A barrier for @parties workers (1 .. INT_MAX, else NULL with errno
 * EINVAL).  The last to arrive runs @action(@arg) if given, before anyone
 * is released, holding the barrier's internal lock (other calls on this
 * barrier wait for it, as in CPython).  @timeout is the default for
 * ft_barrier_wait (FT_FOREVER: none); NaN gives NULL with errno EINVAL.
 */
FT_API ft_barrier_t *ft_barrier_new(unsigned parties, ft_action_fn action,
				    void *arg, double timeout);

/*
 * Wait until @parties workers have called this.  Returns the arrival
 * index, 0 .. parties-1 (the last to arrive gets parties-1).  @timeout
 * FT_FOREVER uses the barrier's own (Python's None).  -EPIPE: the barrier
 * is or became broken (aborted, reset while waiting, another waiter timed
 * out, or the action failed).  -ETIMEDOUT (-EAGAIN for a timeout of 0): this waiter's
 * deadline passed; as in CPython the barrier is now broken for everyone
 * until ft_barrier_reset.  The waiter that ran a failing action gets the
 * action's code (-ECANCELED if it returned a positive value).
 */
FT_API int ft_barrier_wait(ft_barrier_t *b, double timeout);

/*
 * Back to the initial state; current waiters get -EPIPE.  0 or -EBADF.
 * A worker killed inside ft_barrier_wait never leaves it: a reset then
 * waits for it, and a second reset forces the barrier back to its initial
 * state (any waiter still inside from before gets -EPIPE).
 */
FT_API int ft_barrier_reset(ft_barrier_t *b);

/* Break the barrier: current and future waiters get -EPIPE until reset. */
FT_API int ft_barrier_abort(ft_barrier_t *b);

/* Number of parties (> 0), or -EINVAL/-EBADF. */
FT_API int ft_barrier_parties(ft_barrier_t *b);

/* Workers waiting now (>= 0), or -EINVAL/-EBADF. */
FT_API int ft_barrier_n_waiting(ft_barrier_t *b);

/* 1 if broken, 0 if not, or -EINVAL/-EBADF. */
FT_API int ft_barrier_broken(ft_barrier_t *b);

/* Free the barrier.  0 or -EINVAL/-EBADF. */
FT_API int ft_barrier_free(ft_barrier_t *b);

/* ------------------------------------------------------------------ */
/* Queues                                                               */
/* ------------------------------------------------------------------ */
/*
 * Message queues in the arena.  A message is any byte string, 0 bytes up
 * (an empty message serves as Python's None sentinel); put copies it in
 * and get copies it out, so both backends behave alike.  Strict FIFO
 * across all producers.
 *
 * Producers and consumers have a lock each, so a put and a get run at
 * the same time; they wait for each other only when the queue is full or
 * empty.  A producer that streams alone is given its side and puts
 * without the lock; another producer, or a consumer about to sleep, takes
 * it back with one membarrier(2), within its own process where it can
 * (the process registers for that when it is first given a side, not
 * before).  Should a seccomp filter refuse that call, the queue gives no
 * more bias and the taker waits instead until the biased producer is seen
 * to have left: its next put, its end, or the kernel showing it off the
 * CPU (/proc/<tid>/stat); its own timeout still holds, and nothing is
 * lost.  (So, once a filter refused it, a producer that holds the side and
 * then busy-waits on a CPU without putting keeps a second producer's put
 * waiting, up to that put's timeout.)
 *
 * A worker killed in the middle of a put or a get leaves the queue
 * consistent: a message is published by one store after it is fully
 * copied in and removed by one store after it is copied out (the same
 * stores carry the counts), so no torn or duplicated message is ever
 * delivered, and every message whose put returned 0 is delivered exactly
 * once.  A put interrupted by death has landed only if it got as far as
 * publishing; a get interrupted by death leaves its message queued for the
 * next get unless it got as far as removing it.  The dead worker's side
 * lock is freed and sleepers are woken by the worker supervisor.
 */

typedef struct ft_queue ft_queue_t;

/*
 * A queue holding at most @maxsize messages; @maxsize <= 0 is unbounded
 * (then bounded only by the arena: a put that cannot fit returns -ENOMEM
 * and queues nothing).  NULL with errno ENOMEM or the set-up error.
 */
FT_API ft_queue_t *ft_queue_new(int maxsize);

/*
 * Copy @len bytes at @data in as one message; wait while the queue is
 * full.  0; -EAGAIN (timeout 0) or -ETIMEDOUT while full; -ESHUTDOWN
 * once the queue is shut down (also for a put waiting then; nothing is
 * queued); -ENOMEM if the message cannot fit in the arena (nothing is
 * queued); -EINVAL for NULL @data with @len > 0; -EBADF.
 */
FT_API int ft_queue_put(ft_queue_t *q, const void *data, size_t len,
			double timeout);

/* ft_queue_put(q, data, len, 0): -EAGAIN when full. */
FT_API int ft_queue_put_nowait(ft_queue_t *q, const void *data, size_t len);

/*
 * Take the oldest message into @buf (@cap bytes); *@len gets its length.
 * 0; -EMSGSIZE if it is longer than @cap: it stays queued and *@len says
 * how long it is (so a get with cap 0 asks the length); -EAGAIN (timeout
 * 0) or -ETIMEDOUT while empty; -ESHUTDOWN once the queue is shut down
 * and empty (also for a get waiting then: nothing more can come);
 * -EINVAL for a NULL @len or a NULL @buf with @cap > 0; -EBADF.
 */
FT_API int ft_queue_get(ft_queue_t *q, void *buf, size_t cap, size_t *len,
			double timeout);

/* ft_queue_get(q, buf, cap, len, 0): -EAGAIN when empty. */
FT_API int ft_queue_get_nowait(ft_queue_t *q, void *buf, size_t cap,
			       size_t *len);

/*
 * Take the oldest message, whatever its size, into memory from malloc()
 * (*@out, free() it; never NULL on success, even for an empty message).
 * As ft_queue_get otherwise; -EINVAL for a NULL @out; -ENOMEM if malloc
 * fails (the message stays).
 */
FT_API int ft_queue_get_alloc(ft_queue_t *q, void **out, size_t *len,
			      double timeout);

/* Messages queued now (>= 0), or -EINVAL/-EBADF. */
FT_API int ft_queue_qsize(ft_queue_t *q);

/* 1 if empty / full, 0 if not, or -EINVAL/-EBADF.  An unbounded queue is
 * never full. */
FT_API int ft_queue_empty(ft_queue_t *q);
FT_API int ft_queue_full(ft_queue_t *q);

/*
 * Say that a message taken with get has been dealt with.  -EOVERFLOW if
 * called more times than messages were put.
 */
FT_API int ft_queue_task_done(ft_queue_t *q);

/* Wait until every message put has been marked done.  0, -EAGAIN
 * (timeout 0) or -ETIMEDOUT, -EINVAL/-EBADF.  A message taken by a worker
 * that died before marking it done is never done (as in Python): see
 * ft_queue_unfinished_tasks. */
FT_API int ft_queue_join(ft_queue_t *q, double timeout);

/* Messages put and not yet marked done (Python's unfinished_tasks): what
 * ft_queue_join waits to see reach 0.  >= 0, or -EINVAL/-EBADF. */
FT_API int ft_queue_unfinished_tasks(ft_queue_t *q);

/*
 * Shut the queue down (Python 3.13's Queue.shutdown): from now on every
 * put, and every put waiting for room, returns -ESHUTDOWN; gets go on
 * taking what is queued and return -ESHUTDOWN once it is empty (those
 * waiting on an empty queue at once).  With @immediate, every queued
 * message is also dropped and counted as a task done (at most as many as
 * are unfinished), so gets return -ESHUTDOWN at once and a join returns
 * when the tasks already taken are done.  A shutdown is for good; calling
 * again does nothing more (an immediate call after a plain one drops what
 * is left).  task_done and join work as before.  0, or -EINVAL/-EBADF.
 */
FT_API int ft_queue_shutdown(ft_queue_t *q, bool immediate);

/* Free the queue and every message still in it.  0 or -EINVAL/-EBADF. */
FT_API int ft_queue_free(ft_queue_t *q);

/* An unbounded queue without task accounting. */
typedef struct ft_simple_queue ft_simple_queue_t;

/* A new SimpleQueue.  NULL with errno ENOMEM or the set-up error. */
FT_API ft_simple_queue_t *ft_simple_queue_new(void);

/* As ft_queue_put on an unbounded queue: 0, -ESHUTDOWN, -ENOMEM,
 * -EINVAL, -EBADF. */
FT_API int ft_simple_queue_put(ft_simple_queue_t *q, const void *data,
			       size_t len);

/* As ft_queue_get. */
FT_API int ft_simple_queue_get(ft_simple_queue_t *q, void *buf, size_t cap,
			       size_t *len, double timeout);

/* As ft_queue_get_alloc. */
FT_API int ft_simple_queue_get_alloc(ft_simple_queue_t *q, void **out,
				     size_t *len, double timeout);

/* As ft_queue_shutdown (with no task accounting: @immediate drops what is
 * queued).  Python's SimpleQueue has no shutdown; its Queue's is kept. */
FT_API int ft_simple_queue_shutdown(ft_simple_queue_t *q, bool immediate);

/* 1 if empty, 0 if not, or -EINVAL/-EBADF. */
FT_API int ft_simple_queue_empty(ft_simple_queue_t *q);

/* Free the queue and every message still in it.  0 or -EINVAL/-EBADF. */
FT_API int ft_simple_queue_free(ft_simple_queue_t *q);

/* ------------------------------------------------------------------ */
/* Executors, futures and pools                                         */
/* ------------------------------------------------------------------ */
/*
 * A WorkerPoolExecutor (concurrent.futures) and a WorkerPool
 * (multiprocessing.Pool) run tasks on a set of workers, threads or
 * processes as the backend says (or as ft_pool_options.flags forces).
 * One engine serves both: a task is
 *
 *	int task(const void *in, void *out);
 *
 * which reads in_size bytes at @in and writes out_size bytes at @out, and
 * returns 0 or a negative code of its own that the caller receives as is
 * (a map fails with the first failing item's code, as Python's map raises
 * the first exception).  Arguments and results are fixed-size records
 * that travel through the arena: what a call is given is copied there,
 * except memory that is already in the arena (ft_shared_alloc), which
 * tasks read and write in place.  A function pointer is valid in every
 * worker: process workers are forked from the program.
 *
 * What no Python pool does: a process worker that dies (a crash, SIGKILL,
 * the OOM killer, _exit in a task) fails only the task it was running,
 * with -ESRCH; it is replaced and the pool or executor keeps serving.  A
 * running task in a process worker can be stopped: a time limit per task
 * (ft_pool_options.task_time_limit, -ETIMEDOUT) or ft_future_cancel with
 * @kill (-ECANCELED) kill and replace its worker.
 *
 * A pool or executor is driven from the process that created it (its
 * calls elsewhere return -ECHILD / NULL with errno ECHILD): that process
 * runs its manager thread, which replaces dead workers, enforces time
 * limits and runs done-callbacks.  Futures may be waited on anywhere.
 */
typedef struct ft_executor ft_executor_t;
typedef struct ft_pool ft_pool_t;
typedef struct ft_future ft_future_t;

/* A task: 0, or a negative code the caller receives unchanged. */
typedef int (*ft_task_fn)(const void *in, void *out);

/* Runs once in each worker before its first task (Python's initializer):
 * 0, or a negative code, which breaks the pool or executor. */
typedef int (*ft_init_fn)(void *arg);

/* A done-callback (add_done_callback, apply_async's callbacks): runs in
 * the process that created the pool or executor, on its manager thread,
 * or at once in the caller if the future is already done.  It may call
 * ft_future_result(@f, ..., 0) and ft_future_* on @f; it must not free
 * @f (the caller's handle) nor wait for other futures for long: the
 * manager runs one callback at a time, and replaces dead workers only
 * between them. */
typedef void (*ft_done_fn)(ft_future_t *f, void *arg);

/*
 * Options of ft_executor_new and ft_pool_new; NULL means all zero.
 * Unset (zero) fields take the default given.
 */
struct ft_pool_options {
	/* FT_WORKER_PROCESS or FT_WORKER_THREAD to choose the kind of
	 * workers whatever the backend; 0 follows the backend. */
	unsigned flags;
	/* Run in each worker before its first task; NULL for none.  A
	 * negative return, or a worker dying inside it, breaks the pool or
	 * executor: what is pending fails with -EPIPE, and so does every
	 * later call (Python: BrokenProcessPool / an endless respawn). */
	ft_init_fn initializer;
	void *initarg;
	/* A worker that has run this many tasks ends and is replaced
	 * (Python's maxtasksperchild / max_tasks_per_child); 0: no limit. */
	unsigned max_tasks_per_worker;
	/* Seconds a task may run before its worker is killed and replaced
	 * and its future fails with -ETIMEDOUT; 0: no limit.  Process
	 * workers only (a thread cannot be stopped safely): with thread
	 * workers a limit gives EOPNOTSUPP. */
	double task_time_limit;
	/* Run every task in a seccomp-sandboxed process of its own, which
	 * keeps no mapping of the arena (see "Sandboxed workers" below); NULL
	 * for none.  Implies process isolation: flags FT_WORKER_THREAD with
	 * a sandbox is EINVAL.  The pool or executor keeps a copy of the
	 * policy: ft_sandbox_free may follow at once, and later changes to
	 * @sandbox do not reach it. */
	const struct ft_sandbox *sandbox;
};

/* max_workers for Python's default (None): the CPU count for process
 * workers (sandboxed ones included), min(32, CPUs + 4) for thread workers,
 * as Python 3.13 has it. */
#define FT_DEFAULT_WORKERS (-1)

/*
 * A new executor of @max_workers workers (concurrent.futures'
 * ThreadPoolExecutor / ProcessPoolExecutor), all started now.  NULL with
 * errno EINVAL (@max_workers <= 0 other than FT_DEFAULT_WORKERS, or over
 * 4096, a bad
 * option, a negative or NaN time limit), EOPNOTSUPP (a time limit with
 * thread workers), ENOMEM, EAGAIN (the system cannot start the workers).
 */
FT_API ft_executor_t *ft_executor_new(int max_workers,
				      const struct ft_pool_options *opt);

/*
 * Schedule @fn on a copy of @in (@in_size bytes; not copied if it lies in
 * the arena: then keep it unchanged until the future is done), with
 * @out_size bytes of zeroed output.  Returns the future, which the caller
 * frees with ft_future_free; NULL with errno ESHUTDOWN (after shutdown),
 * EPIPE (broken by its initializer), EINVAL (NULL @fn, NULL @in with
 * @in_size > 0), ENOMEM, EBADF, ECHILD.
 */
FT_API ft_future_t *ft_executor_submit(ft_executor_t *ex, ft_task_fn fn,
				       const void *in, size_t in_size,
				       size_t out_size);

/*
 * Python's list(executor.map(fn, items, timeout=, chunksize=)): run @fn
 * on each of @n items of @in_size bytes at @items, @chunksize items per
 * task (>= 1; Python's default is 1), writing the @out_size-byte results
 * in order at @results.  @timeout is measured from the call.  Returns 0;
 * the code of the first failing item in order (results before it are
 * written), -ETIMEDOUT; either way the tasks not yet started are
 * cancelled.  With thread workers the caller's arrays are used in place
 * (no copy), and an early return first waits for the chunks already
 * running, so none touches them after it.  -EINVAL (NULL @fn, @chunksize 0, NULL arrays with @n > 0),
 * -ESHUTDOWN, -EPIPE, -ENOMEM, -EBADF, -ECHILD.
 */
FT_API int ft_executor_map(ft_executor_t *ex, ft_task_fn fn,
			   const void *items, size_t n, size_t in_size,
			   void *results, size_t out_size, size_t chunksize,
			   double timeout);

/*
 * Stop taking tasks (Python's shutdown): later submits fail with
 * ESHUTDOWN.  With @cancel_futures, tasks not yet started are cancelled
 * (-ECANCELED); the others run to their end.  With @wait, return once
 * every task has ended and the workers are gone.  Idempotent.  0, -EBADF,
 * -EINVAL, -ECHILD.
 */
FT_API int ft_executor_shutdown(ft_executor_t *ex, bool wait,
				bool cancel_futures);

/* ft_executor_shutdown(ex, true, false), then release the executor, as
 * leaving Python's `with` block does.  Futures stay valid. */
FT_API int ft_executor_free(ft_executor_t *ex);

/*
 * Wait for the future's result: 0 and its @out_size bytes copied to @out
 * (if not NULL), or the task's own negative code (its output is copied
 * too), -ECANCELED (cancelled), -ESRCH (its worker died), -ETIMEDOUT (its
 * time limit killed it), -EPIPE (the executor broke before it ran); or,
 * with the task not done: -EAGAIN (timeout 0), -ETIMEDOUT.  -EINVAL for a
 * NaN timeout, -EBADF.  A map_async future copies all n results.
 * Telling a task that returned -ETIMEDOUT from the time limit:
 * ft_future_done and a zero-timeout result agree on both; if it matters,
 * return another code.
 */
FT_API int ft_future_result(ft_future_t *f, void *out, double timeout);

/*
 * The done future's output read in place, without a copy: out_size bytes
 * in the arena (all n results of a map_async future), valid until
 * ft_future_free.  NULL with errno EAGAIN while not done, EBADF, EINVAL.
 */
FT_API const void *ft_future_out(ft_future_t *f);

/* 1 if finished or cancelled, 0 if pending or running; -EBADF/-EINVAL. */
FT_API int ft_future_done(ft_future_t *f);
/* 1 if a worker runs it now, else 0; -EBADF/-EINVAL. */
FT_API int ft_future_running(ft_future_t *f);
/* 1 if cancelled, else 0; -EBADF/-EINVAL. */
FT_API int ft_future_cancelled(ft_future_t *f);

/*
 * Cancel the future: 1 if it is now cancelled (it was pending, or was
 * cancelled already), 0 if it runs or is done (Python's cancel).  With
 * @kill, a future running in a process worker is stopped too: the worker
 * is killed and replaced, and the future ends with -ECANCELED (1 is
 * returned; its done-callbacks run once the worker is gone).  A thread
 * cannot be stopped: 0.  -EBADF/-EINVAL; -ECHILD with @kill outside the
 * creating process.
 */
FT_API int ft_future_cancel(ft_future_t *f, bool kill);

/*
 * Call @fn(@f, @arg) once the future is done (see ft_done_fn), at once if
 * it already is.  0, -EINVAL (NULL @fn), -ENOMEM, -EBADF, -ECHILD (from a
 * process other than the one that created its pool or executor).
 */
FT_API int ft_future_add_done_callback(ft_future_t *f, ft_done_fn fn,
				       void *arg);

/* Release the handle.  A task still pending or running goes on; its
 * result is dropped.  0, -EBADF/-EINVAL. */
FT_API int ft_future_free(ft_future_t *f);

/*
 * concurrent.futures.wait: until futures of @fs[0..@n) are done as @mode
 * says (FT_FIRST_COMPLETED, FT_FIRST_EXCEPTION: any ended with a non-zero
 * code or cancelled, or all done; FT_ALL_COMPLETED), or @timeout passes.
 * One sleep covers the set (futex_waitv or io_uring's FUTEX_WAITV over
 * the futures' words; a set larger than 128 sleeps on one word every
 * finish in the program bumps).  Returns how many are done (one named
 * twice counts twice) and, if @done is not NULL, sets @done[i].  Running
 * out of time is not an error.  -EINVAL (bad @mode, NULL @fs with @n > 0,
 * NaN timeout), -EBADF.
 */
FT_API int ft_wait(ft_future_t *const *fs, size_t n, int mode,
		   double timeout, bool *done);

/*
 * concurrent.futures.as_completed, as an iterator the caller holds:
 *
 *	ft_as_completed_t it;
 *	ft_as_completed_init(&it, fs, n, seen, timeout);
 *	while ((i = ft_as_completed(&it)) >= 0)
 *		... fs[i] is done ...
 *
 * Each future is yielded once, those done at init first, against one
 * deadline set at init.  @seen is the caller's array of @n bools (the
 * iterator's memory).  The fields are private.
 */
typedef struct ft_as_completed {
	ft_future_t *const *fs;
	size_t n, left;
	bool *seen;
	int forever;
	long long deadline_ns; /* CLOCK_MONOTONIC */
} ft_as_completed_t;

/* 0, or -EINVAL (NULL @it, NULL @fs or @seen with @n > 0, NaN timeout),
 * -EBADF (a bad handle in @fs). */
FT_API int ft_as_completed_init(ft_as_completed_t *it, ft_future_t *const *fs,
				size_t n, bool *seen, double timeout);

/* The index of the next done future; -ENODATA once all were yielded,
 * -ETIMEDOUT when the deadline passed first (later calls still yield
 * what is done by then), -EINVAL. */
FT_API int ft_as_completed(ft_as_completed_t *it);

/*
 * A new WorkerPool (multiprocessing.Pool, or ThreadPool under threading)
 * of @workers workers (<= 0: the CPU count), all started now.  NULL with
 * errno EINVAL (bad options), EOPNOTSUPP, ENOMEM, EAGAIN as
 * ft_executor_new.
 */
FT_API ft_pool_t *ft_pool_new(int workers, const struct ft_pool_options *opt);

/*
 * Pool.map: @fn over @n items of @in_size bytes at @items, results of
 * @out_size bytes in order at @results; blocks until all are done.
 * @chunksize 0 takes Python's default (n / (4 x workers), rounded up).
 * 0, the first failing item's code (results before it are written),
 * -ETIMEDOUT (@timeout); either way the tasks not yet started are
 * cancelled (Python's Pool runs them for nobody).  With thread workers
 * the caller's arrays are used in place, and an early return first waits
 * for the chunks already running.  -EINVAL, -ESHUTDOWN (closed or terminated), -EPIPE, -ENOMEM,
 * -EBADF, -ECHILD.  Items may be structs: ft_pool_starmap is the same
 * call under Python's name.
 */
FT_API int ft_pool_map(ft_pool_t *p, ft_task_fn fn, const void *items,
		       size_t n, size_t in_size, void *results,
		       size_t out_size, size_t chunksize, double timeout);
FT_API int ft_pool_starmap(ft_pool_t *p, ft_task_fn fn, const void *items,
			   size_t n, size_t in_size, void *results,
			   size_t out_size, size_t chunksize, double timeout);

/*
 * Pool.map_async: as ft_pool_map, without waiting; @items is copied.
 * The future's result is all n results (ft_future_result with a buffer
 * of n x @out_size bytes) or the first failing item's code.  @callback
 * runs when all succeeded, @error_callback when one failed (either may be
 * NULL), each as a done-callback with @arg.  NULL with errno as
 * ft_executor_submit.
 */
FT_API ft_future_t *ft_pool_map_async(ft_pool_t *p, ft_task_fn fn,
				      const void *items, size_t n,
				      size_t in_size, size_t out_size,
				      size_t chunksize, ft_done_fn callback,
				      ft_done_fn error_callback, void *arg);

/*
 * Pool.imap / imap_unordered: start the map and return an iterator (a
 * future that is done when every item is; free it with ft_future_free).
 * @chunksize 0 means 1, as Python's.  NULL with errno as map_async.
 */
FT_API ft_future_t *ft_pool_imap(ft_pool_t *p, ft_task_fn fn,
				 const void *items, size_t n, size_t in_size,
				 size_t out_size, size_t chunksize);
FT_API ft_future_t *ft_pool_imap_unordered(ft_pool_t *p, ft_task_fn fn,
					   const void *items, size_t n,
					   size_t in_size, size_t out_size,
					   size_t chunksize);

/*
 * The next result of an imap (in item order) or imap_unordered (as they
 * come, a chunk at a time) iterator: its item's index in *@index (may be
 * NULL) and its @out_size bytes at @out (may be NULL).  Returns 0, the
 * item's own failing code (the iteration goes on, as Python's next()
 * raises and can be called again), -ESRCH/-ECANCELED/-EPIPE for an item
 * whose task did not run to its end, -ENODATA after the last item,
 * -EAGAIN (timeout 0) / -ETIMEDOUT, -EINVAL (not an imap iterator), -EBADF.
 */
FT_API int ft_pool_imap_next(ft_future_t *it, void *out, size_t *index,
			     double timeout);

/* Pool.apply: run @fn on @in and wait: its code, output at @out.  Errors
 * as ft_pool_map. */
FT_API int ft_pool_apply(ft_pool_t *p, ft_task_fn fn, const void *in,
			 size_t in_size, void *out, size_t out_size,
			 double timeout);

/* Pool.apply_async: as ft_executor_submit, with @callback (success) or
 * @error_callback (failure) run as a done-callback with @arg. */
FT_API ft_future_t *ft_pool_apply_async(ft_pool_t *p, ft_task_fn fn,
					const void *in, size_t in_size,
					size_t out_size, ft_done_fn callback,
					ft_done_fn error_callback, void *arg);

/* Pool.close: no more tasks (later calls: -ESHUTDOWN); those given run
 * to their end, then the workers exit.  0, -EBADF/-EINVAL, -ECHILD. */
FT_API int ft_pool_close(ft_pool_t *p);

/* Pool.terminate: tasks not started are cancelled, process workers
 * running a task are killed at once (their tasks fail with -ESRCH), idle
 * ones exit, thread workers end after their current task.  0, -EBADF/-EINVAL, -ECHILD. */
FT_API int ft_pool_terminate(ft_pool_t *p);

/* Pool.join: wait for the workers to exit after close or terminate.  0,
 * -EINVAL while the pool is open (as Python's ValueError), -EAGAIN /
 * -ETIMEDOUT, -EBADF, -ECHILD. */
FT_API int ft_pool_join(ft_pool_t *p, double timeout);

/* Terminate (as leaving Python's `with` block does), join, release. */
FT_API int ft_pool_free(ft_pool_t *p);

/*
 * Sandboxed workers (layer 7).  A sandbox runs the tasks of a pool or
 * executor (ft_pool_options.sandbox) in worker processes that the program
 * does not trust: a decoder fed hostile input, a plugin.  Assume the task's
 * code is taken over; then, under FT_SANDBOX_STRICT:
 *  - it cannot open files, make sockets, exec, ptrace, set up io_uring,
 *    fork or clone, signal another process, or change its filter: a
 *    seccomp filter (libseccomp), installed with PR_SET_NO_NEW_PRIVS
 *    after the worker is forked and its initializer ran, before any task,
 *    answers every call outside a compute-only list with the deny action;
 *  - it cannot take over or hang its parent through shared memory: it
 *    keeps no shared mapping at all (the arena, io_uring rings and every
 *    other MAP_SHARED mapping are unmapped) and no descriptor but
 *    0, 1, 2 and its channel, a socketpair to a thread of the parent
 *    that checks every length and code it reads (docs/DESIGN.md,
 *    Sandbox).  Whatever the worker writes there fails at most its own
 *    task: with -EPROTO, and the worker is killed and replaced.
 * A worker runs task after task (until max_tasks_per_worker): a task
 * that took it over sees and answers the tasks sent to it later, so
 * "at most its own task" means the tasks of that worker; set
 * max_tasks_per_worker to 1 to give each task a fresh process.  What
 * the initializer opened stays open (its choice); a thread it started is
 * filtered too.  Stderr is the program's: a worker can write lines there.
 * A task killed by the filter or crashing fails with -ESRCH, and the pool
 * keeps serving, as with any process worker.  A sandboxed task is
 * (in bytes) -> (out bytes): the shared primitives (locks, queues, the
 * arena) are out of its reach on purpose, and an ft_ call from it crashes
 * its worker (-ESRCH).  The worker is a fork of the program: it can read
 * a copy of the program's memory as it was at the fork; keep secrets out
 * of the process, or create the pool before loading them.
 *
 * FT_SANDBOX_NO_NETWORK allows everything but sockets and exec (and the
 * calls no sandbox allows, below); it stops a plugin from reaching the
 * network, not a hostile one from the files the user can write (nor,
 * where kernel.yama.ptrace_scope is 0, from /proc/<parent>/mem).
 *
 * A single worker can be sandboxed too (ft_worker_set_sandbox): its
 * target then runs in such a process, with no channel at all; what it
 * can give back is its exit code.  For tasks with inputs and results,
 * an executor of one sandboxed worker is the tool.
 */
typedef struct ft_sandbox ft_sandbox_t;

enum ft_sandbox_preset {
	/* Compute only: memory (brk, mmap, munmap, mremap, madvise,
	 * mprotect), time (clock_gettime, nanosleep...), futex, signals to
	 * itself (abort), getpid/gettid/getrandom, exit; read from its
	 * channel, write to its channel and stderr. */
	FT_SANDBOX_STRICT = 0,
	/* Everything but socket calls and exec. */
	FT_SANDBOX_NO_NETWORK = 1,
};

/* What a call the filter denies does. */
enum ft_sandbox_action {
	FT_SANDBOX_DENY_EPERM = 0,  /* the call fails with EPERM */
	/* SECCOMP_RET_KILL_PROCESS: the whole worker dies (never one
	 * thread only); its task fails with -ESRCH. */
	FT_SANDBOX_DENY_KILL = 1,
};

/*
 * A new sandbox policy from @preset, denying with @action.  Process-local
 * memory (not in the arena): pass it to ft_pool_new / ft_executor_new in
 * the process that made it.  NULL with errno EINVAL (unknown preset or
 * action), ENOSYS (seccomp filters unavailable: the kernel lacks them or a
 * filter of ours forbids installing one), ENOMEM.
 */
FT_API ft_sandbox_t *ft_sandbox_new(int preset, int action);

/*
 * Allow the system call named @syscall (as in <sys/syscall.h>, without
 * "SYS_"/"__NR_": "openat") in the pools and executors made with @sb
 * from now on, whatever the preset says.  0; -EINVAL (NULL, unknown name on this architecture);
 * -EPERM for the calls no sandbox allows (ptrace, process_vm_readv and
 * _writev, io_uring_setup/_enter/_register, seccomp, clone, clone3,
 * fork, vfork, kill/tgkill/tkill and friends towards other processes):
 * each would let the worker reach past its channel; -ENOMEM.
 */
FT_API int ft_sandbox_allow(ft_sandbox_t *sb, const char *syscall);

/* Deny the system call named @syscall (with the sandbox's action) in the
 * pools and executors made with @sb from now on.  0, -EINVAL, -ENOMEM. */
FT_API int ft_sandbox_deny(ft_sandbox_t *sb, const char *syscall);

/* Free the policy (pools and executors made with it keep their copy).
 * 0, -EINVAL for NULL. */
FT_API int ft_sandbox_free(ft_sandbox_t *sb);

/*
 * Sandbox worker @w (before ft_worker_start, in the process that will
 * start it): it is then always a process (FT_WORKER_THREAD is -EINVAL),
 * and its child, once forked, keeps descriptors 0-2 only, unmaps every
 * shared mapping, and runs its target under @sb's filter (a copy: @sb may
 * be freed at once).  The target cannot use the arena or any shared
 * primitive; it ends the worker with its return value, which
 * ft_worker_exitcode reports (127: the sandbox could not be set up; minus
 * SIGSYS: a call denied with FT_SANDBOX_DENY_KILL).  Setting it again
 * replaces the policy.  0; -EINVAL (NULL @sb, a thread worker), -EALREADY
 * (started), -ECHILD (set by another process), -EBADF, -ENOMEM.
 * ft_worker_start from another process than the one that set it returns
 * -ECHILD.
 */
FT_API int ft_worker_set_sandbox(ft_worker_t *w, const ft_sandbox_t *sb);

#ifdef __cplusplus
}

/* The void form of a worker body (see ft_worker_new). */
inline ft_worker_t *ft_worker_new(const char *name, ft_void_target_fn target,
				  void *arg, unsigned flags)
{
	return ft_worker_new_void(name, target, arg, flags);
}
#endif
#endif /* FREETHREADING_H */
