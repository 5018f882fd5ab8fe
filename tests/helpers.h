/* Shared by the unit tests. */
#ifndef FT_TEST_HELPERS_H
#define FT_TEST_HELPERS_H

#include <stdbool.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <criterion/criterion.h>

#include "freethreading.h"

/* Deadlock guard for every test: generous, never a timing assertion. */
#define FT_TEST_TIMEOUT 60

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

#endif
