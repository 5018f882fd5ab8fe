/* SPDX-License-Identifier: MIT */
/*
 * Sandboxed workers (ft_pool_options.sandbox): each call the threat model
 * names is denied as configured (EPERM, or the worker killed); the worker
 * keeps no shared mapping and no descriptor but 0-3; rules can be added
 * and removed; a task that dies, runs past its limit, is cancelled, or
 * scribbles over everything it can write and then makes random system
 * calls fails alone while every other task's result is right; nothing is
 * left behind.  The sandboxes here run under both backends (their
 * processes are forked by thread workers of the engine either way).
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "sandbox/sandbox.h"

/* Workers that crash on purpose write no core files. */
__attribute__((constructor)) static void no_core_files(void)
{
	struct rlimit none = { 0, 0 };
	setrlimit(RLIMIT_CORE, &none);
}

/* @var := a new policy, or the test skips where seccomp filters are not
 * available.  A macro: a skip must return from the test itself. */
#define SANDBOX(var, preset, action)                                          \
	ft_sandbox_t *var = ft_sandbox_new(preset, action);                   \
	if (!var && errno == ENOSYS)                                          \
		cr_skip_test("seccomp filters are not available here");       \
	cr_assert_not_null(var, "ft_sandbox_new: errno %d", errno)

static ft_executor_t *sandboxed(int n, const ft_sandbox_t *sb,
				double time_limit)
{
	struct ft_pool_options o = { .sandbox = sb,
				     .task_time_limit = time_limit };
	ft_executor_t *ex = ft_executor_new(n, &o);
	cr_assert_not_null(ex, "ft_executor_new: errno %d", errno);
	return ex;
}

/* Run @fn on @in in @ex: its code, the output in @out. */
static int run_one(ft_executor_t *ex, ft_task_fn fn, const void *in,
		   size_t in_size, void *out, size_t out_size)
{
	ft_future_t *f = ft_executor_submit(ex, fn, in, in_size, out_size);
	cr_assert_not_null(f, "submit: errno %d", errno);
	int rc = ft_future_result(f, out, FT_FOREVER);
	cr_assert_eq(ft_future_free(f), 0);
	return rc;
}

/* ------------------------------------------------------ denied calls */

enum call { OPEN, SOCKET, EXECVE, PTRACE, IO_URING, CLONE, FORK, KILL_PARENT,
	    NCALLS };
static const char *call_name[] = { "open", "socket", "execve", "ptrace",
				   "io_uring_setup", "clone", "fork",
				   "kill(parent)" };

/* Make call @in; out: 0 if it worked, else its errno. */
static int try_call(const void *in, void *out)
{
	int which = *(const int *)in, err = 0;
	long r = 0;
	errno = 0;
	switch (which) {
	case OPEN:
		r = open("/etc/passwd", O_RDONLY);
		break;
	case SOCKET:
		r = socket(AF_INET, SOCK_STREAM, 0);
		break;
	case EXECVE: {
		char *argv[] = { "true", NULL }, *envp[] = { NULL };
		r = execve("/bin/true", argv, envp);
		break;
	}
	case PTRACE:
		r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		break;
	case IO_URING: {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		r = syscall(SYS_io_uring_setup, 4, &p);
		break;
	}
	case CLONE:
		/* A raw clone: as fork, without glibc's bookkeeping. */
		r = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
		if (r == 0)
			_exit(0);
		break;
	case FORK:
		r = fork();
		if (r == 0)
			_exit(0);
		break;
	case KILL_PARENT:
		r = kill(getppid(), 0);
		break;
	}
	if (r < 0)
		err = errno;
	*(int *)out = err;
	return 0;
}

/* Under strict with EPERM, each call fails with EPERM; getppid, which
 * it also denies, fails too, and a plain computation works. */
