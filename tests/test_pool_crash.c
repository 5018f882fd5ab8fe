/* SPDX-License-Identifier: MIT */
/*
 * A process worker that dies under an executor or a pool (SIGKILL,
 * raise(SIGSEGV), a real fault, _exit in a task) fails only its task with
 * -ESRCH; the worker is replaced and the executor keeps serving, also
 * after many deaths in a row and during a map.  A death in the
 * initializer breaks the executor (-EPIPE).  A task time limit and
 * ft_future_cancel with @kill stop a running task by killing its worker.
 * Afterwards nothing is left behind: no zombie, no child, no open
 * descriptor, no arena memory; and a program that exits with an executor
 * it never shut down neither hangs nor leaves its workers running.
 *
 * Every executor and pool here forces process workers, so the tests run
 * under both backends.
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "helpers.h"
#include "arena/arena.h"

struct shared {
	int started;
	int inits;
	long grandchild[2]; /* an exiting worker's executor's workers */
	int ready;
};
static struct shared *sh;

static void setup(void)
{
	sh = ft_test_shared(sizeof(*sh));
}

/* The ways to die run DIE_FIRST..DIE_LAST. */
enum how { LIVE, DIE_KILL, DIE_SEGV, DIE_FAULT, DIE_EXIT, BLOCK };
#define DIE_FIRST DIE_KILL
#define DIE_LAST DIE_EXIT
#define DIE_KINDS (DIE_LAST - DIE_FIRST + 1)

struct job {
	int how;
	int value;
	ft_event_t *gate; /* BLOCK waits for it */
};

struct res {
	long value;
	long pid;
};

static void die(int how)
{
	/* No core files; Criterion's handlers are not the worker's. */
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	switch (how) {
	case DIE_KILL:
		raise(SIGKILL);
		break;
	case DIE_SEGV:
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
		break;
	case DIE_FAULT: {
		/* A real fault: a write to a page that allows none. */
		signal(SIGSEGV, SIG_DFL);
		volatile int *p = mmap(NULL, 4096, PROT_NONE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED)
			*p = 1;
		break;
	}
	case DIE_EXIT:
		_exit(3);
	}
}

static int task(const void *in, void *out)
{
	const struct job *j = in;
	struct res *r = out;
	__atomic_fetch_add(&sh->started, 1, __ATOMIC_ACQ_REL);
	if (j->how == BLOCK && ft_event_wait(j->gate, FT_TEST_GUARD_S) != 0)
		return -ENOLINK; /* never opened: a code no test expects */
	die(j->how);
	r->value = (long)j->value * j->value;
	r->pid = getpid();
	return 0;
}

/* int -> int square; the item 4 kills its worker. */
static int square_or_die_at_4(const void *in, void *out)
{
	int v;
	memcpy(&v, in, sizeof(v));
	if (v == 4)
		die(DIE_KILL);
	v *= v;
	memcpy(out, &v, sizeof(v));
	return 0;
}

static const char *how_name[] = { "live", "SIGKILL", "raise(SIGSEGV)",
				  "a fault (SIGSEGV)", "_exit(3)", "block" };

static ft_executor_t *new_ex(int n, double time_limit)
{
	struct ft_pool_options o = { .flags = FT_WORKER_PROCESS,
				     .task_time_limit = time_limit };
	ft_executor_t *ex = ft_executor_new(n, &o);
	cr_assert_not_null(ex, "errno %d", errno);
	return ex;
}

static ft_future_t *submit(ft_executor_t *ex, int how, int value,
			   ft_event_t *gate)
{
	struct job j = { how, value, gate };
	ft_future_t *f = ft_executor_submit(ex, task, &j, sizeof(j),
					    sizeof(struct res));
	cr_assert_not_null(f, "submit (%s): errno %d", how_name[how], errno);
	return f;
}

