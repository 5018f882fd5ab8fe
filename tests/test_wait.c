/* The wait layer, run by the driver once per implementation
 * (FREETHREADING_WAIT=uring|futex2|futex), between workers of either
 * backend: a process worker proves the futex keys are shared. */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "base/atomic.h"
#include "wait/wait.h"

static void setup(void)
{
	const char *want = getenv("FREETHREADING_WAIT");
	cr_assert_not_null(ft_get_backend());
	if (want && *want)
		cr_assert_str_eq(ft__wait_impl->name, want);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(wait, mismatch_is_eagain, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	uint32_t word = 5;
	cr_assert_eq(ft__wait(&word, 4, NULL), -EAGAIN);
	struct ft__wait_word v[2] = { { &word, 5 }, { &word, 3 } };
	cr_assert_eq(ft__waitv(v, 2, NULL), -EAGAIN);
}

/* A deadline @timeout seconds from now, as the public calls make one. */
static const struct timespec *in(struct ft__deadline *d, double timeout)
{
	cr_assert_eq(ft__deadline_init(d, timeout), 0);
	return ft__deadline_abs(d);
}

Test(wait, deadline_is_honoured_not_early, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	uint32_t word = 0;
	struct ft__deadline d;

	cr_assert_eq(ft__wait(&word, 0, in(&d, 0)), -ETIMEDOUT);
	double t0 = now();
	cr_assert_eq(ft__wait(&word, 0, in(&d, 0.05)), -ETIMEDOUT);
	cr_assert_geq(now() - t0, 0.049);

	uint32_t other = 0;
	struct ft__wait_word v[2] = { { &word, 0 }, { &other, 0 } };
	t0 = now();
	cr_assert_eq(ft__waitv(v, 2, in(&d, 0.05)), -ETIMEDOUT);
	cr_assert_geq(now() - t0, 0.049);
}

Test(wait, wake_without_sleepers_wakes_none, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	uint32_t word = 0;
	cr_assert_eq(ft__wake(&word, 1), 0);
}

Test(wait, deadline_conversion, .timeout = FT_TEST_TIMEOUT)
{
	struct ft__deadline d;

	/* Forever: FT_FOREVER, too large to represent; NULL too. */
	cr_assert_null(in(&d, FT_FOREVER));
	cr_assert_null(in(&d, 0x1p62));
	cr_assert_null(in(&d, INFINITY));
	cr_assert_null(ft__deadline_abs(NULL));
	cr_assert_not(ft__deadline_now(NULL));
	/* Finite, however far. */
	cr_assert_not_null(in(&d, 2e9));
	cr_assert_not(ft__deadline_passed(ft__deadline_abs(&d)));
	cr_assert_not(ft__deadline_passed(in(&d, 100)));
	/* 0: do not wait; its instant is the present. */
	cr_assert(ft__deadline_passed(in(&d, 0)));
	cr_assert(ft__deadline_now(&d));
	/* Other negatives: passed, but not "do not wait". */
	const double passed[] = { -1e-9, -0.5, -1.0000001, -1e300, -INFINITY };
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		cr_assert(ft__deadline_passed(in(&d, passed[i])), "%g", passed[i]);
		cr_assert_not(ft__deadline_now(&d));
	}
	cr_assert_eq(ft__deadline_init(&d, NAN), -EINVAL);
	/* Resolved once: the instant stays put. */
	const struct timespec *a = in(&d, 10);
	struct timespec first = *a;
	const struct timespec *b = ft__deadline_abs(&d);
	cr_assert(b->tv_sec == first.tv_sec && b->tv_nsec == first.tv_nsec);
	cr_assert_not(ft__deadline_passed(NULL));
	cr_assert_eq(ft__deadline_ms(NULL), -1);
}

/* Shared between the test and its worker (a thread or a process). */
struct sleeper {
	uint32_t word[3];
	int result;
	int first_result;
	uint32_t done;
};

static struct sleeper *sh;

static void sleep_on_word(void *arg)
{
	(void)arg;
	sh->result = ft__wait(&sh->word[0], 0, NULL);
	ft__store_release(&sh->done, 1);
}

/* Wake until a sleeper is reached: wake() counts only real sleepers, so a
 * count of 1 proves the worker slept and our wake reached it. */
static void wake_until_reached(uint32_t *word)
{
	while (ft__wake(word, 1) != 1)
		sched_yield();
}

Test(wait, wake_reaches_a_sleeping_worker, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	sh = ft_test_shared(sizeof(*sh));
	sh->result = 99;
	ft_worker_t *w = ft_worker_new("sleeper", sleep_on_word, NULL, 0);
	cr_assert_eq(ft_worker_start(w), 0);
	wake_until_reached(&sh->word[0]);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
	cr_assert_eq(sh->result, 0);
	cr_assert_eq(sh->done, 1);
}

