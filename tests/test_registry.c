/* SPDX-License-Identifier: MIT */
/*
 * Who is running: ft_current_worker, ft_enumerate, ft_active_count,
 * ft_active_children, ft_get_ident, ft_get_backend.
 *
 * Live workers are held on a pipe "gate" the test opens; workers report
 * through ft_test_shared() memory, polled under a deadline that only
 * guards against a deadlock.  Workers never assert.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define SLOTS 16

struct shm {
	int started;
	int flag;
	int rc[SLOTS];
	int val[SLOTS];
	long ident[SLOTS];
	long pid[SLOTS];
	long tid[SLOTS];
	ft_worker_t *handle[SLOTS];
	ft_worker_t *list[SLOTS];
	char name[SLOTS][FT_WORKER_NAME_MAX + 1];
	int gate_rd, gate_wr;
};

static struct shm *S;

static void mark_started(void)
{
	__atomic_fetch_add(&S->started, 1, __ATOMIC_RELEASE);
}

static void gate_pass(void)
{
	char c;
	ssize_t r;
	do
		r = read(S->gate_rd, &c, 1);
	while (r < 0 && errno == EINTR);
}

static void gate_open(int n)
{
	for (int i = 0; i < n; i++)
		cr_assert_eq(write(S->gate_wr, "x", 1), 1);
}

static void shm_setup(void)
{
	int fd[2];
	S = ft_test_shared(sizeof(*S));
	cr_assert_eq(pipe(fd), 0);
	S->gate_rd = fd[0];
	S->gate_wr = fd[1];
}

static void shm_reset(void)
{
	int rd = S->gate_rd, wr = S->gate_wr;
	memset(S, 0, sizeof(*S));
	S->gate_rd = rd;
	S->gate_wr = wr;
}

static long gettid_raw(void)
{
	return (long)syscall(SYS_gettid);
}

static bool listed(ft_worker_t *const *v, int n, const ft_worker_t *w)
{
	for (int i = 0; i < n; i++)
		if (v[i] == w)
			return true;
	return false;
}

static void body_gated(void *arg)
{
	(void)arg;
	mark_started();
	gate_pass();
}

/* ---------------------------------------------------------------- backend */

Test(registry, backend_follows_the_environment, .timeout = FT_TEST_TIMEOUT)
{
	const char *env = getenv("FREETHREADING_BACKEND");
	const char *b = ft_get_backend();
	cr_assert_not_null(b);
	if (env && *env)
		cr_assert_str_eq(b, env);
	else
		cr_assert_str_eq(b, "threading");
	cr_assert_eq(ft_get_backend(), b, "the choice is made once");
}

/* ---------------------------------------------------------------- main */

Test(registry, main_worker, .timeout = FT_TEST_TIMEOUT)
{
	ft_worker_t *m = ft_current_worker();
	cr_assert_not_null(m);
	cr_assert_str_eq(ft_worker_name(m),
			 ft_test_multiprocessing() ? "MainProcess" : "MainThread");
	cr_assert_eq(ft_current_worker(), m);
	cr_assert_eq(ft_worker_is_alive(m), 1);
	cr_assert_eq(ft_worker_ident(m), (long)getpid());
	cr_assert_eq(ft_worker_daemon(m), 0);

	ft_worker_t *v[4] = { NULL };
	cr_assert_eq(ft_enumerate(v, 4), 1, "only main runs");
	cr_assert_eq(v[0], m);
	cr_assert_eq(ft_active_count(), 1);
	cr_assert_eq(ft_enumerate(NULL, 0), 1);
	cr_assert_eq(ft_active_children(NULL, 0), 0, "main is nobody's child");
}

/* ---------------------------------------------------------------- ident */

static void body_ids(void *arg)
{
	int i = (int)(intptr_t)arg;
	S->ident[i] = ft_get_ident();
	S->pid[i] = getpid();
	S->tid[i] = gettid_raw();
}

static void *plain_thread_ids(void *arg)
{
	body_ids(arg);
	return NULL;
}