/* @n tasks, all submitted before the first result is asked. */
static void still_serves(ft_executor_t *ex, int n)
{
	ft_future_t *f[32];
	cr_assert_leq(n, 32);
	for (int i = 0; i < n; i++)
		f[i] = submit(ex, LIVE, i, NULL);
	for (int i = 0; i < n; i++) {
		struct res r = { 0 };
		int rc = ft_future_result(f[i], &r, FT_FOREVER);
		cr_assert_eq(rc, 0, "task %d after the deaths: %d", i, rc);
		cr_assert_eq(r.value, (long)i * i);
		cr_assert_neq(r.pid, (long)getpid());
		cr_assert_eq(ft_future_free(f[i]), 0);
	}
}

static void expect_died(ft_future_t *f, int how)
{
	int rc = ft_future_result(f, NULL, FT_FOREVER);
	cr_assert_eq(rc, -ESRCH, "%s: got %d", how_name[how], rc);
	cr_assert_eq(ft_future_done(f), 1);
	cr_assert_eq(ft_future_running(f), 0);
	cr_assert_eq(ft_future_cancelled(f), 0);
	cr_assert_eq(ft_future_result(f, NULL, 0), -ESRCH, "asked again");
}

/* ---------------------------------------------------------- one death */

Test(pool_crash, a_dead_worker_fails_only_its_task, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	for (int how = DIE_FIRST; how <= DIE_LAST; how++) {
		ft_executor_t *ex = new_ex(2, 0);
		ft_future_t *f = submit(ex, how, 1, NULL);
		expect_died(f, how);
		cr_assert_eq(ft_future_free(f), 0);
		still_serves(ex, 20);
		cr_assert_eq(ft_executor_free(ex), 0);
	}
}

/* A death while another task runs on the other worker: that one is not
 * touched. */
Test(pool_crash, the_neighbour_task_is_untouched, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	ft_executor_t *ex = new_ex(2, 0);
	ft_event_t *g = ft_event_new();
	cr_assert_not_null(g);
	ft_future_t *blocked = submit(ex, BLOCK, 6, g);
	cr_assert(ft_test_await_int(&sh->started, 1));
	ft_future_t *f = submit(ex, DIE_KILL, 1, NULL);
	expect_died(f, DIE_KILL);
	cr_assert_eq(ft_future_done(blocked), 0);
	cr_assert_eq(ft_future_running(blocked), 1);
	cr_assert_eq(ft_event_set(g), 0);
	struct res r;
	cr_assert_eq(ft_future_result(blocked, &r, FT_FOREVER), 0);
	cr_assert_eq(r.value, 36);
	ft_future_free(f);
	ft_future_free(blocked);
	still_serves(ex, 20);
	cr_assert_eq(ft_executor_free(ex), 0);
	ft_event_free(g);
}

Test(pool_crash, ten_deaths_in_a_row, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	ft_executor_t *ex = new_ex(2, 0);
	for (int i = 0; i < 10; i++) {
		int how = DIE_FIRST + i % DIE_KINDS;
		ft_future_t *f = submit(ex, how, i, NULL);
		expect_died(f, how);
		cr_assert_eq(ft_future_free(f), 0);
	}
	still_serves(ex, 20);
	/* Ten at once, on both workers. */
	ft_future_t *f[10];
	for (int i = 0; i < 10; i++)
		f[i] = submit(ex, DIE_FIRST + i % DIE_KINDS, i, NULL);
	for (int i = 0; i < 10; i++) {
		expect_died(f[i], DIE_FIRST + i % DIE_KINDS);
		cr_assert_eq(ft_future_free(f[i]), 0);
	}
	still_serves(ex, 20);
	cr_assert_eq(ft_executor_free(ex), 0);
}

/* ---------------------------------------------------- during a map */

