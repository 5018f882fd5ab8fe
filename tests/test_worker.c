/* SPDX-License-Identifier: MIT */
/*
 * Workers: create, start, join, attributes, exit status, what a process
 * worker inherits, stdio, dying with the parent, exit handling, bad input.
 *
 * Workers are ordered only by things the test controls: a pipe "gate" a
 * worker reads a byte from (the test writes it), and counters in
 * ft_test_shared() memory the test polls under a generous deadline that
 * only guards against a deadlock.  Workers never assert: they report
 * through shared memory or their exit status, and the test body checks.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

/* Deadline for liveness waits: a deadlock guard, never a timing claim. */
#define SLOTS 16

/* A worker blocks in gate_pass() until the test writes a byte. */
struct gate {
	int rd, wr;
};

struct shm {
	int started;            /* workers that reached their body */
	int flag;               /* a go/stop word the test or a worker sets */
	int rc[SLOTS];          /* return codes a worker observed */
	int val[SLOTS];
	long ident[SLOTS];      /* ft_get_ident() as a worker saw it */
	long pid[SLOTS];
	long tid[SLOTS];
	ft_worker_t *handle[SLOTS];
	char name[SLOTS][FT_WORKER_NAME_MAX + 1];
	struct gate gate;
};

static struct shm *S;

static bool await_long(const long *p)
{
	double end = ft_test_now() + FT_TEST_GUARD_S;
	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) == 0) {
		if (ft_test_now() > end)
			return false;
		ft_test_nap();
	}
	return true;
}

static void mark_started(void)
{
	__atomic_fetch_add(&S->started, 1, __ATOMIC_RELEASE);
}

static void gate_pass(void)
{
	char c;
	ssize_t r;
	do
		r = read(S->gate.rd, &c, 1);
	while (r < 0 && errno == EINTR);
}

static void gate_open(int n)
{
	for (int i = 0; i < n; i++)
		cr_assert_eq(write(S->gate.wr, "x", 1), 1);
}

static void shm_setup(void)
{
	int fd[2];
	S = ft_test_shared(sizeof(*S));
	cr_assert_eq(pipe(fd), 0);
	S->gate.rd = fd[0];
	S->gate.wr = fd[1];
}

static void shm_reset(void)
{
	struct gate g = S->gate;
	memset(S, 0, sizeof(*S));
	S->gate = g;
}

static long gettid_raw(void)
{
	return (long)syscall(SYS_gettid);
}

/* A process worker about to crash: no core file, default action. */
static void no_core(int sig)
{
	struct rlimit rl = { 0, 0 };
	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0);
	signal(sig, SIG_DFL);
}

/* Is thread @tid of this process gone from /proc? */
static bool task_gone(long tid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/self/task/%ld", tid);
	return stat(path, &st) < 0 && errno == ENOENT;
}

/* ---------------------------------------------------------------- bodies */

static void body_nop(void *arg)
{
	(void)arg;
}