Test(sandbox, strict_denies_each_call_with_eperm, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	SANDBOX(sb, FT_SANDBOX_STRICT, FT_SANDBOX_DENY_EPERM);
	ft_executor_t *ex = sandboxed(1, sb, 0);
	cr_assert_eq(ft_sandbox_free(sb), 0);
	for (int c = 0; c < NCALLS; c++) {
		int err = -1;
		cr_assert_eq(run_one(ex, try_call, &c, sizeof(c), &err,
				     sizeof(err)), 0, "%s", call_name[c]);
		cr_assert_eq(err, EPERM, "%s: errno %d", call_name[c], err);
	}
	cr_assert_eq(ft_executor_free(ex), 0);
}

/* With FT_SANDBOX_DENY_KILL each denied call kills the worker (the whole
 * process, SIGSYS): the task fails -ESRCH and the executor serves on. */
Test(sandbox, strict_kills_the_worker_on_each_call,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	SANDBOX(sb, FT_SANDBOX_STRICT, FT_SANDBOX_DENY_KILL);
	ft_executor_t *ex = sandboxed(2, sb, 0);
	ft_sandbox_free(sb);
	for (int c = 0; c < NCALLS; c++) {
		int err = -1;
		cr_assert_eq(run_one(ex, try_call, &c, sizeof(c), &err,
				     sizeof(err)), -ESRCH, "%s", call_name[c]);
	}
	cr_assert_eq(ft_executor_free(ex), 0);
}

/* No network: files open, sockets and exec do not, nor anything locked. */
Test(sandbox, no_network_allows_files_only, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	SANDBOX(sb, FT_SANDBOX_NO_NETWORK, FT_SANDBOX_DENY_EPERM);
	ft_executor_t *ex = sandboxed(1, sb, 0);
	ft_sandbox_free(sb);
	for (int c = 0; c < NCALLS; c++) {
		int err = -1;
		cr_assert_eq(run_one(ex, try_call, &c, sizeof(c), &err,
				     sizeof(err)), 0);
		cr_assert_eq(err, c == OPEN ? 0 : EPERM, "%s: errno %d",
			     call_name[c], err);
	}
	cr_assert_eq(ft_executor_free(ex), 0);
}

/* --------------------------------------------------------- isolation */

struct seen {
	int shared_mappings;  /* lines of /proc/self/maps with 's' */
	int fds;              /* descriptors open, but the one reading */
	int fd_max;           /* the highest of them */
	int arena_mapped;     /* msync on the arena address succeeded */
};

static int look_around(const void *in, void *out)
{
	void *arena_addr = *(void *const *)in;
	struct seen *s = out;
	memset(s, 0, sizeof(*s));
	FILE *m = fopen("/proc/self/maps", "r");
	if (!m)
		return -errno;
	char line[512];
	while (fgets(line, sizeof(line), m)) {
		char perms[5];
		if (sscanf(line, "%*x-%*x %4s", perms) == 1 && perms[3] == 's')
			s->shared_mappings++;
	}
	fclose(m);
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	struct dirent *e;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		s->fds++;
		if (fd > s->fd_max)
			s->fd_max = fd;
	}
	closedir(d);
	uintptr_t page = (uintptr_t)arena_addr & ~(uintptr_t)4095;
	s->arena_mapped = msync((void *)page, 4096, MS_ASYNC) == 0;
	return 0;
}

/* The worker has no shared mapping (the arena is gone), and only 0-2 and
 * its channel open, though the program holds other descriptors. */
Test(sandbox, the_worker_keeps_no_shared_mapping_nor_descriptor,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	int extra = open("/dev/null", O_RDONLY);  /* not O_CLOEXEC */
	cr_assert_geq(extra, 0);
	void *in_arena = ft_shared_alloc(64);
	cr_assert_not_null(in_arena);
	SANDBOX(sb, FT_SANDBOX_NO_NETWORK, FT_SANDBOX_DENY_EPERM);
	ft_executor_t *ex = sandboxed(1, sb, 0);
	ft_sandbox_free(sb);
	struct seen s;
	cr_assert_eq(run_one(ex, look_around, &in_arena, sizeof(in_arena), &s,
			     sizeof(s)), 0);
	cr_assert_eq(s.shared_mappings, 0);
	cr_assert_eq(s.arena_mapped, 0);
	cr_assert_leq(s.fds, 4, "%d descriptors open", s.fds);
	cr_assert_leq(s.fd_max, 3);
	cr_assert_eq(ft_executor_free(ex), 0);
	ft_shared_free(in_arena);
	close(extra);
}