Test(pool_crash, a_death_fails_the_map_not_the_next, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	ft_executor_t *ex = new_ex(2, 0);
	int items[10], results[10];
	for (int i = 0; i < 10; i++)
		items[i] = i;
	for (size_t c = 1; c <= 3; c += 2) {
		memset(results, 0xff, sizeof(results));
		int rc = ft_executor_map(ex, square_or_die_at_4, items, 10,
					 sizeof(int), results, sizeof(int), c,
					 FT_FOREVER);
		cr_assert_eq(rc, -ESRCH, "chunksize %zu: %d", c, rc);
		/* The results before the dead item's chunk are written. */
		for (int i = 0; i < (c == 1 ? 4 : 3); i++)
			cr_assert_eq(results[i], i * i, "chunksize %zu: %d", c,
				     i);
	}
	items[4] = 40;
	cr_assert_eq(ft_executor_map(ex, square_or_die_at_4, items, 10,
				     sizeof(int), results, sizeof(int), 3,
				     FT_FOREVER),
		     0);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(results[i], items[i] * items[i]);
	cr_assert_eq(ft_executor_free(ex), 0);
}

Test(pool_crash, a_death_in_a_pool, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	struct ft_pool_options o = { .flags = FT_WORKER_PROCESS };
	ft_pool_t *p = ft_pool_new(2, &o);
	cr_assert_not_null(p);
	int items[12], results[12];
	for (int i = 0; i < 12; i++)
		items[i] = i;
	cr_assert_eq(ft_pool_map(p, square_or_die_at_4, items, 12, sizeof(int),
				 results, sizeof(int), 1, FT_FOREVER),
		     -ESRCH);
	/* imap: the dead item says so, the others come. */
	ft_future_t *it = ft_pool_imap(p, square_or_die_at_4, items, 12,
				       sizeof(int), sizeof(int), 1);
	cr_assert_not_null(it);
	for (size_t i = 0; i < 12; i++) {
		int out = -1;
		size_t idx = 99;
		int rc = ft_pool_imap_next(it, &out, &idx, FT_FOREVER);
		cr_assert_eq(idx, i);
		if (i == 4) {
			cr_assert_eq(rc, -ESRCH, "the dead item: %d", rc);
		} else {
			cr_assert_eq(rc, 0, "item %zu: %d", i, rc);
			cr_assert_eq(out, (int)(i * i));
		}
	}
	cr_assert_eq(ft_pool_imap_next(it, NULL, NULL, FT_FOREVER), -ENODATA);
	ft_future_free(it);
	int v = 4, out;
	cr_assert_eq(ft_pool_apply(p, square_or_die_at_4, &v, sizeof(v), &out,
				   sizeof(out), FT_FOREVER),
		     -ESRCH);
	v = 5;
	cr_assert_eq(ft_pool_apply(p, square_or_die_at_4, &v, sizeof(v), &out,
				   sizeof(out), FT_FOREVER),
		     0);
	cr_assert_eq(out, 25);
	items[4] = 40;
	cr_assert_eq(ft_pool_map(p, square_or_die_at_4, items, 12, sizeof(int),
				 results, sizeof(int), 0, FT_FOREVER),
		     0);
	cr_assert_eq(results[4], 1600);
	cr_assert_eq(ft_pool_close(p), 0);
	cr_assert_eq(ft_pool_join(p, FT_FOREVER), 0);
	cr_assert_eq(ft_pool_free(p), 0);
}

/* ------------------------------------------- death in the initializer */

static int die_in_first_init(void *arg)
{
	int *count = arg;
	if (__atomic_fetch_add(count, 1, __ATOMIC_ACQ_REL) == 0)
		raise(SIGKILL);
	return 0;
}