/* Count the run, then block on the gate; slot @arg says it finished. */
static void body_gated(void *arg)
{
	int i = (int)(intptr_t)arg;
	mark_started();
	gate_pass();
	__atomic_store_n(&S->rc[i], 1, __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------------- names */

static void body_new_default_named(void *arg)
{
	(void)arg;
	ft_worker_t *w = ft_worker_new(NULL, body_nop, NULL, 0);
	const char *n = w ? ft_worker_name(w) : NULL;
	snprintf(S->name[0], sizeof(S->name[0]), "%s", n ? n : "(null)");
	ft_worker_free(w);
}

Test(worker, default_name_counts_across_the_program, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	shm_setup();
	ft_worker_t *a = ft_worker_new(NULL, body_nop, NULL, 0);
	ft_worker_t *b = ft_worker_new(NULL, body_nop, NULL, 0);
	cr_assert(a && b);
	cr_assert_str_eq(ft_worker_name(a), "Worker-1");
	cr_assert_str_eq(ft_worker_name(b), "Worker-2");

	/* A process worker names its own new worker from the same counter. */
	ft_worker_t *p = ft_worker_new("namer", body_new_default_named, NULL,
				       FT_WORKER_PROCESS);
	cr_assert_not_null(p);
	cr_assert_eq(ft_worker_start(p), 0);
	cr_assert_eq(ft_worker_join(p, FT_FOREVER), 0);
	cr_assert_str_eq(S->name[0], "Worker-3");
	ft_worker_t *c = ft_worker_new(NULL, body_nop, NULL, 0);
	cr_assert_str_eq(ft_worker_name(c), "Worker-4");

	ft_worker_free(a);
	ft_worker_free(b);
	ft_worker_free(c);
	ft_worker_free(p);
}

Test(worker, names_and_renames, .timeout = FT_TEST_TIMEOUT)
{
	char longest[FT_WORKER_NAME_MAX + 1];
	char too_long[FT_WORKER_NAME_MAX + 2];
	memset(longest, 'n', FT_WORKER_NAME_MAX);
	longest[FT_WORKER_NAME_MAX] = '\0';
	memset(too_long, 'n', FT_WORKER_NAME_MAX + 1);
	too_long[FT_WORKER_NAME_MAX + 1] = '\0';

	ft_worker_t *w = ft_worker_new("first", body_nop, NULL, 0);
	cr_assert_not_null(w);
	cr_assert_str_eq(ft_worker_name(w), "first");
	cr_assert_eq(ft_worker_set_name(w, "second"), 0);
	cr_assert_str_eq(ft_worker_name(w), "second");
	cr_assert_eq(ft_worker_set_name(w, longest), 0);
	cr_assert_str_eq(ft_worker_name(w), longest);
	cr_assert_eq(ft_worker_set_name(w, too_long), -ENAMETOOLONG);
	cr_assert_str_eq(ft_worker_name(w), longest, "a refused rename keeps the name");
	cr_assert_eq(ft_worker_set_name(w, NULL), -EINVAL);
	cr_assert_str_eq(ft_worker_name(w), longest);

	ft_worker_t *l = ft_worker_new(longest, body_nop, NULL, 0);
	cr_assert_not_null(l, "a name of FT_WORKER_NAME_MAX chars is valid");
	cr_assert_str_eq(ft_worker_name(l), longest);
	ft_worker_free(l);
	ft_worker_free(w);
}

/* ---------------------------------------------------------------- daemon */

Test(worker, daemon_flag, .timeout = FT_TEST_TIMEOUT)
{
	shm_setup();
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		shm_reset();
		ft_worker_t *d = ft_worker_new("d", body_nop, NULL,
					       ft_test_kinds[k] | FT_WORKER_DAEMON);
		cr_assert_eq(ft_worker_daemon(d), 1);
		ft_worker_free(d);

		ft_worker_t *w = ft_worker_new(NULL, body_gated, (void *)0, ft_test_kinds[k]);
		cr_assert_not_null(w);
		cr_assert_eq(ft_worker_daemon(w), 0);
		cr_assert_eq(ft_worker_set_daemon(w, true), 0);
		cr_assert_eq(ft_worker_daemon(w), 1);
		cr_assert_eq(ft_worker_set_daemon(w, false), 0);
		cr_assert_eq(ft_worker_daemon(w), 0);

		cr_assert_eq(ft_worker_start(w), 0);
		cr_assert_eq(ft_worker_set_daemon(w, true), -EINVAL,
			     "kind %zu: daemon change after start", k);
		cr_assert_eq(ft_worker_daemon(w), 0);
		gate_open(1);
		cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
		cr_assert_eq(ft_worker_set_daemon(w, true), -EINVAL,
			     "kind %zu: daemon change after the end", k);
		cr_assert_eq(ft_worker_daemon(w), 0);
		cr_assert_eq(S->rc[0], 1);
		ft_worker_free(w);
	}
}

/* ---------------------------------------------------------------- start/join */

Test(worker, start_twice_is_ealready, .timeout = FT_TEST_TIMEOUT)
{
	shm_setup();
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		shm_reset();
		ft_worker_t *w = ft_worker_new(NULL, body_gated, (void *)0, ft_test_kinds[k]);
		cr_assert_eq(ft_worker_start(w), 0);
		cr_assert_eq(ft_worker_start(w), -EALREADY, "kind %zu", k);
		gate_open(1);
		cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
		cr_assert_eq(ft_worker_start(w), -EALREADY,
			     "kind %zu: start after the end", k);
		cr_assert_eq(S->started, 1, "kind %zu: the target ran once", k);
		cr_assert_eq(S->rc[0], 1);
		ft_worker_free(w);
	}
}

Test(worker, calls_before_start, .timeout = FT_TEST_TIMEOUT)
{
	int code = 1234;
	ft_worker_t *w = ft_worker_new(NULL, body_nop, NULL, 0);
	cr_assert_not_null(w);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), -EINVAL);
	cr_assert_eq(ft_worker_join(w, 0), -EINVAL);
	cr_assert_eq(ft_worker_join(w, 0.01), -EINVAL);
	cr_assert_eq(ft_worker_is_alive(w), 0);
	cr_assert_eq(ft_worker_ident(w), 0);
	cr_assert_eq(ft_worker_exitcode(w, &code), -EINVAL);
	cr_assert_eq(code, 1234, "a failed call leaves *code alone");
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
	cr_assert_eq(ft_worker_exitcode(w, &code), 0);
	cr_assert_eq(code, 0);
	ft_worker_free(w);
}

static void body_self_join(void *arg)
{
	(void)arg;
	ft_worker_t *me = S->handle[0];
	S->handle[1] = ft_current_worker();
	S->rc[0] = ft_worker_join(ft_current_worker(), FT_FOREVER);
	S->rc[1] = ft_worker_join(me, 0);
	S->rc[2] = ft_worker_join(me, 1.0);
	S->rc[3] = ft_worker_join(me, FT_FOREVER);
}

Test(worker, self_join_is_edeadlk, .timeout = FT_TEST_TIMEOUT)
{
	shm_setup();
	ft_worker_t *main_w = ft_current_worker();
	cr_assert_not_null(main_w);
	cr_assert_eq(ft_worker_join(main_w, FT_FOREVER), -EDEADLK);
	cr_assert_eq(ft_worker_join(main_w, 0), -EDEADLK);
	cr_assert_eq(ft_worker_join(main_w, 0.01), -EDEADLK);

	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		shm_reset();
		ft_worker_t *w = ft_worker_new(NULL, body_self_join, NULL, ft_test_kinds[k]);
		S->handle[0] = w;
		cr_assert_eq(ft_worker_start(w), 0);
		cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
		cr_assert_eq(S->handle[1], w, "kind %zu: current worker is its handle", k);
		for (int i = 0; i < 4; i++)
			cr_assert_eq(S->rc[i], -EDEADLK, "kind %zu, join %d: %d", k, i,
				     S->rc[i]);
		ft_worker_free(w);
	}
}