/* ------------------------------------------------------------- rules */

static int call_getppid(const void *in, void *out)
{
	(void)in;
	long r = syscall(SYS_getppid);
	*(long *)out = r < 0 ? -errno : r;
	return 0;
}

static int call_getpid(const void *in, void *out)
{
	(void)in;
	long r = syscall(SYS_getpid);
	*(long *)out = r < 0 ? -errno : r;
	return 0;
}

Test(sandbox, rules_can_be_added_and_removed, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	SANDBOX(sb, FT_SANDBOX_STRICT, FT_SANDBOX_DENY_EPERM);
	cr_assert_eq(ft_sandbox_allow(sb, "no_such_call"), -EINVAL);
	cr_assert_eq(ft_sandbox_allow(NULL, "getppid"), -EINVAL);
	cr_assert_eq(ft_sandbox_allow(sb, NULL), -EINVAL);
	cr_assert_eq(ft_sandbox_deny(sb, "no_such_call"), -EINVAL);
	cr_assert_eq(ft_sandbox_free(NULL), -EINVAL);
	static const char *const never[] = { "ptrace", "io_uring_setup",
					     "seccomp", "clone", "clone3",
					     "process_vm_writev", "kill",
					     "prctl" };
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		cr_assert_eq(ft_sandbox_allow(sb, never[i]), -EPERM, "%s",
			     never[i]);
	long r;
	ft_executor_t *ex = sandboxed(1, sb, 0);
	cr_assert_eq(run_one(ex, call_getppid, NULL, 0, &r, sizeof(r)), 0);
	cr_assert_eq(r, -EPERM);
	cr_assert_eq(ft_executor_free(ex), 0);

	/* Allowed: getppid answers.  Denied: getpid no longer does.  The
	 * first executor's copy was not changed. */
	cr_assert_eq(ft_sandbox_allow(sb, "getppid"), 0);
	cr_assert_eq(ft_sandbox_deny(sb, "getpid"), 0);
	ex = sandboxed(1, sb, 0);
	cr_assert_eq(run_one(ex, call_getppid, NULL, 0, &r, sizeof(r)), 0);
	cr_assert_eq(r, (long)getpid(), "getppid in the worker: %ld", r);
	cr_assert_eq(run_one(ex, call_getpid, NULL, 0, &r, sizeof(r)), 0);
	cr_assert_eq(r, -EPERM);
	cr_assert_eq(ft_executor_free(ex), 0);

	/* Denied again after being allowed. */
	cr_assert_eq(ft_sandbox_deny(sb, "getppid"), 0);
	ex = sandboxed(1, sb, 0);
	cr_assert_eq(run_one(ex, call_getppid, NULL, 0, &r, sizeof(r)), 0);
	cr_assert_eq(r, -EPERM);
	cr_assert_eq(ft_executor_free(ex), 0);
	cr_assert_eq(ft_sandbox_free(sb), 0);
}

Test(sandbox, bad_options, .timeout = FT_TEST_TIMEOUT)
{
	cr_assert_null(ft_sandbox_new(7, FT_SANDBOX_DENY_EPERM));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(ft_sandbox_new(FT_SANDBOX_STRICT, 9));
	cr_assert_eq(errno, EINVAL);
	ft_sandbox_t *sb = ft_sandbox_new(FT_SANDBOX_STRICT,
					  FT_SANDBOX_DENY_EPERM);
	if (!sb)
		cr_skip_test("seccomp filters are not available here");
	/* A sandbox needs its own processes. */
	struct ft_pool_options o = { .sandbox = sb, .flags = FT_WORKER_THREAD };
	cr_assert_null(ft_executor_new(1, &o));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(ft_pool_new(1, &o));
	cr_assert_eq(errno, EINVAL);
	ft_sandbox_free(sb);
}

/* ------------------------------------------- deaths, limits, cancels */

static int initialized;