Test(pool_crash, a_death_in_the_initializer_breaks_the_executor,
     .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	struct ft_pool_options o = { .flags = FT_WORKER_PROCESS,
				     .initializer = die_in_first_init,
				     .initarg = &sh->inits };
	ft_executor_t *ex = ft_executor_new(1, &o);
	cr_assert_not_null(ex, "errno %d", errno);
	errno = 0;
	ft_future_t *f = ft_executor_submit(ex, task, &(struct job){ LIVE, 2, NULL },
					    sizeof(struct job),
					    sizeof(struct res));
	if (f) {
		int rc = ft_future_result(f, NULL, FT_FOREVER);
		cr_assert_eq(rc, -EPIPE, "pending: %d", rc);
		ft_future_free(f);
	} else {
		cr_assert_eq(errno, EPIPE, "errno %d", errno);
	}
	errno = 0;
	cr_assert_null(ft_executor_submit(ex, task, &(struct job){ LIVE, 2, NULL },
					  sizeof(struct job),
					  sizeof(struct res)));
	cr_assert_eq(errno, EPIPE, "broken for good: errno %d", errno);
	int items[2] = { 1, 2 }, results[2];
	cr_assert_eq(ft_executor_map(ex, square_or_die_at_4, items, 2,
				     sizeof(int), results, sizeof(int), 1,
				     FT_FOREVER),
		     -EPIPE);
	cr_assert_eq(ft_executor_free(ex), 0);
	cr_assert_eq(sh->started, 0, "a task ran on a broken executor");
	cr_assert_eq(sh->inits, 1, "the dead worker was replaced");
}

/* ------------------------------------------- stopping a running task */

Test(pool_crash, time_limit_kills_a_blocked_task, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	ft_executor_t *ex = new_ex(2, 0.2);
	ft_event_t *never = ft_event_new();
	cr_assert_not_null(never);
	ft_future_t *f = submit(ex, BLOCK, 1, never);
	int rc = ft_future_result(f, NULL, FT_FOREVER);
	cr_assert_eq(rc, -ETIMEDOUT, "got %d", rc);
	cr_assert_eq(ft_future_done(f), 1);
	cr_assert_eq(ft_future_cancelled(f), 0);
	ft_future_free(f);
	/* Short tasks are untouched by the limit. */
	still_serves(ex, 20);
	/* Twice at once. */
	ft_future_t *g[2] = { submit(ex, BLOCK, 1, never),
			      submit(ex, BLOCK, 2, never) };
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(ft_future_result(g[i], NULL, FT_FOREVER),
			     -ETIMEDOUT);
		ft_future_free(g[i]);
	}
	still_serves(ex, 20);
	cr_assert_eq(ft_executor_free(ex), 0);
	ft_event_free(never);
}

struct cb_record {
	int calls;
	int rc;
};

static void record_cb(ft_future_t *f, void *arg)
{
	struct cb_record *c = arg;
	c->rc = ft_future_result(f, NULL, 0);
	__atomic_fetch_add(&c->calls, 1, __ATOMIC_ACQ_REL);
}

Test(pool_crash, cancel_with_kill_stops_a_running_task, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	static struct cb_record c;
	ft_executor_t *ex = new_ex(1, 0);
	ft_event_t *never = ft_event_new();
	cr_assert_not_null(never);
	ft_future_t *f = submit(ex, BLOCK, 1, never);
	cr_assert(ft_test_await_int(&sh->started, 1));
	cr_assert_eq(ft_future_running(f), 1);
	cr_assert_eq(ft_future_add_done_callback(f, record_cb, &c), 0);
	cr_assert_eq(ft_future_cancel(f, true), 1);
	cr_assert_eq(ft_future_result(f, NULL, FT_FOREVER), -ECANCELED);
	cr_assert_eq(ft_future_cancelled(f), 1);
	cr_assert_eq(ft_future_done(f), 1);
	cr_assert_eq(ft_future_cancel(f, true), 1, "cancelled already");
	cr_assert(ft_test_await_int(&c.calls, 1), "callback never ran");
	cr_assert_eq(c.rc, -ECANCELED);
	/* The only worker was killed: its replacement serves. */
	still_serves(ex, 20);
	cr_assert_eq(__atomic_load_n(&c.calls, __ATOMIC_ACQUIRE), 1);
	ft_future_free(f);
	cr_assert_eq(ft_executor_free(ex), 0);
	ft_event_free(never);
}

