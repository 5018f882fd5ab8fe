/* SPDX-License-Identifier: MIT */
/*
 * libfreethreading — one API for parallel workers that are threads or
 * processes.
 *
 * Every object (worker, and later lock, queue, ...) lives in one shared
 * arena: an anonymous MAP_SHARED mapping made on first use, before any
 * worker exists, so a handle is valid in every worker of the program,
 * whichever backend runs it.
 *
 * Conventions (see freethreading(7)):
 *   - calls that can fail return 0 (or a non-negative count) on success and
 *     a negative errno on failure; they never touch errno;
 *   - *_new constructors return a handle, or NULL with errno set;
 *   - timeouts are double seconds: negative (FT_FOREVER) waits forever,
 *     0 never blocks (a call that would block returns -EAGAIN), a positive
 *     timeout that runs out returns -ETIMEDOUT; values above 1e9 s are
 *     treated as forever;
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

/* Wait forever: pass as any timeout. */
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
	FT_WAIT_AUTO = 0, /* probe: io_uring, then futex2, then futex(2) */
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
 */
struct ft_config {
	int backend;       /* enum ft_backend */
	size_t arena_size; /* bytes of address space reserved; 0 = 1 GiB */
	int wait;          /* enum ft_wait_impl; an unavailable choice falls back */
};

/*
 * Initialise the runtime with @cfg (may be NULL).  Optional: the first use
 * of any ft_ call initialises with defaults.  Must run before the first
 * worker starts.  Returns 0; -EALREADY if the runtime was already set up
 * (by an earlier ft_init() or first use; @cfg is then ignored); -EINVAL
 * for a bad @cfg field (nothing is set up: fix it and call again).  A
 * set-up that fails (-EINVAL for a bad environment value, -ENOMEM if the
 * arena cannot be mapped) is final: every later call returns that code.
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

/* A worker's body.  Its return ends the worker (exit code 0). */
typedef void (*ft_target_fn)(void *arg);

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

/*
 * Start the worker.  stdio is flushed first, so a process worker never
 * prints its parent's buffered output again.  Returns 0, -EALREADY if
 * already started, -EBADF/-EINVAL for a bad handle, -EAGAIN/-ENOMEM when
 * the system cannot create a thread or process.
 */
FT_API int ft_worker_start(ft_worker_t *w);

/*
 * Wait for the worker to end.  Returns 0 once it has ended, -ETIMEDOUT if
 * @timeout ran out (the worker runs on), -EAGAIN for timeout 0 while it
 * runs, -EINVAL before start, -EDEADLK when a worker joins itself, -EBADF.
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
 * thread worker, the pid of a process worker.  0 before start; -EBADF or
 * -EINVAL for a bad handle.  Waits (briefly) for a just-started thread to
 * publish its id.
 */
FT_API long ft_worker_ident(ft_worker_t *w);

/*
 * How the worker ended.  On 0, *@code is the process exit status (0..255),
 * or minus the signal number that killed it; a thread worker, or a process
 * worker whose target returned, ends with 0.  Returns -EAGAIN while it
 * runs, -EINVAL before start or for NULL @code, -EBADF.
 */
FT_API int ft_worker_exitcode(ft_worker_t *w, int *code);

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

#ifdef __cplusplus
}
#endif
#endif /* FREETHREADING_H */