static void sleep_on_three(void *arg)
{
	(void)arg;
	struct ft__wait_word v[3] = {
		{ &sh->word[0], 0 }, { &sh->word[1], 0 }, { &sh->word[2], 0 },
	};
	ft__store_release(&sh->first_result, ft__waitv(v, 3, NULL));
	do
		sh->result = ft__waitv(v, 3, NULL);
	while (ft__load_acquire(&sh->word[2]) == 0);
	ft__store_release(&sh->done, 1);
}

Test(wait, waitv_wakes_on_any_word, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	bool emulated = !strcmp(ft__wait_impl->name, "futex");

	sh = ft_test_shared(sizeof(*sh));
	sh->first_result = 99;
	ft_worker_t *w = ft_worker_new("sleeper", sleep_on_three, NULL, 0);
	cr_assert_eq(ft_worker_start(w), 0);
	/* Classic futex(2) sleeps on the first word only and rechecks the
	 * others between slices; the real vector waits must be reached by a
	 * wake of the third word itself. */
	if (!emulated) {
		wake_until_reached(&sh->word[2]);
		while (ft__load_acquire(&sh->first_result) == 99)
			sched_yield();
		cr_assert_eq(ft__load_acquire(&sh->first_result), 2,
			     "index of the woken word");
	}
	ft__store_release(&sh->word[2], 1);
	ft__wake(&sh->word[2], 1);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
	cr_assert_eq(sh->done, 1);
}

static void count_wakes(void *arg)
{
	(void)arg;
	ft__wait(&sh->word[1], 0, NULL);
	ft__fetch_add_acq_rel(&sh->done, 1u);
}

Test(wait, wake_n_wakes_at_most_n, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	ft_worker_t *w[3];

	sh = ft_test_shared(sizeof(*sh));
	for (int i = 0; i < 3; i++) {
		w[i] = ft_worker_new(NULL, count_wakes, NULL, 0);
		cr_assert_eq(ft_worker_start(w[i]), 0);
	}
	int woken = 0;
	while (woken < 3) {
		int r = ft__wake(&sh->word[1], 2);
		cr_assert_leq(r, 2);
		woken += r;
		if (!r)
			sched_yield();
	}
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ft_worker_join(w[i], FT_FOREVER), 0);
	cr_assert_eq(sh->done, 3);
}

Test(wait, fds_ready_and_timeout, .init = setup, .timeout = FT_TEST_TIMEOUT)
{
	int p[2];
	struct ft__deadline d;

	cr_assert_eq(pipe(p), 0);
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	cr_assert_eq(ft__wait_fds(&pfd, 1, in(&d, 0.02)), -ETIMEDOUT);
	cr_assert_eq(write(p[1], "x", 1), 1);
	cr_assert_eq(ft__wait_fds(&pfd, 1, NULL), 1);
	cr_assert(pfd.revents & POLLIN);
	close(p[0]);
	close(p[1]);
}

/* io_uring fds in this process's table. */
static int count_ring_fds(void)
{
	char path[64], target[64];
	int n = 0;
	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		n += strstr(target, "io_uring") != NULL;
	}
	return n;
}

static void sleep_once(void *arg)
{
	(void)arg;
	uint32_t word = 0;
	struct ft__deadline d;
	/* A timed wait that times out: the thread makes its ring. */
	ft__deadline_init(&d, 0.001);
	ft__wait(&word, 0, ft__deadline_abs(&d));
	__atomic_add_fetch(&sh->done, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&sh->result, __ATOMIC_ACQUIRE))
		ft_test_nap();
}

static void count_in_child(void *arg)
{
	(void)arg;
	__atomic_store_n(&sh->first_result, count_ring_fds(), __ATOMIC_RELEASE);
}

/* Threads that slept own a ring each; a process worker forked after must
 * not inherit their fds (they would keep the parent's rings alive). */
Test(wait, process_worker_inherits_no_ring, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	if (strcmp(ft__wait_impl->name, "uring") != 0) {
		cr_log_info("skipped: rings belong to the io_uring wait");
		return;
	}
	sh = ft_test_shared(sizeof(*sh));
	ft_worker_t *t[4];
	for (int i = 0; i < 4; i++)
		t[i] = ft_test_start(sleep_once, FT_WORKER_THREAD);
	cr_assert(ft_test_await_int((const int *)&sh->done, 4));
	cr_assert_geq(count_ring_fds(), 4, "each sleeping thread has a ring");
	sh->first_result = -1;
	ft_test_join(ft_test_start(count_in_child, FT_WORKER_PROCESS));
	cr_assert_eq(__atomic_load_n(&sh->first_result, __ATOMIC_ACQUIRE), 0,
		     "rings inherited by the process worker");
	__atomic_store_n(&sh->result, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 4; i++)
		ft_test_join(t[i]);
}