/* --------------------------------------------- nothing left behind */

/* 1 if descriptor @name is a pidfd of a process that has ended and been
 * reaped (its fdinfo says "Pid: -1"). */
static int pidfd_of_the_dead(const char *name)
{
	char path[300], line[128];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", name);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int dead = 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Pid:", 4) == 0)
			dead = strtol(line + 4, NULL, 10) == -1;
	fclose(f);
	return dead;
}

/* Open descriptors; their targets in @list (for a failure message), and
 * in *@unsettled how many are pidfds of reaped processes or were closed
 * while we looked. */
static int count_threads(void)
{
	return ft_test_dir_entries("/proc/self/task");
}

static int list_fds(char *list, size_t cap, int *unsettled)
{
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	int n = 0;
	size_t len = 0;
	struct dirent *e;
	list[0] = '\0';
	*unsettled = 0;
	int rings = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[300], target[128];
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t t = readlink(path, target, sizeof(target) - 1);
		target[t > 0 ? t : 0] = '\0';
		/* A wait ring belongs to a thread and goes with it; a thread
		 * that lives on (the supervisor) may make its own at its first
		 * contended wait, in any cycle.  Counted apart: at most one per
		 * thread of this process. */
		if (strcmp(target, "anon_inode:[io_uring]") == 0) {
			rings++;
			continue;
		}
		n++;
		int pd = t <= 0 || (strstr(target, "pidfd") &&
				    pidfd_of_the_dead(e->d_name));
		*unsettled += pd;
		if (len < cap)
			len += (size_t)snprintf(list + len, cap - len, " %s:%s%s",
						e->d_name, target,
						pd ? "(ending)" : "");
	}
	closedir(d);
	cr_assert_leq(rings, count_threads(), "%d wait rings for %d threads",
		      rings, count_threads());
	return n;
}

/*
 * The descriptors open once the runtime has let go of the ended workers
 * and threads: the worker supervisor watches each process worker through
 * a pidfd of its own and closes it on its next round after the end,
 * which may come a little after a join (or an executor's free) has
 * returned; a thread's wait ring goes with the thread.  Polls until no
 * pidfd of a reaped process is open and two looks agree; one that stays
 * open is a leak, and the deadlock guard fails the test.
 */
static int settled_fds(char *list, size_t cap)
{
	static char again[4096];
	double end = ft_test_now() + FT_TEST_GUARD_S;
	for (;;) {
		int unsettled, u2;
		int n = list_fds(list, cap, &unsettled);
		if (!unsettled) {
			ft_test_nap();
			int m = list_fds(again, sizeof(again), &u2);
			if (m == n && !u2 && strcmp(list, again) == 0)
				return n;
		}
		cr_assert_lt(ft_test_now(), end,
			     "descriptors do not settle:%s", list);
		ft_test_nap();
	}
}

static int count_fds(void)
{
	char list[4096];
	return settled_fds(list, sizeof(list));
}

/* Children of any thread of this process, as /proc lists them. */
static int count_children(void)
{
	DIR *d = opendir("/proc/self/task");
	cr_assert_not_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/proc/self/task/%s/children",
			 e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		long pid;
		while (fscanf(f, "%ld", &pid) == 1)
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

static void expect_no_zombie(const char *what)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	int r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
	cr_assert(r == -1 ? errno == ECHILD : si.si_pid == 0,
		  "%s: child %d has exited and is not reaped", what,
		  (int)si.si_pid);
	cr_assert_eq(count_children(), 0, "%s: children left", what);
}

/* Live objects in the arena, of every type: a leaked future, task copy,
 * worker record or queue segment shows here whatever the layout. */
static size_t arena_objects(void)
{
	size_t n = 0;
	uint32_t tag;
	for (void *p = ft__arena_next(NULL, &tag); p; p = ft__arena_next(p, &tag))
		n += tag != FT__TAG_FREE && tag != FT__TAG_SLAB;
	return n;
}