Test(worker, join_timeout_leaves_worker_running, .timeout = FT_TEST_TIMEOUT)
{
	shm_setup();
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		int code = 1234;
		shm_reset();
		ft_worker_t *w = ft_worker_new(NULL, body_gated, (void *)0, ft_test_kinds[k]);
		cr_assert_eq(ft_worker_start(w), 0);
		cr_assert(ft_test_await_int(&S->started, 1));

		cr_assert_eq(ft_worker_join(w, 0.05), -ETIMEDOUT, "kind %zu", k);
		cr_assert_eq(ft_worker_join(w, 0), -EAGAIN, "kind %zu", k);
		cr_assert_eq(ft_worker_is_alive(w), 1, "kind %zu", k);
		cr_assert_eq(ft_worker_exitcode(w, &code), -EAGAIN, "kind %zu", k);
		cr_assert_eq(code, 1234);
		cr_assert_eq(S->rc[0], 0, "still blocked on the gate");

		gate_open(1);
		/* Both the untimed and the timed join paths, in turn. */
		cr_assert_eq(ft_worker_join(w, k == 1 ? 30.0 : FT_FOREVER), 0,
			     "kind %zu", k);
		cr_assert_eq(S->rc[0], 1);
		cr_assert_eq(ft_worker_is_alive(w), 0);
		cr_assert_eq(ft_worker_exitcode(w, &code), 0);
		cr_assert_eq(code, 0);
		cr_assert_eq(ft_worker_join(w, 0), 0, "join of an ended worker");
		cr_assert_eq(ft_worker_join(w, 0.01), 0);
		cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
		cr_assert_eq(ft_worker_join(w, -5.0), 0,
			     "a passed deadline: it has ended");
		cr_assert_eq(ft_worker_join(w, 1e300), 0, "too large: forever");
		ft_worker_free(w);
	}
}

/* Worker A joins B, which the test started: any worker may join any. */
static void body_joiner(void *arg)
{
	ft_worker_t *b = arg;
	S->rc[0] = ft_worker_join(b, 0);
	__atomic_store_n(&S->flag, 1, __ATOMIC_RELEASE);
	S->rc[1] = ft_worker_join(b, FT_FOREVER);
	S->rc[2] = ft_worker_exitcode(b, &S->val[0]);
	S->rc[3] = ft_worker_join(b, 5.0);
	S->rc[4] = ft_worker_is_alive(b);
}

static void body_gated_exit3(void *arg)
{
	(void)arg;
	gate_pass();
	exit(3);
}

Test(worker, any_worker_joins_any_worker, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	shm_setup();
	static const unsigned bkinds[] = { FT_WORKER_PROCESS, FT_WORKER_THREAD };
	for (size_t k = 0; k < 2; k++) {
		for (size_t ak = 0; ak < FT_TEST_NKINDS; ak++) {
			shm_reset();
			S->val[0] = 1234;
			bool bproc = bkinds[k] == FT_WORKER_PROCESS;
			ft_worker_t *b = ft_worker_new("B", bproc ? body_gated_exit3
								  : body_gated,
						       (void *)1, bkinds[k]);
			ft_worker_t *a = ft_worker_new("A", body_joiner, b, ft_test_kinds[ak]);
			cr_assert_eq(ft_worker_start(b), 0);
			cr_assert_eq(ft_worker_start(a), 0);
			cr_assert(ft_test_await_int(&S->flag, 1));
			gate_open(1);
			cr_assert_eq(ft_worker_join(a, FT_FOREVER), 0);
			cr_assert_eq(ft_worker_join(b, FT_FOREVER), 0);
			cr_assert_eq(S->rc[0], -EAGAIN, "B %zu A %zu: %d", k, ak, S->rc[0]);
			cr_assert_eq(S->rc[1], 0, "B %zu A %zu: %d", k, ak, S->rc[1]);
			cr_assert_eq(S->rc[2], 0, "B %zu A %zu: %d", k, ak, S->rc[2]);
			cr_assert_eq(S->val[0], bproc ? 3 : 0, "B %zu A %zu: code %d",
				     k, ak, S->val[0]);
			cr_assert_eq(S->rc[3], 0);
			cr_assert_eq(S->rc[4], 0);
			int code;
			cr_assert_eq(ft_worker_exitcode(b, &code), 0);
			cr_assert_eq(code, bproc ? 3 : 0);
			ft_worker_free(a);
			ft_worker_free(b);
		}
	}
}

/* ---------------------------------------------------------------- ident */

static void body_report_ids(void *arg)
{
	int i = (int)(intptr_t)arg;
	S->ident[i] = ft_get_ident();
	S->pid[i] = getpid();
	S->tid[i] = gettid_raw();
	/* Its own ident, maybe before the starter has published it. */
	S->val[i] = (int)ft_worker_ident(ft_current_worker());
	mark_started();
	gate_pass();
}

Test(worker, ident_is_tid_or_pid, .timeout = FT_TEST_TIMEOUT)
{
	shm_setup();
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		shm_reset();
		ft_worker_t *w = ft_worker_new(NULL, body_report_ids, (void *)0,
					       ft_test_kinds[k]);
		cr_assert_eq(ft_worker_start(w), 0);
		/* Right after start: waits for a thread to publish its id. */
		long id = ft_worker_ident(w);
		cr_assert_gt(id, 0, "kind %zu", k);
		cr_assert(ft_test_await_int(&S->started, 1));
		cr_assert_eq(ft_worker_ident(w), id);
		gate_open(1);
		cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
		cr_assert_eq(ft_worker_ident(w), id, "ident outlives the worker");

		cr_assert_eq(id, S->ident[0], "kind %zu: ident %ld, worker says %ld",
			     k, id, S->ident[0]);
		cr_assert_eq(id, S->tid[0]);
		cr_assert_eq(id, (long)S->val[0], "kind %zu: the worker's own view", k);
		if (ft_test_kind_is_process(ft_test_kinds[k])) {
			cr_assert_eq(id, S->pid[0], "a process worker's ident is its pid");
			cr_assert_neq(S->pid[0], (long)getpid());
		} else {
			cr_assert_eq(S->pid[0], (long)getpid(),
				     "a thread worker shares the process");
			cr_assert_neq(id, (long)getpid());
		}
		ft_worker_free(w);
	}
}