static int init_42(void *arg)
{
	(void)arg;
	initialized = 42;
	return 0;
}

static int init_fails(void *arg)
{
	(void)arg;
	return -ENOLINK;
}

enum how { LIVE, DIE_KILL, DIE_SEGV, DIE_EXIT, SPIN, NHOW };

struct job {
	int how;
	int value;
};

static int task(const void *in, void *out)
{
	const struct job *j = in;
	switch (j->how) {
	case DIE_KILL:
		raise(SIGKILL);
		break;
	case DIE_SEGV:
		raise(SIGSEGV);
		break;
	case DIE_EXIT:
		_exit(3);
	case SPIN:
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	*(long *)out = (long)j->value * j->value + initialized;
	return 0;
}

static long submit_live(ft_executor_t *ex, int value)
{
	struct job j = { LIVE, value };
	long r = -1;
	cr_assert_eq(run_one(ex, task, &j, sizeof(j), &r, sizeof(r)), 0);
	return r;
}

Test(sandbox, a_dead_worker_fails_only_its_task, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	SANDBOX(sb, FT_SANDBOX_STRICT, FT_SANDBOX_DENY_EPERM);
	struct ft_pool_options o = { .sandbox = sb, .initializer = init_42,
				     .task_time_limit = 0.5 };
	ft_executor_t *ex = ft_executor_new(2, &o);
	cr_assert_not_null(ex);
	ft_sandbox_free(sb);
	for (int how = DIE_KILL; how <= DIE_EXIT; how++) {
		struct job j = { how, 1 };
		long r;
		cr_assert_eq(run_one(ex, task, &j, sizeof(j), &r, sizeof(r)),
			     -ESRCH, "how %d", how);
		/* The initializer ran in the replacement too. */
		cr_assert_eq(submit_live(ex, 5), 25 + 42);
	}
	struct job spin = { SPIN, 0 };
	long r;
	cr_assert_eq(run_one(ex, task, &spin, sizeof(spin), &r, sizeof(r)),
		     -ETIMEDOUT);
	cr_assert_eq(submit_live(ex, 6), 36 + 42);
	cr_assert_eq(ft_executor_free(ex), 0);
}

Test(sandbox, a_running_task_can_be_cancelled, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	SANDBOX(sb, FT_SANDBOX_STRICT, FT_SANDBOX_DENY_EPERM);
	ft_executor_t *ex = sandboxed(1, sb, 0);
	ft_sandbox_free(sb);
	struct job spin = { SPIN, 0 };
	ft_future_t *f = ft_executor_submit(ex, task, &spin, sizeof(spin),
					    sizeof(long));
	cr_assert_not_null(f);
	/* Running (claimed by the proxy, sent to its worker): then cancel. */
	while (ft_future_running(f) != 1)
		sched_yield();
	cr_assert_eq(ft_future_cancel(f, true), 1);
	cr_assert_eq(ft_future_result(f, NULL, FT_FOREVER), -ECANCELED);
	cr_assert_eq(ft_future_free(f), 0);
	cr_assert_eq(submit_live(ex, 3), 9);
	cr_assert_eq(ft_executor_free(ex), 0);
}

Test(sandbox, a_failing_initializer_breaks_the_executor,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	SANDBOX(sb, FT_SANDBOX_STRICT, FT_SANDBOX_DENY_EPERM);
	struct ft_pool_options o = { .sandbox = sb, .initializer = init_fails };
	ft_executor_t *ex = ft_executor_new(1, &o);
	cr_assert_not_null(ex);
	ft_sandbox_free(sb);
	struct job j = { LIVE, 2 };
	ft_future_t *f = ft_executor_submit(ex, task, &j, sizeof(j),
					    sizeof(long));
	if (f) {
		cr_assert_eq(ft_future_result(f, NULL, FT_FOREVER), -EPIPE);
		ft_future_free(f);
	} else {
		cr_assert_eq(errno, EPIPE);
	}
	cr_assert_eq(ft_executor_free(ex), 0);
}

/* A pool maps in sandboxed workers: items and results in order. */
static int square_int(const void *in, void *out)
{
	int v = *(const int *)in;
	*(int *)out = v * v;
	return v == -1 ? -EDOM : 0;
}

Test(sandbox, a_pool_maps_in_sandboxed_workers, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	SANDBOX(sb, FT_SANDBOX_STRICT, FT_SANDBOX_DENY_KILL);
	struct ft_pool_options o = { .sandbox = sb };
	ft_pool_t *p = ft_pool_new(2, &o);
	cr_assert_not_null(p);
	ft_sandbox_free(sb);
	enum { N = 10000 };
	static int items[N], results[N];
	for (int i = 0; i < N; i++)
		items[i] = i;
	cr_assert_eq(ft_pool_map(p, square_int, items, N, sizeof(int),
				 results, sizeof(int), 0, FT_FOREVER), 0);
	for (int i = 0; i < N; i++)
		cr_assert_eq(results[i], i * i);
	items[777] = -1;
	cr_assert_eq(ft_pool_map(p, square_int, items, N, sizeof(int),
				 results, sizeof(int), 7, FT_FOREVER), -EDOM);
	cr_assert_eq(ft_pool_free(p), 0);
}

/* ------------------------------------------ between tasks, a worker */

static int my_pid(const void *in, void *out)
{
	(void)in;
	*(long *)out = getpid();
	return 0;
}

/* Writes all of its 64-byte output, or (in: 1) its first byte only. */
static int fill_or_touch(const void *in, void *out)
{
	if (*(const int *)in == 1)
		*(unsigned char *)out = 1;
	else
		memset(out, 0xaa, 64);
	return 0;
}

/* Each output starts zeroed in the worker too: a task that writes part of
 * it shows nothing of the one before. */
Test(sandbox, outputs_start_zeroed, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	SANDBOX(sb, FT_SANDBOX_STRICT, FT_SANDBOX_DENY_EPERM);
	ft_executor_t *ex = sandboxed(1, sb, 0);
	ft_sandbox_free(sb);
	unsigned char out[64];
	int how = 0;
	cr_assert_eq(run_one(ex, fill_or_touch, &how, sizeof(how), out, 64), 0);
	cr_assert_eq(out[63], 0xaa);
	how = 1;
	cr_assert_eq(run_one(ex, fill_or_touch, &how, sizeof(how), out, 64), 0);
	cr_assert_eq(out[0], 1);
	for (int i = 1; i < 64; i++)
		cr_assert_eq(out[i], 0, "byte %d", i);
	cr_assert_eq(ft_executor_free(ex), 0);
}

/* A worker killed from outside while idle is replaced before the next
 * task, which runs; max_tasks_per_worker 1 gives each task a process. */
Test(sandbox, an_idle_worker_killed_costs_nothing, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	SANDBOX(sb, FT_SANDBOX_STRICT, FT_SANDBOX_DENY_EPERM);
	ft_executor_t *ex = sandboxed(1, sb, 0);
	long pid, again;
	cr_assert_eq(run_one(ex, my_pid, NULL, 0, &pid, sizeof(pid)), 0);
	cr_assert_eq(kill((pid_t)pid, SIGKILL), 0);
	/* Dead (a zombie until its proxy reaps it, or reaped). */
	double end = ft_test_now() + FT_TEST_GUARD_S;
	while (ft_test_proc_state(pid) != 'Z' &&
	       ft_test_proc_state(pid) != '?') {
		cr_assert_lt(ft_test_now(), end, "worker %ld does not die", pid);
		ft_test_nap();
	}
	cr_assert_eq(run_one(ex, my_pid, NULL, 0, &again, sizeof(again)), 0);
	cr_assert_neq(again, pid);
	cr_assert_eq(ft_executor_free(ex), 0);

	struct ft_pool_options o = { .sandbox = sb, .max_tasks_per_worker = 1 };
	ex = ft_executor_new(1, &o);
	cr_assert_not_null(ex);
	cr_assert_eq(run_one(ex, my_pid, NULL, 0, &pid, sizeof(pid)), 0);
	cr_assert_eq(run_one(ex, my_pid, NULL, 0, &again, sizeof(again)), 0);
	cr_assert_neq(again, pid, "one process per task");
	cr_assert_eq(ft_executor_free(ex), 0);
	ft_sandbox_free(sb);
}

/* ------------------------------------------------- forged answers */

enum forgery { WRONG_MAGIC, WRONG_SEQ, POSITIVE_CODE, HUGE_CODE,
	       FAILED_PAST_N, NFORGERIES };

struct forged {
	int kind;
	uint32_t seq;  /* the request's: the worker's 1st, 2nd... */
};

/* Answer the request before the child's own loop does, wrong in one
 * field only, then wait to be killed. */
static _Noreturn void forge_and_wait(const struct forged *f)
{
	struct ft__sandbox_resp a = { FT__SANDBOX_MAGIC, f->seq, 0, 0 };
	switch (f->kind) {
	case WRONG_MAGIC:
		a.magic = 0x12345678;
		break;
	case WRONG_SEQ:
		a.seq = f->seq + 1;
		break;
	case POSITIVE_CODE:
		a.code = 5;
		break;
	case HUGE_CODE:
		a.code = -70000;
		break;
	case FAILED_PAST_N:
		a.code = -EIO;
		a.failed_at = 1;  /* of 1 item */
		break;
	}
	char result[sizeof(int)] = { 0 };
	(void)!write(FT__SANDBOX_CHAN_FD, &a, sizeof(a));
	(void)!write(FT__SANDBOX_CHAN_FD, result, sizeof(result));
	for (;;)
		pause();
}

static int forge(const void *in, void *out)
{
	(void)out;
	forge_and_wait(in);
}

/* (S1) Each field is checked: a forged answer fails its task with
 * -EPROTO, the worker is replaced, the next task is right. */
Test(sandbox, forged_answers_are_refused, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	SANDBOX(sb, FT_SANDBOX_STRICT, FT_SANDBOX_DENY_EPERM);
	ft_executor_t *ex = sandboxed(1, sb, 0);
	ft_sandbox_free(sb);
	for (int k = 0; k < NFORGERIES; k++) {
		/* The first worker's first request, then each replacement's
		 * second (after the live task below). */
		struct forged f = { k, k == 0 ? 1 : 2 };
		int out;
		cr_assert_eq(run_one(ex, forge, &f, sizeof(f), &out,
				     sizeof(out)), -EPROTO, "forgery %d", k);
		cr_assert_eq(submit_live(ex, k), (long)k * k);
	}
	cr_assert_eq(ft_executor_free(ex), 0);
}

/* ------------------------------------------------------ hostile code */

#define MAX_RANGES 1024

/* The program's private writable mappings, which a sandboxed worker (a
 * fork of it) has too: where a hostile task scribbles. */
struct hostile {
	unsigned seed;
	unsigned n;
	uintptr_t lo[MAX_RANGES], hi[MAX_RANGES];
};

static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Writes junk into its channel, then random bytes over every page it can
 * write but the stack it runs on, then makes random system calls with
 * random arguments forever (fd-like first arguments kept off 0-2, so the
 * test's own output stays readable). */
static _Noreturn int hostile_loop(const void *in)
{
	const struct hostile *h = in;
	uint64_t s = h->seed | 1;
	struct hostile copy;
	memcpy(&copy, h, sizeof(copy));
	char junk[512];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)next_random(&s);
	for (int i = 0; i < 4; i++)
		(void)!write(3, junk, sizeof(junk));
	uintptr_t here = (uintptr_t)&copy;
	for (unsigned r = 0; r < copy.n; r++) {
		if (here >= copy.lo[r] - (1u << 20) && here < copy.hi[r] + (1u << 20))
			continue;  /* our own stack */
		for (uintptr_t p = copy.lo[r]; p < copy.hi[r]; p += 64)
			*(volatile uint64_t *)p = next_random(&s);
	}
	for (;;) {
		long nr = (long)(next_random(&s) % 460);
		syscall(nr, next_random(&s) | 0x100000, next_random(&s),
			next_random(&s), next_random(&s), next_random(&s),
			next_random(&s));
	}
}

static int hostile(const void *in, void *out)
{
	(void)out;
	hostile_loop(in);
}

static void writable_ranges(struct hostile *h)
{
	FILE *m = fopen("/proc/self/maps", "r");
	cr_assert_not_null(m);
	char line[512];
	h->n = 0;
	while (fgets(line, sizeof(line), m) && h->n < MAX_RANGES) {
		unsigned long lo, hi;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 &&
		    perms[1] == 'w' && perms[3] == 'p' && !strstr(line, "[vvar")) {
			h->lo[h->n] = lo;
			h->hi[h->n] = hi;
			h->n++;
		}
	}
	fclose(m);
}