static size_t arena_used(void)
{
	struct ft_runtime_info info;
	cr_assert_eq(ft_runtime_info(&info), 0);
	return info.arena_used;
}

/* Large outputs, so that a future the library failed to release would
 * show in the arena's high-water mark (small blocks fill holes). */
#define BIG_OUT (256u << 10)

static int big_output(const void *in, void *out)
{
	(void)in;
	memset(out, 0x5a, BIG_OUT);
	return 0;
}

static void big_outputs(ft_future_t *f)
{
	cr_assert_not_null(f, "errno %d", errno);
	cr_assert_eq(ft_future_result(f, NULL, FT_FOREVER), 0);
	const unsigned char *o = ft_future_out(f);
	cr_assert_not_null(o);
	cr_assert_eq(o[BIG_OUT - 1], 0x5a);
	cr_assert_eq(ft_future_free(f), 0);
}

/* An executor whose workers die every way there is, all futures freed. */
static void executor_cycle(void)
{
	ft_executor_t *ex = new_ex(2, 0.2);
	ft_event_t *never = ft_event_new();
	cr_assert_not_null(never);
	for (int how = DIE_FIRST; how <= DIE_LAST; how++) {
		ft_future_t *f = submit(ex, how, 1, NULL);
		expect_died(f, how);
		cr_assert_eq(ft_future_free(f), 0);
	}
	ft_future_t *f = submit(ex, BLOCK, 1, never);
	cr_assert_eq(ft_future_result(f, NULL, FT_FOREVER), -ETIMEDOUT);
	cr_assert_eq(ft_future_free(f), 0);
	__atomic_store_n(&sh->started, 0, __ATOMIC_RELEASE);
	f = submit(ex, BLOCK, 1, never);
	cr_assert(ft_test_await_int(&sh->started, 1));
	/* Cancelled before the limit can strike (or the limit won). */
	int c = ft_future_cancel(f, true);
	int rc = ft_future_result(f, NULL, FT_FOREVER);
	cr_assert(c == 1 ? rc == -ECANCELED : rc == -ETIMEDOUT,
		  "cancel %d, result %d", c, rc);
	cr_assert_eq(ft_future_free(f), 0);
	still_serves(ex, 10);
	for (int i = 0; i < 4; i++)
		big_outputs(ft_executor_submit(ex, big_output, NULL, 0,
					       BIG_OUT));
	cr_assert_eq(ft_executor_free(ex), 0);
	cr_assert_eq(ft_event_free(never), 0);
}

/* A pool whose workers die, terminated with a task running. */
static void pool_cycle(void)
{
	struct ft_pool_options o = { .flags = FT_WORKER_PROCESS };
	ft_pool_t *p = ft_pool_new(2, &o);
	cr_assert_not_null(p);
	ft_event_t *never = ft_event_new();
	cr_assert_not_null(never);
	for (int how = DIE_FIRST; how <= DIE_LAST; how++) {
		struct job j = { how, 1, NULL };
		ft_future_t *f = ft_pool_apply_async(p, task, &j, sizeof(j),
						     sizeof(struct res), NULL,
						     NULL, NULL);
		cr_assert_not_null(f);
		expect_died(f, how);
		cr_assert_eq(ft_future_free(f), 0);
	}
	int items[8], results[8];
	for (int i = 0; i < 8; i++)
		items[i] = i;
	cr_assert_eq(ft_pool_map(p, square_or_die_at_4, items, 8, sizeof(int),
				 results, sizeof(int), 1, FT_FOREVER),
		     -ESRCH);
	for (int i = 0; i < 4; i++)
		big_outputs(ft_pool_apply_async(p, big_output, NULL, 0, BIG_OUT,
						NULL, NULL, NULL));
	__atomic_store_n(&sh->started, 0, __ATOMIC_RELEASE);
	struct job j = { BLOCK, 1, never };
	ft_future_t *running = ft_pool_apply_async(p, task, &j, sizeof(j),
						   sizeof(struct res), NULL,
						   NULL, NULL);
	cr_assert_not_null(running);
	cr_assert(ft_test_await_int(&sh->started, 1));
	cr_assert_eq(ft_pool_terminate(p), 0);
	cr_assert_eq(ft_future_result(running, NULL, FT_FOREVER), -ESRCH);
	cr_assert_eq(ft_pool_join(p, FT_FOREVER), 0);
	cr_assert_eq(ft_future_free(running), 0);
	cr_assert_eq(ft_pool_free(p), 0);
	cr_assert_eq(ft_event_free(never), 0);
}

