/* ft_shared_alloc: memory every worker of either backend sees. */
#include <errno.h>
#include <stdint.h>

#include "helpers.h"

static int *cell;

static void write_cell(void *arg)
{
	(void)arg;
	cell[1] = cell[0] + 1;
}

Test(shared, visible_across_workers_both_ways, .timeout = FT_TEST_TIMEOUT)
{
	cell = ft_shared_alloc(2 * sizeof(int));
	cr_assert_not_null(cell);
	cr_assert_eq((uintptr_t)cell % 16, 0);
	cr_assert_eq(cell[0], 0);
	cr_assert_eq(cell[1], 0);
	cell[0] = 41;
	ft_worker_t *w = ft_worker_new(NULL, write_cell, NULL, 0);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
	cr_assert_eq(cell[1], 42, "a process worker's write reaches us");
	cr_assert_eq(ft_shared_free(cell), 0);
}

static int **made_by_child;

static void alloc_in_child(void *arg)
{
	(void)arg;
	int *p = ft_shared_alloc(sizeof(int));
	if (p)
		*p = 7;
	*made_by_child = p;
}

Test(shared, memory_made_by_a_process_worker_is_ours_too,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	made_by_child = ft_shared_alloc(sizeof(*made_by_child));
	ft_worker_t *w = ft_worker_new(NULL, alloc_in_child, NULL,
				       FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
	cr_assert_not_null(*made_by_child);
	cr_assert_eq(**made_by_child, 7);
	cr_assert_eq(ft_shared_free(*made_by_child), 0);
}

Test(shared, bad_input, .timeout = FT_TEST_TIMEOUT)
{
	errno = 0;
	cr_assert_null(ft_shared_alloc(0));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(ft_shared_alloc((size_t)1 << 62));
	cr_assert_eq(errno, ENOMEM);
	cr_assert_eq(ft_shared_free(NULL), -EINVAL);
	int local;
	cr_assert_eq(ft_shared_free(&local), -EBADF);
	void *p = ft_shared_alloc(10);
	cr_assert_eq(ft_shared_free(p), 0);
	cr_assert_eq(ft_shared_free(p), -EBADF, "double free");
	ft_lock_t *l = ft_lock_new();
	cr_assert_eq(ft_shared_free(l), -EBADF, "not shared memory");
	cr_assert_eq(ft_lock_locked(l), 0, "and the lock is untouched");
}