/* ---------------------------------------------------------------- exit status */

static int body_return(void *arg) { (void)arg; return 0; }
static int body_return9(void *arg) { (void)arg; return 9; }
static int body_exit7(void *arg) { (void)arg; exit(7); }
static int body_uexit255(void *arg) { (void)arg; _exit(255); }
static int body_sigkill(void *arg) { (void)arg; raise(SIGKILL); return 0; }
static int body_raise_segv(void *arg)
{
	(void)arg;
	no_core(SIGSEGV);
	raise(SIGSEGV);
	return 0;
}

static int *volatile bad_ptr;

/* The NULL store is the point: a real SIGSEGV, not a sanitizer report. */
__attribute__((no_sanitize("undefined")))
static int body_real_segv(void *arg)
{
	(void)arg;
	no_core(SIGSEGV);
	/* Through a volatile pointer: the compiler can't prove it NULL. */
	*bad_ptr = 1;
	return 0;
}
static int body_abort(void *arg)
{
	(void)arg;
	no_core(SIGABRT);
	abort();
}

enum join_how { JOIN_FOREVER, JOIN_TIMED, JOIN_POLL };

Test(worker, process_exit_status, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	static const struct {
		ft_target_fn fn;
		int code;
		const char *what;
	} cases[] = {
		{ body_return, 0, "return" },
		{ body_return9, 9, "return 9" },
		{ body_exit7, 7, "exit(7)" },
		{ body_uexit255, 255, "_exit(255)" },
		{ body_sigkill, -SIGKILL, "raise(SIGKILL)" },
		{ body_raise_segv, -SIGSEGV, "raise(SIGSEGV)" },
		{ body_real_segv, -SIGSEGV, "NULL write" },
		{ body_abort, -SIGABRT, "abort()" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int how = JOIN_FOREVER; how <= JOIN_POLL; how++) {
			int code = 1234;
			ft_worker_t *w = ft_worker_new(NULL, cases[i].fn, NULL,
						       FT_WORKER_PROCESS);
			cr_assert_eq(ft_worker_start(w), 0);
			if (how == JOIN_FOREVER) {
				cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0,
					     "%s", cases[i].what);
			} else if (how == JOIN_TIMED) {
				cr_assert_eq(ft_worker_join(w, 30.0), 0,
					     "%s, timed join", cases[i].what);
			} else {
				double end = ft_test_now() + FT_TEST_GUARD_S;
				while (ft_worker_is_alive(w) == 1 && ft_test_now() < end)
					ft_test_nap();
				cr_assert_eq(ft_worker_is_alive(w), 0,
					     "%s: is_alive never turned 0",
					     cases[i].what);
			}
			cr_assert_eq(ft_worker_exitcode(w, &code), 0, "%s",
				     cases[i].what);
			cr_assert_eq(code, cases[i].code, "%s (join %d): code %d",
				     cases[i].what, how, code);
			cr_assert_eq(ft_worker_is_alive(w), 0);
			cr_assert_eq(ft_worker_join(w, 0), 0);
			ft_worker_free(w);
		}
	}
}

Test(worker, thread_exit_status_is_its_return, .timeout = FT_TEST_TIMEOUT)
{
	int code = 1234;
	ft_worker_t *w = ft_worker_new(NULL, body_return9, NULL, FT_WORKER_THREAD);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
	cr_assert_eq(ft_worker_exitcode(w, &code), 0);
	cr_assert_eq(code, 9);
	cr_assert_eq(ft_worker_exitcode(w, NULL), -EINVAL);
	ft_worker_free(w);
}

/* ---------------------------------------------------------------- memory */

static int g_value;

struct payload {
	int x;
};

static void body_memory(void *arg)
{
	struct payload *p = arg;
	S->val[0] = g_value;
	S->val[1] = p->x;
	S->pid[0] = getpid();
	g_value = 300;
	p->x = 400;
}

Test(worker, process_sees_memory_as_of_start, .timeout = FT_TEST_TIMEOUT)
{
	shm_setup();
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		shm_reset();
		struct payload pl = { .x = 10 };
		g_value = 1;
		ft_worker_t *w = ft_worker_new(NULL, body_memory, &pl, ft_test_kinds[k]);
		/* Written after new, before start: the worker must see these. */
		g_value = 2;
		pl.x = 20;
		cr_assert_eq(ft_worker_start(w), 0);
		cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
		cr_assert_eq(S->val[0], 2, "kind %zu: global as of start", k);
		cr_assert_eq(S->val[1], 20, "kind %zu: *arg as of start", k);
		if (ft_test_kind_is_process(ft_test_kinds[k])) {
			cr_assert_neq(S->pid[0], (long)getpid(),
				      "kind %zu: own address space", k);
			cr_assert_eq(g_value, 2, "kind %zu: child's write stays in the child", k);
			cr_assert_eq(pl.x, 20);
		} else {
			cr_assert_eq(S->pid[0], (long)getpid(), "kind %zu: same process", k);
			cr_assert_eq(g_value, 300, "kind %zu: thread writes are shared", k);
			cr_assert_eq(pl.x, 400);
		}
		ft_worker_free(w);
	}
}