/*
 * The arena's usage is a high-water mark: a cycle whose blocks overlap
 * another's in time (a dying worker's, the supervisor's) may raise it
 * once, by a slab or so, after which freed blocks are reused and it stays
 * flat.  A leak makes it climb cycle after cycle: each cycle's futures
 * hold 1 MiB of output (big_outputs), so ten cycles that kept them would
 * raise it by 10 MiB; it may rise by this much at most.
 */
#define ARENA_SLACK (2u << 20)
#define CYCLES 10

static void nothing_left_behind(void (*cycle)(void), const char *what)
{
	/* A first cycle sets up what the runtime keeps for good (the
	 * supervisor, this thread's wait ring...). */
	cycle();
	expect_no_zombie(what);
	static char before[4096], after[4096];
	int fds0 = settled_fds(before, sizeof(before));
	size_t used0 = arena_used(), objects0 = arena_objects();
	for (int i = 0; i < CYCLES; i++) {
		cycle();
		expect_no_zombie(what);
		int fds = settled_fds(after, sizeof(after));
		cr_assert_eq(fds, fds0, "%s, cycle %d: %d descriptors open, %d "
			     "before:\n  now   %s\n  before%s", what, i, fds, fds0,
			     after, before);
		cr_assert_eq(arena_objects(), objects0,
			     "%s, cycle %d: %zu live arena objects, %zu before",
			     what, i, arena_objects(), objects0);
	}
	size_t used = arena_used();
	cr_assert_leq(used, used0 + ARENA_SLACK,
		      "%s: arena at %zu after %d cycles, %zu before", what,
		      used, CYCLES, used0);
}

Test(pool_crash, an_executor_leaves_nothing_behind, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	nothing_left_behind(executor_cycle, "executor");
}

Test(pool_crash, a_terminated_pool_leaves_nothing_behind, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	nothing_left_behind(pool_cycle, "pool");
}

static int returns_0(void *arg)
{
	(void)arg;
	return 0;
}

static void *start_from_a_thread(void *arg)
{
	(void)arg;
	ft_test_join(ft_test_started(ft_worker_new(NULL, returns_0, NULL,
						   FT_WORKER_PROCESS)));
	return NULL;
}

/* From before the first executor, too: what an executor with deaths
 * opens it closes (the runtime is set up by then). */
Test(pool_crash, descriptors_back_to_before_the_first_executor,
     .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	ft_event_t *e = ft_event_new();
	cr_assert_not_null(e);
	cr_assert_eq(ft_event_wait(e, 0.001), -ETIMEDOUT,
		     "sets up this thread's wait");
	/* A process worker started and joined, from the main thread and
	 * from another (a thread's fork goes through the supervisor, as a
	 * manager's replacements do): the supervisor is up, whichever way
	 * this world lets it watch children. */
	ft_test_join(ft_test_started(ft_worker_new(NULL, returns_0, NULL,
						   FT_WORKER_PROCESS)));
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, start_from_a_thread, NULL), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	expect_no_zombie("a plain worker");
	int fds0 = count_fds();
	executor_cycle();
	expect_no_zombie("first executor");
	cr_assert_eq(count_fds(), fds0, "descriptors: %d, %d before",
		     count_fds(), fds0);
	ft_event_free(e);
}

