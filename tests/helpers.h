/* Shared by the unit tests. */
#ifndef FT_TEST_HELPERS_H
#define FT_TEST_HELPERS_H

#include <stdbool.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <sys/mman.h>

#include <criterion/criterion.h>

#include "freethreading.h"

/* Deadlock guard for every test: generous, never a timing assertion.
 * Sanitizer builds fork and run several times slower. */
#if defined(__SANITIZE_ADDRESS__)
#define FT_TEST_TIMEOUT 240
#else
#define FT_TEST_TIMEOUT 60
#endif

/* Memory that process workers and the test body both see (a test's own
 * MAP_SHARED page, independent of the library under test). */
static inline void *ft_test_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert(p != MAP_FAILED, "mmap shared test page");
	return p;
}

static inline bool ft_test_multiprocessing(void)
{
	return strcmp(ft_get_backend(), "multiprocessing") == 0;
}

/* How long a liveness wait may poll before a test calls it a deadlock. */
#define FT_TEST_GUARD_S 20.0

static inline double ft_test_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A 1 ms pause inside a bounded liveness wait (never a timing assertion). */
static inline void ft_test_nap(void)
{
	struct timespec ts = { 0, 1000000 };
	nanosleep(&ts, NULL);
}

/* Poll until *@p >= @want; false if the deadlock guard ran out. */
static inline bool ft_test_await_int(const int *p, int want)
{
	double end = ft_test_now() + FT_TEST_GUARD_S;
	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) < want) {
		if (ft_test_now() > end)
			return false;
		ft_test_nap();
	}
	return true;
}

/* Every kind of worker: the backend's own, then each forced one. */
static const unsigned ft_test_kinds[] = { 0, FT_WORKER_PROCESS, FT_WORKER_THREAD };
#define FT_TEST_NKINDS (sizeof(ft_test_kinds) / sizeof(ft_test_kinds[0]))

/* Whether a worker made with @flags runs as a process. */
static inline bool ft_test_kind_is_process(unsigned flags)
{
	if (flags & FT_WORKER_PROCESS)
		return true;
	if (flags & FT_WORKER_THREAD)
		return false;
	return ft_test_multiprocessing();
}

#endif