Test(registry, get_ident, .timeout = FT_TEST_TIMEOUT)
{
	shm_setup();
	cr_assert_eq(ft_get_ident(), (long)getpid(), "main thread: its pid");
	cr_assert_eq(ft_get_ident(), gettid_raw());

	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		ft_worker_t *w = ft_worker_new(NULL, body_ids, (void *)(intptr_t)k,
					       ft_test_kinds[k]);
		cr_assert_eq(ft_worker_start(w), 0);
		cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
		cr_assert_eq(S->ident[k], S->tid[k], "kind %zu", k);
		cr_assert_eq(S->ident[k], ft_worker_ident(w), "kind %zu", k);
		if (ft_test_kind_is_process(ft_test_kinds[k]))
			cr_assert_eq(S->ident[k], S->pid[k],
				     "kind %zu: a process's main thread", k);
		else
			cr_assert_neq(S->ident[k], (long)getpid(), "kind %zu", k);
		ft_worker_free(w);
	}

	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, plain_thread_ids, (void *)8), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(S->ident[8], S->tid[8], "a thread the library did not start");
	cr_assert_neq(S->ident[8], (long)getpid());
}

/* A process worker forked from a thread that already asked for its id
 * must not report that thread's (cached) id. */
static void body_thread_starts_process(void *arg)
{
	(void)arg;
	S->ident[0] = ft_get_ident();
	ft_worker_t *p = ft_worker_new("grandchild", body_ids, (void *)1,
				       FT_WORKER_PROCESS);
	S->rc[0] = p ? ft_worker_start(p) : -errno;
	if (S->rc[0] == 0)
		S->rc[1] = ft_worker_join(p, FT_FOREVER);
	S->ident[2] = p ? ft_worker_ident(p) : 0;
	ft_worker_free(p);
	S->ident[3] = ft_get_ident();
}

Test(registry, get_ident_in_process_forked_from_a_thread, .timeout = FT_TEST_TIMEOUT)
{
	shm_setup();
	(void)ft_get_ident();
	ft_worker_t *t = ft_worker_new(NULL, body_thread_starts_process, NULL,
				       FT_WORKER_THREAD);
	cr_assert_eq(ft_worker_start(t), 0);
	cr_assert_eq(ft_worker_join(t, FT_FOREVER), 0);
	cr_assert_eq(S->rc[0], 0);
	cr_assert_eq(S->rc[1], 0);
	cr_assert_eq(S->ident[1], S->pid[1], "process worker: ident %ld, pid %ld",
		     S->ident[1], S->pid[1]);
	cr_assert_eq(S->ident[1], S->tid[1]);
	cr_assert_eq(S->ident[2], S->pid[1]);
	cr_assert_eq(S->ident[0], S->ident[3], "the thread's own id is unchanged");
	cr_assert_neq(S->ident[0], S->ident[1]);
	ft_worker_free(t);
}

/* ---------------------------------------------------------------- current */

static void body_current(void *arg)
{
	int i = (int)(intptr_t)arg;
	ft_worker_t *me = ft_current_worker();
	S->handle[i] = me;
	const char *n = ft_worker_name(me);
	snprintf(S->name[i], sizeof(S->name[i]), "%s", n ? n : "(null)");
	S->rc[i] = ft_worker_is_alive(me);
	S->val[i] = ft_current_worker() == me;
}

Test(registry, current_worker_inside_a_worker, .timeout = FT_TEST_TIMEOUT)
{
	shm_setup();
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		char name[32];
		snprintf(name, sizeof(name), "kind-%zu", k);
		ft_worker_t *named = ft_worker_new(name, body_current, (void *)(2 * k),
						   ft_test_kinds[k]);
		ft_worker_t *anon = ft_worker_new(NULL, body_current,
						  (void *)(2 * k + 1), ft_test_kinds[k]);
		cr_assert(named && anon);
		cr_assert_eq(ft_worker_start(named), 0);
		cr_assert_eq(ft_worker_start(anon), 0);
		cr_assert_eq(ft_worker_join(named, FT_FOREVER), 0);
		cr_assert_eq(ft_worker_join(anon, FT_FOREVER), 0);

		cr_assert_eq(S->handle[2 * k], named, "kind %zu", k);
		cr_assert_str_eq(S->name[2 * k], name);
		cr_assert_eq(S->rc[2 * k], 1, "a running worker is alive to itself");
		cr_assert_eq(S->val[2 * k], 1, "stable within the worker");
		cr_assert_eq(S->handle[2 * k + 1], anon, "kind %zu", k);
		cr_assert_str_eq(S->name[2 * k + 1], ft_worker_name(anon));
		cr_assert_eq(strncmp(S->name[2 * k + 1], "Worker-", 7), 0, "%s",
			     S->name[2 * k + 1]);
		ft_worker_free(named);
		ft_worker_free(anon);
	}
	cr_assert_str_eq(ft_worker_name(ft_current_worker()),
			 ft_test_multiprocessing() ? "MainProcess" : "MainThread",
			 "main is still main after workers ran");
}

