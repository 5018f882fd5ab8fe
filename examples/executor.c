/*
 * The guide's WorkerPoolExecutor example: an executor of four workers
 * squares the numbers 0 to 4, as Python's
 *
 *	with WorkerPoolExecutor(max_workers=4) as executor:
 *	    futures = executor.map(square, range(5))
 *	    print(list(futures))
 *
 * does.  ft_executor_map is list(executor.map(...)): it waits for every
 * result and writes them in item order.  Items and results are
 * fixed-size records (an int each) that travel through the shared arena,
 * so the same code runs on threads or on processes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <freethreading.h>

/* Report a failed call and end the program. */
static void die(const char *what, int err)
{
	fprintf(stderr, "executor: %s: %s\n", what, ft_strerror(err));
	exit(1);
}

/* One item in, one result out; 0 is success (a negative code would fail
 * the map, as an exception in Python's square would). */
static int square(const void *in, void *out)
{
	int x = *(const int *)in;

	*(int *)out = x * x;
	return 0;
}

int main(void)
{
	int items[] = {0, 1, 2, 3, 4}; /* range(5) */
	size_t n = sizeof(items) / sizeof(items[0]);
	int results[sizeof(items) / sizeof(items[0])];
	ft_executor_t *executor;
	int err;

	executor = ft_executor_new(4, NULL);
	if (!executor)
		die("ft_executor_new", errno);
	/* One item per task (Python's chunksize=1), no timeout. */
	err = ft_executor_map(executor, square, items, n, sizeof(int),
			      results, sizeof(int), 1, FT_FOREVER);
	if (err)
		die("ft_executor_map", err);
	printf("[");
	for (size_t i = 0; i < n; i++)
		printf("%s%d", i ? ", " : "", results[i]);
	printf("]\n");
	/* Leaving Python's `with` block: shut down, wait, release. */
	err = ft_executor_free(executor);
	if (err)
		die("ft_executor_free", err);
	return 0;
}