Test(sandbox, a_hostile_task_fails_only_itself, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	SANDBOX(sb, FT_SANDBOX_STRICT, FT_SANDBOX_DENY_EPERM);
	ft_executor_t *ex = sandboxed(3, sb, 1.0);
	ft_sandbox_free(sb);
	static struct hostile h;
	writable_ranges(&h);
	enum { GOOD = 60, BAD = 4 };
	ft_future_t *good[GOOD], *bad[BAD];
	for (int i = 0; i < GOOD; i++) {
		if (i % (GOOD / BAD) == 0) {
			h.seed = (unsigned)i * 2654435761u;
			bad[i / (GOOD / BAD)] = ft_executor_submit(
				ex, hostile, &h, sizeof(h), 8);
			cr_assert_not_null(bad[i / (GOOD / BAD)]);
		}
		struct job j = { LIVE, i };
		good[i] = ft_executor_submit(ex, task, &j, sizeof(j),
					     sizeof(long));
		cr_assert_not_null(good[i]);
	}
	for (int i = 0; i < GOOD; i++) {
		long r = -1;
		cr_assert_eq(ft_future_result(good[i], &r, FT_FOREVER), 0,
			     "good task %d", i);
		cr_assert_eq(r, (long)i * i);
		ft_future_free(good[i]);
	}
	for (int i = 0; i < BAD; i++) {
		int rc = ft_future_result(bad[i], NULL, FT_FOREVER);
		cr_assert(rc == -ESRCH || rc == -EPROTO || rc == -ETIMEDOUT,
			  "hostile task %d: %d", i, rc);
		ft_future_free(bad[i]);
	}
	cr_assert_eq(submit_live(ex, 7), 49);
	cr_assert_eq(ft_executor_free(ex), 0);
}