/* ---------------------------------------------------------------- stdio */

static void body_print(void *arg)
{
	int i = (int)(intptr_t)arg;
	for (int l = 0; l < 3; l++)
		printf("worker %d line %d\n", i, l);
	/* No flush: the worker's end must flush (process) or the parent's
	 * final flush prints it (thread), exactly once either way. */
}

static void body_print_exit(void *arg)
{
	printf("exiter %d\n", (int)(intptr_t)arg);
	exit(0);
}

static int count_line(const char *buf, const char *line)
{
	int n = 0;
	size_t len = strlen(line);
	for (const char *p = buf; *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == len && !memcmp(p, line, len))
			n++;
		p += l + (e ? 1 : 0);
	}
	return n;
}

static int count_lines(const char *buf)
{
	int n = 0;
	for (const char *p = buf; *p; p++)
		n += *p == '\n';
	return n;
}

static char *slurp(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	cr_assert_geq(size, 0);
	char *buf = malloc((size_t)size + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(pread(fd, buf, (size_t)size, 0), size);
	buf[size] = '\0';
	return buf;
}

Test(worker, stdio_lines_appear_exactly_once, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	enum { N = 6 };
	static const unsigned flags[N] = { 0, 0, 0, FT_WORKER_PROCESS,
					   FT_WORKER_THREAD, FT_WORKER_PROCESS };
	char path[] = "/tmp/ft-test-stdio-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);

	(void)ft_get_backend();
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	cr_assert_geq(saved, 0);
	cr_assert_geq(dup2(fd, STDOUT_FILENO), 0);
	/* A file is fully buffered: what a fork copies is whatever is still
	 * in the buffer. */
	setvbuf(stdout, NULL, _IOFBF, BUFSIZ);

	ft_worker_t *w[N];
	printf("parent before\n");
	for (int i = 0; i < N; i++) {
		w[i] = ft_worker_new(NULL, i == N - 1 ? body_print_exit : body_print,
				     (void *)(intptr_t)i, flags[i]);
		int r = ft_worker_start(w[i]);
		if (r < 0)
			abort(); /* stdout is redirected: fail loudly */
		printf("parent started %d\n", i);
	}
	int codes[N];
	int rcs[N];
	for (int i = 0; i < N; i++) {
		rcs[i] = ft_worker_join(w[i], FT_FOREVER);
		ft_worker_exitcode(w[i], &codes[i]);
	}
	/* Starting a process worker flushed what the parent had buffered. */
	char *early = slurp(fd);
	printf("parent after\n");
	fflush(stdout);
	cr_assert_geq(dup2(saved, STDOUT_FILENO), 0);
	close(saved);
	cr_assert_eq(count_line(early, "parent before"), 1,
		     "not flushed by the spawn; output so far:\n%s", early);
	free(early);

	for (int i = 0; i < N; i++) {
		cr_assert_eq(rcs[i], 0);
		cr_assert_eq(codes[i], 0, "worker %d exit %d", i, codes[i]);
	}
	char *buf = slurp(fd);
	char line[64];
	cr_assert_eq(count_line(buf, "parent before"), 1, "output:\n%s", buf);
	cr_assert_eq(count_line(buf, "parent after"), 1, "output:\n%s", buf);
	for (int i = 0; i < N; i++) {
		snprintf(line, sizeof(line), "parent started %d", i);
		cr_assert_eq(count_line(buf, line), 1, "'%s'; output:\n%s", line, buf);
		if (i == N - 1) {
			snprintf(line, sizeof(line), "exiter %d", i);
			cr_assert_eq(count_line(buf, line), 1, "'%s'; output:\n%s",
				     line, buf);
			continue;
		}
		for (int l = 0; l < 3; l++) {
			snprintf(line, sizeof(line), "worker %d line %d", i, l);
			cr_assert_eq(count_line(buf, line), 1, "'%s'; output:\n%s",
				     line, buf);
		}
	}
	cr_assert_eq(count_lines(buf), 2 + N + (N - 1) * 3 + 1, "output:\n%s", buf);
	free(buf);
	close(fd);
	for (int i = 0; i < N; i++)
		ft_worker_free(w[i]);
}

/* ---------------------------------------------------------------- parent death */

static void body_block_forever(void *arg)
{
	int i = (int)(intptr_t)arg;
	__atomic_store_n(&S->pid[i], (long)getpid(), __ATOMIC_RELEASE);
	for (;;)
		pause();
}

static void body_middle(void *arg)
{
	(void)arg;
	ft_worker_t *g = ft_worker_new("grandchild", body_block_forever,
				       (void *)1, FT_WORKER_PROCESS);
	if (!g || ft_worker_start(g) < 0 || !await_long(&S->pid[1])) {
		S->rc[0] = -1;
		mark_started();
		return;
	}
	mark_started();
	for (;;)
		pause();
}

Test(worker, process_worker_dies_with_its_parent, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	shm_setup();
	/* Orphans come to us, so the grandchild's end can be observed. */
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	ft_worker_t *m = ft_worker_new("middle", body_middle, NULL,
				       FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_start(m), 0);
	cr_assert(ft_test_await_int(&S->started, 1));
	cr_assert_eq(S->rc[0], 0, "the middle worker could not start its child");
	pid_t g = (pid_t)S->pid[1];
	cr_assert_gt(g, 0);

	cr_assert_eq(kill((pid_t)ft_worker_ident(m), SIGKILL), 0);
	cr_assert_eq(ft_worker_join(m, FT_FOREVER), 0);
	int code;
	cr_assert_eq(ft_worker_exitcode(m, &code), 0);
	cr_assert_eq(code, -SIGKILL);

	int st = 0;
	pid_t r = 0;
	double end = ft_test_now() + FT_TEST_GUARD_S;
	while ((r = waitpid(g, &st, WNOHANG)) == 0 && ft_test_now() < end)
		ft_test_nap();
	if (r == 0)
		kill(g, SIGKILL);
	cr_assert_neq(r, 0, "the grandchild outlived its parent");
	if (r < 0) {
		/* Reaped before us: the library adopts the orphans of a dead
		 * process worker, and where pidfds are refused its reaper
		 * thread's waitid takes the status.  Gone is what counts. */
		cr_assert_eq(errno, ECHILD);
		cr_assert(kill(g, 0) == -1 && errno == ESRCH,
			  "the grandchild outlived its parent");
	} else {
		cr_assert_eq(r, g);
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
			  "status %#x", st);
	}
	ft_worker_free(m);
}