struct dummy_report {
	ft_worker_t *self;
	char name[FT_WORKER_NAME_MAX + 1];
	int rd; /* blocks here until the test lets it end */
};

static void *plain_thread_current(void *arg)
{
	struct dummy_report *r = arg;
	r->self = ft_current_worker();
	const char *n = r->self ? ft_worker_name(r->self) : NULL;
	snprintf(r->name, sizeof(r->name), "%s", n ? n : "(null)");
	__atomic_store_n(&S->started, 1, __ATOMIC_RELEASE);
	char c;
	while (read(r->rd, &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

Test(registry, dummy_for_foreign_thread, .timeout = FT_TEST_TIMEOUT)
{
	shm_setup();
	ft_worker_t *m = ft_current_worker();
	int base = ft_active_count();
	struct dummy_report r = { .rd = S->gate_rd };
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, plain_thread_current, &r), 0);
	cr_assert(ft_test_await_int(&S->started, 1));
	cr_assert_not_null(r.self);
	cr_assert_neq(r.self, m);
	cr_assert_eq(strncmp(r.name, "Dummy-", 6), 0, "name %s", r.name);
	ft_worker_t *v[8];
	int n = ft_enumerate(v, 8);
	cr_assert_eq(n, base + 1, "a live foreign thread is listed");
	cr_assert(listed(v, n, r.self));
	gate_open(1);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(ft_active_count(), base, "an ended foreign thread is not");
}

/* ---------------------------------------------------------------- counting */

Test(registry, counts_follow_live_workers, .timeout = FT_TEST_TIMEOUT)
{
	enum { N = 3 };
	shm_setup();
	ft_worker_t *m = ft_current_worker();
	int base = ft_active_count();
	cr_assert_eq(base, 1);
	cr_assert_eq(ft_active_children(NULL, 0), 0);

	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		shm_reset();
		ft_worker_t *w[N];
		for (int i = 0; i < N; i++)
			w[i] = ft_worker_new(NULL, body_gated, NULL, ft_test_kinds[k]);
		cr_assert_eq(ft_active_count(), base, "kind %zu: created, not started", k);
		for (int i = 0; i < N; i++)
			cr_assert_eq(ft_worker_start(w[i]), 0);
		cr_assert(ft_test_await_int(&S->started, N));

		ft_worker_t *v[8] = { NULL };
		cr_assert_eq(ft_active_count(), base + N, "kind %zu", k);
		cr_assert_eq(ft_enumerate(NULL, 0), base + N);
		cr_assert_eq(ft_enumerate(v, 8), base + N);
		cr_assert_eq(v[0], m, "main first");
		for (int i = 0; i < N; i++)
			cr_assert(listed(v, base + N, w[i]), "kind %zu: worker %d", k, i);

		/* A short array: filled up to cap, the count is still all. */
		ft_worker_t *shortv[3] = { NULL, NULL, (ft_worker_t *)S };
		cr_assert_eq(ft_enumerate(shortv, 2), base + N);
		cr_assert_eq(shortv[0], m);
		cr_assert(listed(w, N, shortv[1]));
		cr_assert_eq(shortv[2], (ft_worker_t *)S, "nothing past cap");

		ft_worker_t *c[8] = { NULL };
		cr_assert_eq(ft_active_children(NULL, 0), N, "kind %zu", k);
		cr_assert_eq(ft_active_children(c, 8), N);
		for (int i = 0; i < N; i++)
			cr_assert(listed(c, N, w[i]), "kind %zu: child %d", k, i);
		cr_assert(!listed(c, N, m));
		ft_worker_t *one[2] = { NULL, (ft_worker_t *)S };
		cr_assert_eq(ft_active_children(one, 1), N);
		cr_assert(listed(w, N, one[0]));
		cr_assert_eq(one[1], (ft_worker_t *)S);

		gate_open(N);
		for (int i = 0; i < N; i++)
			cr_assert_eq(ft_worker_join(w[i], FT_FOREVER), 0);
		cr_assert_eq(ft_active_count(), base, "kind %zu: after the joins", k);
		cr_assert_eq(ft_active_children(NULL, 0), 0);
		cr_assert_eq(ft_enumerate(v, 8), base);
		cr_assert_eq(v[0], m);
		for (int i = 0; i < N; i++)
			ft_worker_free(w[i]);
		cr_assert_eq(ft_active_count(), base);
	}
}