/* ------------------------------------------------------- leftovers */

/* Descriptors open but the wait rings of threads (each thread's goes
 * with it, a little after an executor's free returns), which are
 * checked to number no more than the threads. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	int n = 0, rings = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[300], target[256];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t t = readlink(path, target, sizeof(target) - 1);
		target[t > 0 ? t : 0] = '\0';
		if (strstr(target, "io_uring"))
			rings++;
		else
			n++;
	}
	closedir(d);
	cr_assert_leq(rings, ft_test_dir_entries("/proc/self/task"),
		      "%d wait rings", rings);
	return n;
}

/* The count once two looks a nap apart agree: the harness's own
 * descriptors (its reporting sockets) may come and go between them. */
static int settled_fds(void)
{
	double end = ft_test_now() + FT_TEST_GUARD_S;
	for (;;) {
		int a = open_fds();
		ft_test_nap();
		if (open_fds() == a)
			return a;
		cr_assert_lt(ft_test_now(), end, "descriptors do not settle");
	}
}

Test(sandbox, nothing_is_left_behind, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	SANDBOX(sb, FT_SANDBOX_STRICT, FT_SANDBOX_DENY_KILL);
	/* A first round sets up what the runtime keeps for good. */
	for (int round = 0; round < 4; round++) {
		int fds = settled_fds();
		ft_executor_t *ex = sandboxed(2, sb, 0.3);
		for (int how = LIVE; how < NHOW; how++) {
			struct job j = { how, 2 };
			long r;
			(void)run_one(ex, task, &j, sizeof(j), &r, sizeof(r));
		}
		int c = OPEN, err;
		cr_assert_eq(run_one(ex, try_call, &c, sizeof(c), &err,
				     sizeof(err)), -ESRCH);
		cr_assert_eq(ft_executor_free(ex), 0);
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		int r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
		cr_assert(r == -1 ? errno == ECHILD : si.si_pid == 0,
			  "child %d not reaped", (int)si.si_pid);
		/* Each proxy closed its channel and pidfd before it ended,
		 * and the free waited for the proxies. */
		if (round > 0) {
			int now = settled_fds();
			if (now != fds)
				(void)!system("ls -l /proc/$PPID/fd >&2");
			cr_assert_eq(now, fds, "round %d", round);
		}
	}
	ft_sandbox_free(sb);
}