/* A thread worker starts a process worker and ends without joining it:
 * the process must not die with the thread (only with the process). */
static void body_starts_process(void *arg)
{
	(void)arg;
	S->tid[0] = gettid_raw();
	ft_worker_t *p = ft_worker_new("orphaned-by-thread", body_gated,
				       (void *)1, FT_WORKER_PROCESS);
	S->handle[0] = p;
	S->rc[0] = p ? ft_worker_start(p) : -errno;
	/* Let the process get going (past its own set-up) before the thread
	 * that started it ends. */
	if (S->rc[0] == 0 && !ft_test_await_int(&S->started, 1))
		S->rc[0] = -ETIMEDOUT;
}

Test(worker, process_worker_outlives_the_thread_that_started_it,
     .timeout = FT_TEST_TIMEOUT)
{
	shm_setup();
	ft_worker_t *t = ft_worker_new("starter", body_starts_process, NULL,
				       FT_WORKER_THREAD);
	cr_assert_eq(ft_worker_start(t), 0);
	cr_assert_eq(ft_worker_join(t, FT_FOREVER), 0);
	cr_assert_eq(S->rc[0], 0);
	ft_worker_t *p = S->handle[0];
	cr_assert_not_null(p);
	/* Wait until the starting thread is gone from the kernel too. */
	double end = ft_test_now() + FT_TEST_GUARD_S;
	while (!task_gone(S->tid[0]) && ft_test_now() < end)
		ft_test_nap();
	cr_assert(task_gone(S->tid[0]));

	gate_open(1);
	cr_assert_eq(ft_worker_join(p, FT_FOREVER), 0);
	int code = 1234;
	cr_assert_eq(ft_worker_exitcode(p, &code), 0);
	cr_assert_eq(code, 0, "the process worker was killed (%d) when the "
		     "thread that started it ended", code);
	cr_assert_eq(S->rc[1], 1);
	ft_worker_free(p);
	ft_worker_free(t);
}

/* ---------------------------------------------------------------- exit handling */

/* Set from an atexit handler registered after the library's own. */
static void main_has_returned(void)
{
	__atomic_store_n(&S->flag, 1, __ATOMIC_RELEASE);
}

/* Writes its marker only once the program's main has returned. */
static void body_late_marker(void *arg)
{
	int i = (int)(intptr_t)arg;
	mark_started();
	bool seen = ft_test_await_int(&S->flag, 1);
	__atomic_store_n(&S->rc[i], seen ? 1 : 2, __ATOMIC_RELEASE);
}

static _Noreturn void exit_helper(void)
{
	/* The library's atexit handler is registered on first use, so this
	 * one (registered later) runs first. */
	ft_worker_t *a = ft_worker_new("late-default", body_late_marker, (void *)1, 0);
	ft_worker_t *b = ft_worker_new("late-proc", body_late_marker, (void *)2,
				       FT_WORKER_PROCESS);
	ft_worker_t *c = ft_worker_new("late-thread", body_late_marker, (void *)3,
				       FT_WORKER_THREAD);
	ft_worker_t *d = ft_worker_new("daemon-proc", body_block_forever, (void *)4,
				       FT_WORKER_DAEMON | FT_WORKER_PROCESS);
	ft_worker_t *e = ft_worker_new("daemon-thread", body_block_forever,
				       (void *)5, FT_WORKER_DAEMON | FT_WORKER_THREAD);
	ft_worker_t *f = ft_worker_new("daemon-default", body_block_forever,
				       (void *)6, FT_WORKER_DAEMON);
	if (!a || !b || !c || !d || !e || !f)
		_exit(10);
	if (atexit(main_has_returned) != 0)
		_exit(11);
	if (ft_worker_start(a) || ft_worker_start(b) || ft_worker_start(c) ||
	    ft_worker_start(d) || ft_worker_start(e) || ft_worker_start(f))
		_exit(12);
	if (!ft_test_await_int(&S->started, 3) || !await_long(&S->pid[4]) ||
	    !await_long(&S->pid[5]) || !await_long(&S->pid[6]))
		_exit(13);
	exit(0);
}