/* A worker started by a thread worker is a child of this process too. */
static void body_starts_one(void *arg)
{
	unsigned flags = (unsigned)(uintptr_t)arg;
	ft_worker_t *x = ft_worker_new("grandchild", body_gated, NULL, flags);
	S->handle[1] = x;
	S->rc[0] = x ? ft_worker_start(x) : -errno;
	__atomic_store_n(&S->flag, 1, __ATOMIC_RELEASE);
	gate_pass();
	if (S->rc[0] == 0)
		S->rc[1] = ft_worker_join(x, FT_FOREVER);
	ft_worker_free(x);
}

Test(registry, children_of_any_thread_of_the_process, .timeout = FT_TEST_TIMEOUT)
{
	shm_setup();
	for (size_t k = 0; k < FT_TEST_NKINDS; k++) {
		shm_reset();
		ft_worker_t *t = ft_worker_new("starter", body_starts_one,
					       (void *)(uintptr_t)ft_test_kinds[k],
					       FT_WORKER_THREAD);
		cr_assert_eq(ft_worker_start(t), 0);
		cr_assert(ft_test_await_int(&S->flag, 1));
		cr_assert_eq(S->rc[0], 0);
		cr_assert(ft_test_await_int(&S->started, 1));
		ft_worker_t *v[8];
		int n = ft_active_children(v, 8);
		cr_assert_eq(n, 2, "kind %zu: %d children", k, n);
		cr_assert(listed(v, n, t));
		cr_assert(listed(v, n, S->handle[1]));
		cr_assert_eq(ft_active_count(), 3);
		gate_open(2);
		cr_assert_eq(ft_worker_join(t, FT_FOREVER), 0);
		cr_assert_eq(S->rc[1], 0);
		cr_assert_eq(ft_active_children(NULL, 0), 0);
		cr_assert_eq(ft_active_count(), 1);
		ft_worker_free(t);
	}
}

Test(registry, bad_arguments, .timeout = FT_TEST_TIMEOUT)
{
	cr_assert_lt(ft_enumerate(NULL, 3), 0);
	cr_assert_lt(ft_active_children(NULL, 3), 0);
	cr_assert_eq(ft_enumerate(NULL, 0), ft_active_count());
}

/* ---------------------------------------------------------------- whole program */

/* A process worker that starts its own process worker and reports what
 * it sees from inside. */
static void body_middle(void *arg)
{
	(void)arg;
	ft_worker_t *g = ft_worker_new("grandchild", body_gated, NULL,
				       FT_WORKER_PROCESS);
	if (!g || ft_worker_start(g) < 0 || !ft_test_await_int(&S->started, 1)) {
		S->rc[0] = -1;
		__atomic_store_n(&S->flag, 1, __ATOMIC_RELEASE);
		return;
	}
	S->handle[1] = g;
	S->ident[1] = ft_worker_ident(g);
	S->val[0] = ft_active_children(S->list, 4);
	S->val[1] = ft_active_count();
	S->val[2] = ft_enumerate(S->list + 4, 8);
	S->handle[0] = ft_current_worker();
	__atomic_store_n(&S->flag, 1, __ATOMIC_RELEASE);
	S->rc[1] = ft_worker_join(g, FT_FOREVER);
	S->val[3] = ft_active_children(NULL, 0);
	ft_worker_free(g);
}