/* ------------------------------------- exiting with a live executor */

/*
 * A program (here a process worker, which ends as a program does) that
 * exits with an executor it never shut down: the exit neither hangs nor
 * leaves the executor's process workers behind, whatever the status, and
 * with a task still running.  @arg: 0 returns 0 with the executor idle,
 * 1 returns 1 with it idle, 2 returns 1 with a task blocked in it.
 */
static int exits_with_a_live_executor(void *arg)
{
	int mode = (int)(intptr_t)arg;
	struct ft_pool_options o = { .flags = FT_WORKER_PROCESS };
	ft_executor_t *ex = ft_executor_new(2, &o);
	if (!ex)
		return 100;
	ft_future_t *f[2];
	for (int i = 0; i < 2; i++) {
		struct job j = { LIVE, i, NULL };
		f[i] = ft_executor_submit(ex, task, &j, sizeof(j),
					  sizeof(struct res));
		if (!f[i])
			return 101;
	}
	for (int i = 0; i < 2; i++) {
		struct res r;
		if (ft_future_result(f[i], &r, FT_TEST_GUARD_S) != 0)
			return 102;
		sh->grandchild[i] = r.pid;
	}
	if (mode == 2) {
		ft_event_t *never = ft_event_new();
		struct job j = { BLOCK, 0, never };
		__atomic_store_n(&sh->started, 0, __ATOMIC_RELEASE);
		ft_future_t *b = ft_executor_submit(ex, task, &j, sizeof(j),
						    sizeof(struct res));
		if (!b || !ft_test_await_int(&sh->started, 1))
			return 103;
	}
	__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
	return mode ? 1 : 0;
}

/* 1 if process @pid runs (a zombie, reaped by whoever adopted it or
 * not, has ended). */
static int runs(long pid)
{
	char st = ft_test_proc_state(pid);
	return st != '?' && st != 'Z' && st != 'X';
}

/* Poll until process @pid has ended (a deadlock guard, not a timing). */
static bool gone(long pid)
{
	double end = ft_test_now() + FT_TEST_GUARD_S;
	while (runs(pid)) {
		if (ft_test_now() > end)
			return false;
		ft_test_nap();
	}
	return true;
}

Test(pool_crash, exiting_with_a_live_executor, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	/* Each mode a few times: a race at exit shows in some rounds. */
	for (int round = 0; round < 12; round++) {
		int mode = round % 3;
		memset(sh, 0, sizeof(*sh));
		ft_worker_t *w = ft_test_started(ft_worker_new(
			NULL, exits_with_a_live_executor, (void *)(intptr_t)mode,
			FT_WORKER_PROCESS));
		int rc = ft_worker_join(w, FT_TEST_GUARD_S);
		if (rc != 0) {
			bool ready = __atomic_load_n(&sh->ready,
						     __ATOMIC_ACQUIRE);
			ft_worker_kill(w);
			ft_worker_join(w, FT_TEST_GUARD_S);
			for (int i = 0; i < 2; i++)
				if (sh->grandchild[i] > 0)
					kill((pid_t)sh->grandchild[i], SIGKILL);
			cr_assert_eq(rc, 0, "round %d, mode %d: the worker %s",
				     round, mode,
				     ready ? "hangs in its exit"
					   : "never got to its exit");
		}
		int code = -1;
		cr_assert_eq(ft_worker_exitcode(w, &code), 0);
		cr_assert_eq(code, mode ? 1 : 0, "mode %d: exit code %d", mode,
			     code);
		for (int i = 0; i < 2; i++) {
			cr_assert_gt(sh->grandchild[i], 0);
			cr_assert(gone(sh->grandchild[i]),
				  "mode %d: executor worker %ld outlives the "
				  "program that made it",
				  mode, sh->grandchild[i]);
		}
		cr_assert_eq(ft_worker_free(w), 0);
	}
	expect_no_zombie("exits");
}