Test(worker, exit_joins_workers_and_kills_daemon_processes,
     .timeout = FT_TEST_TIMEOUT)
{
	/* The helper is its own program: don't set the library up here. */
	shm_setup();
	pid_t h = fork();
	cr_assert_geq(h, 0);
	if (h == 0) {
		/* Never outlive the test, whatever the library does. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		exit_helper();
	}
	int st = 0;
	pid_t r;
	double end = ft_test_now() + FT_TEST_GUARD_S;
	while ((r = waitpid(h, &st, WNOHANG)) == 0 && ft_test_now() < end)
		ft_test_nap();
	if (r == 0) {
		kill(h, SIGKILL);
		waitpid(h, &st, 0);
	}
	cr_assert_eq(r, h, "the helper's exit hung");
	cr_assert(WIFEXITED(st), "helper status %#x", st);
	cr_assert_eq(WEXITSTATUS(st), 0, "helper step %d failed", WEXITSTATUS(st));
	for (int i = 1; i <= 3; i++)
		cr_assert_eq(S->rc[i], 1, "non-daemon worker %d not joined at exit "
			     "(marker %d)", i, S->rc[i]);
	/* The helper reaped its daemon process before it exited. */
	pid_t d = (pid_t)S->pid[4];
	cr_assert_gt(d, 0);
	cr_assert(kill(d, 0) < 0 && errno == ESRCH,
		  "daemon process %d outlived the exit", d);
	bool mp = S->pid[6] != (long)h;
	if (mp) {
		pid_t f = (pid_t)S->pid[6];
		cr_assert(kill(f, 0) < 0 && errno == ESRCH,
			  "daemon process %d outlived the exit", f);
	}
}

/* A process worker's end joins the workers it started and kills its
 * daemon processes, as a program's exit does. */
static void body_parent_of_two(void *arg)
{
	(void)arg;
	ft_worker_t *t = ft_worker_new("late-thread", body_late_marker, (void *)1,
				       FT_WORKER_THREAD);
	ft_worker_t *p = ft_worker_new("late-proc", body_late_marker, (void *)2,
				       FT_WORKER_PROCESS);
	ft_worker_t *d = ft_worker_new("daemon", body_block_forever, (void *)3,
				       FT_WORKER_DAEMON | FT_WORKER_PROCESS);
	if (!t || !p || !d || ft_worker_start(t) || ft_worker_start(p) ||
	    ft_worker_start(d) || !ft_test_await_int(&S->started, 2) ||
	    !await_long(&S->pid[3])) {
		S->rc[0] = -1;
		return;
	}
	__atomic_store_n(&S->flag, 1, __ATOMIC_RELEASE);
}

Test(worker, process_worker_end_joins_its_workers, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	shm_setup();
	ft_worker_t *w = ft_worker_new("parent", body_parent_of_two, NULL,
				       FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
	int code = 1234;
	cr_assert_eq(ft_worker_exitcode(w, &code), 0);
	cr_assert_eq(code, 0);
	cr_assert_eq(S->rc[0], 0, "set-up inside the worker failed");
	cr_assert_eq(S->rc[1], 1, "its thread worker was not joined (%d)", S->rc[1]);
	cr_assert_eq(S->rc[2], 1, "its process worker was not joined (%d)", S->rc[2]);
	pid_t d = (pid_t)S->pid[3];
	cr_assert_gt(d, 0);
	cr_assert(kill(d, 0) < 0 && errno == ESRCH,
		  "its daemon process %d outlived it", d);
	ft_worker_free(w);
}

/* ---------------------------------------------------------------- free */

Test(worker, free_running_worker_detaches, .timeout = FT_TEST_TIMEOUT)
{
	shm_setup();
	int base = ft_active_count();
	cr_assert_geq(base, 1);
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		shm_reset();
		ft_worker_t *w = ft_worker_new(NULL, body_gated, (void *)0, ft_test_kinds[k]);
		cr_assert_eq(ft_worker_start(w), 0);
		cr_assert(ft_test_await_int(&S->started, 1));
		cr_assert_eq(ft_worker_free(w), 0, "kind %zu", k);
		cr_assert_eq(ft_worker_free(w), -EBADF, "kind %zu: second free", k);
		cr_assert_eq(ft_active_count(), base + 1, "kind %zu: it runs on", k);

		gate_open(1);
		cr_assert(ft_test_await_int(&S->rc[0], 1), "kind %zu: the detached worker "
			  "did not run on", k);
		double end = ft_test_now() + FT_TEST_GUARD_S;
		while (ft_active_count() != base && ft_test_now() < end)
			ft_test_nap();
		cr_assert_eq(ft_active_count(), base,
			     "kind %zu: ended detached worker still listed", k);
	}
}

/* ---------------------------------------------------------------- bad input */

Test(worker_bad_input, new_rejects_bad_arguments, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	char too_long[FT_WORKER_NAME_MAX + 2];
	memset(too_long, 'x', FT_WORKER_NAME_MAX + 1);
	too_long[FT_WORKER_NAME_MAX + 1] = '\0';

	errno = 0;
	cr_assert_null(ft_worker_new("w", NULL, NULL, 0));
	cr_assert_eq(errno, EINVAL);

	static const unsigned bad[] = {
		0x8u, 0x80000000u, ~0u, FT_WORKER_PROCESS | FT_WORKER_THREAD,
		FT_WORKER_PROCESS | FT_WORKER_THREAD | FT_WORKER_DAEMON,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		cr_assert_null(ft_worker_new("w", body_nop, NULL, bad[i]),
			       "flags %#x", bad[i]);
		cr_assert_eq(errno, EINVAL, "flags %#x: errno %d", bad[i], errno);
	}
	errno = 0;
	cr_assert_null(ft_worker_new(too_long, body_nop, NULL, 0));
	cr_assert_eq(errno, ENAMETOOLONG);
}

Test(worker_bad_input, null_handle_is_einval, .timeout = FT_TEST_TIMEOUT)
{
	int code;
	cr_assert_eq(ft_worker_start(NULL), -EINVAL);
	cr_assert_eq(ft_worker_join(NULL, FT_FOREVER), -EINVAL);
	cr_assert_eq(ft_worker_join(NULL, 0), -EINVAL);
	cr_assert_eq(ft_worker_is_alive(NULL), -EINVAL);
	cr_assert_null(ft_worker_name(NULL));
	cr_assert_eq(ft_worker_set_name(NULL, "x"), -EINVAL);
	cr_assert_eq(ft_worker_daemon(NULL), -EINVAL);
	cr_assert_eq(ft_worker_set_daemon(NULL, true), -EINVAL);
	cr_assert_eq(ft_worker_ident(NULL), -EINVAL);
	cr_assert_eq(ft_worker_exitcode(NULL, &code), -EINVAL);
	cr_assert_eq(ft_worker_free(NULL), -EINVAL);
}

static void expect_all_ebadf(ft_worker_t *w, const char *what)
{
	int code = 1234;
	cr_assert_eq(ft_worker_start(w), -EBADF, "%s: start", what);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), -EBADF, "%s: join", what);
	cr_assert_eq(ft_worker_join(w, 0), -EBADF, "%s: join(0)", what);
	cr_assert_eq(ft_worker_is_alive(w), -EBADF, "%s: is_alive", what);
	cr_assert_null(ft_worker_name(w), "%s: name", what);
	cr_assert_eq(ft_worker_set_name(w, "x"), -EBADF, "%s: set_name", what);
	cr_assert_eq(ft_worker_daemon(w), -EBADF, "%s: daemon", what);
	cr_assert_eq(ft_worker_set_daemon(w, true), -EBADF, "%s: set_daemon", what);
	cr_assert_eq(ft_worker_ident(w), -EBADF, "%s: ident", what);
	cr_assert_eq(ft_worker_exitcode(w, &code), -EBADF, "%s: exitcode", what);
	cr_assert_eq(code, 1234);
	cr_assert_eq(ft_worker_terminate(w), -EBADF, "%s: terminate", what);
	cr_assert_eq(ft_worker_kill(w), -EBADF, "%s: kill", what);
	bool ended = true;
	cr_assert_eq(ft_worker_wait(&w, 1, FT_ALL_COMPLETED, 0, &ended), -EBADF,
		     "%s: wait", what);
	cr_assert(ended, "%s: wait wrote @ended on error", what);
	cr_assert_eq(ft_worker_free(w), -EBADF, "%s: free", what);
}