Test(registry, enumerate_covers_the_whole_program, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	shm_setup();
	ft_worker_t *m = ft_current_worker();
	ft_worker_t *mid = ft_worker_new("middle", body_middle, NULL,
					 FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_start(mid), 0);
	cr_assert(ft_test_await_int(&S->flag, 1));
	cr_assert_eq(S->rc[0], 0, "set-up inside the middle worker failed");
	ft_worker_t *g = S->handle[1];

	/* Seen from the middle worker. */
	cr_assert_eq(S->handle[0], mid);
	cr_assert_eq(S->val[0], 1, "middle's children: %d", S->val[0]);
	cr_assert_eq(S->list[0], g);
	cr_assert_eq(S->val[1], 3, "middle's active count: %d", S->val[1]);
	cr_assert_eq(S->val[2], 3);
	cr_assert_eq(S->list[4], m, "main first, from any process");
	cr_assert(listed(S->list + 4, 3, mid));
	cr_assert(listed(S->list + 4, 3, g));

	/* Seen from here. */
	ft_worker_t *v[8];
	cr_assert_eq(ft_active_count(), 3);
	cr_assert_eq(ft_enumerate(v, 8), 3);
	cr_assert_eq(v[0], m);
	cr_assert(listed(v, 3, mid));
	cr_assert(listed(v, 3, g));
	cr_assert_eq(ft_active_children(v, 8), 1, "only what this process started");
	cr_assert_eq(v[0], mid);
	cr_assert_str_eq(ft_worker_name(g), "grandchild");
	cr_assert_eq(ft_worker_is_alive(g), 1);
	cr_assert_eq(ft_worker_ident(g), S->ident[1]);

	gate_open(1);
	cr_assert_eq(ft_worker_join(mid, FT_FOREVER), 0);
	cr_assert_eq(S->rc[1], 0);
	cr_assert_eq(S->val[3], 0);
	cr_assert_eq(ft_active_count(), 1);
	cr_assert_eq(ft_active_children(NULL, 0), 0);
	ft_worker_free(mid);
}

static void body_block_forever(void *arg)
{
	int i = (int)(intptr_t)arg;
	__atomic_store_n(&S->pid[i], (long)getpid(), __ATOMIC_RELEASE);
	for (;;)
		pause();
}

static void body_middle_forever(void *arg)
{
	(void)arg;
	ft_worker_t *g = ft_worker_new("grandchild", body_block_forever, (void *)1,
				       FT_WORKER_PROCESS);
	if (!g || ft_worker_start(g) < 0)
		S->rc[0] = -1;
	S->handle[1] = g;
	mark_started();
	for (;;)
		pause();
}

/* The grandchild dies with its parent; its record must not stay listed. */
Test(registry, dead_orphan_leaves_enumerate, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	shm_setup();
	/* Orphans come to us: reap the grandchild here, so it is surely gone
	 * (not a zombie waiting for init) before the registry is asked. */
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	ft_worker_t *mid = ft_worker_new("middle", body_middle_forever, NULL,
					 FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_start(mid), 0);
	cr_assert(ft_test_await_int(&S->started, 1));
	cr_assert_eq(S->rc[0], 0);
	double end = ft_test_now() + FT_TEST_GUARD_S;
	while (!__atomic_load_n(&S->pid[1], __ATOMIC_ACQUIRE) && ft_test_now() < end)
		ft_test_nap();
	pid_t gp = (pid_t)S->pid[1];
	cr_assert_gt(gp, 0);
	ft_worker_t *g = S->handle[1];
	cr_assert_eq(ft_active_count(), 3);

	cr_assert_eq(kill((pid_t)ft_worker_ident(mid), SIGKILL), 0);
	cr_assert_eq(ft_worker_join(mid, FT_FOREVER), 0);
	pid_t r = 0;
	end = ft_test_now() + FT_TEST_GUARD_S;
	while ((r = waitpid(gp, NULL, WNOHANG)) == 0 && ft_test_now() < end)
		ft_test_nap();
	if (r == 0)
		kill(gp, SIGKILL);
	cr_assert_eq(r, gp, "grandchild %d outlived its parent", gp);

	/* Liveness wait only: a correct registry answers at once. */
	end = ft_test_now() + 3.0;
	while ((ft_active_count() != 1 || ft_worker_is_alive(g) != 0) &&
	       ft_test_now() < end)
		ft_test_nap();
	cr_assert_eq(ft_worker_is_alive(g), 0, "a dead grandchild is alive");
	cr_assert_eq(ft_active_count(), 1, "a dead grandchild is still listed");
	int code = 1234;
	cr_assert_eq(ft_worker_join(g, 5.0), 0, "join of a dead orphan");
	cr_assert_eq(ft_worker_exitcode(g, &code), 0);
	cr_assert_eq(code, -SIGKILL, "orphan's code %d", code);
	ft_worker_free(mid);
}