/* ----------------------------------------------------- one worker */

static int worker_opens(void *arg)
{
	(void)arg;
	return open("/etc/passwd", O_RDONLY) < 0 ? errno : 0;
}

/* 0 if the worker has no shared mapping, nothing above stderr open, and
 * no arena at @arg's address; else which of these failed. */
static int worker_looks_around(void *arg)
{
	struct seen s;
	if (look_around(&arg, &s) < 0)
		return 99;
	/* The directory look_around reads is its only descriptor above 2. */
	return (s.shared_mappings ? 1 : 0) | (s.arena_mapped ? 2 : 0) |
	       (s.fd_max > 3 || s.fds > 4 ? 4 : 0);
}

static int exit_code_of(ft_worker_t *w)
{
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
	int code;
	cr_assert_eq(ft_worker_exitcode(w, &code), 0);
	cr_assert_eq(ft_worker_free(w), 0);
	return code;
}

Test(sandbox, a_single_worker_can_be_sandboxed, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	SANDBOX(strict, FT_SANDBOX_STRICT, FT_SANDBOX_DENY_EPERM);
	SANDBOX(kills, FT_SANDBOX_STRICT, FT_SANDBOX_DENY_KILL);
	SANDBOX(files, FT_SANDBOX_NO_NETWORK, FT_SANDBOX_DENY_EPERM);

	ft_worker_t *w = ft_worker_new(NULL, worker_opens, NULL, 0);
	cr_assert_eq(ft_worker_set_sandbox(w, strict), 0);
	cr_assert_eq(exit_code_of(w), EPERM);

	w = ft_worker_new(NULL, worker_opens, NULL, 0);
	cr_assert_eq(ft_worker_set_sandbox(w, kills), 0);
	cr_assert_eq(exit_code_of(w), -SIGSYS);

	void *in_arena = ft_shared_alloc(64);
	cr_assert_not_null(in_arena);
	int extra = open("/dev/null", O_RDONLY);  /* not O_CLOEXEC */
	w = ft_worker_new(NULL, worker_looks_around, in_arena, 0);
	cr_assert_eq(ft_worker_set_sandbox(w, strict), 0);
	cr_assert_eq(ft_worker_set_sandbox(w, files), 0, "replaced");
	cr_assert_eq(exit_code_of(w), 0);
	close(extra);
	ft_shared_free(in_arena);

	/* Bad uses; a worker freed unstarted releases its copy. */
	w = ft_worker_new(NULL, worker_opens, NULL, FT_WORKER_THREAD);
	cr_assert_eq(ft_worker_set_sandbox(w, strict), -EINVAL);
	cr_assert_eq(ft_worker_free(w), 0);
	w = ft_worker_new(NULL, worker_opens, NULL, 0);
	cr_assert_eq(ft_worker_set_sandbox(w, NULL), -EINVAL);
	cr_assert_eq(ft_worker_set_sandbox(NULL, strict), -EINVAL);
	cr_assert_eq(ft_worker_set_sandbox(w, strict), 0);
	cr_assert_eq(ft_worker_free(w), 0);
	w = ft_worker_new(NULL, worker_opens, NULL, 0);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_worker_set_sandbox(w, strict), -EALREADY);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
	cr_assert_eq(ft_worker_free(w), 0);

	ft_sandbox_free(strict);
	ft_sandbox_free(kills);
	ft_sandbox_free(files);
}