Test(worker_bad_input, freed_handle_is_ebadf, .timeout = FT_TEST_TIMEOUT)
{
	ft_worker_t *never = ft_worker_new("never-started", body_nop, NULL, 0);
	cr_assert_not_null(never);
	cr_assert_eq(ft_worker_free(never), 0);
	expect_all_ebadf(never, "freed, never started");

	ft_worker_t *ended = ft_worker_new("ended", body_nop, NULL, 0);
	cr_assert_eq(ft_worker_start(ended), 0);
	cr_assert_eq(ft_worker_join(ended, FT_FOREVER), 0);
	cr_assert_eq(ft_worker_free(ended), 0);
	expect_all_ebadf(ended, "freed after its end");
}

Test(worker_bad_input, random_pointer_is_ebadf, .timeout = FT_TEST_TIMEOUT)
{
	long on_stack[32] = { 0 };
	expect_all_ebadf((ft_worker_t *)on_stack, "stack variable");
	expect_all_ebadf((ft_worker_t *)&on_stack[3], "stack variable + 24");

	void *heap = calloc(1, 256);
	cr_assert_not_null(heap);
	expect_all_ebadf(heap, "heap block");
	free(heap);

	/* Inside the arena, but not at a worker. */
	ft_worker_t *w = ft_worker_new("real", body_nop, NULL, 0);
	cr_assert_not_null(w);
	expect_all_ebadf((ft_worker_t *)((char *)w + 16), "worker + 16");
	expect_all_ebadf((ft_worker_t *)((char *)w + 8), "worker + 8");
	expect_all_ebadf((ft_worker_t *)((char *)w + 1), "worker + 1");
	cr_assert_str_eq(ft_worker_name(w), "real", "probes left the real one alone");
	cr_assert_eq(ft_worker_free(w), 0);
}

Test(worker_bad_input, main_worker_cannot_be_freed_or_restarted,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_worker_t *m = ft_current_worker();
	cr_assert_not_null(m);
	cr_assert_eq(ft_worker_free(m), -EINVAL);
	cr_assert_eq(ft_worker_start(m), -EALREADY);
	cr_assert_eq(ft_worker_set_daemon(m, true), -EINVAL);
	cr_assert_eq(ft_worker_is_alive(m), 1, "main still listed after the attempts");
	cr_assert_eq(ft_current_worker(), m);
}

Test(worker_bad_input, exitcode_null_out, .timeout = FT_TEST_TIMEOUT)
{
	ft_worker_t *w = ft_worker_new(NULL, body_nop, NULL, 0);
	cr_assert_eq(ft_worker_exitcode(w, NULL), -EINVAL);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
	cr_assert_eq(ft_worker_exitcode(w, NULL), -EINVAL);
	ft_worker_free(w);
}
