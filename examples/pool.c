/*
 * The guide's WorkerPool example: a pool of four workers squares the
 * numbers 0 to 4, as Python's
 *
 *	with WorkerPool(workers=4) as pool:
 *	    print(pool.map(square, range(5)))
 *
 * does.  A task takes one fixed-size item and writes one fixed-size
 * result (an int each here); the pool carries both through the shared
 * arena, so the same code runs on threads or on processes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <freethreading.h>

/* Report a failed call and end the program. */
static void die(const char *what, int err)
{
	fprintf(stderr, "pool: %s: %s\n", what, ft_strerror(err));
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
	ft_pool_t *pool;
	int err;

	pool = ft_pool_new(4, NULL);
	if (!pool)
		die("ft_pool_new", errno);
	/* Blocks until every result is in, in item order; chunksize 0 takes
	 * Python's default. */
	err = ft_pool_map(pool, square, items, n, sizeof(int), results,
			  sizeof(int), 0, FT_FOREVER);
	if (err)
		die("ft_pool_map", err);
	printf("[");
	for (size_t i = 0; i < n; i++)
		printf("%s%d", i ? ", " : "", results[i]);
	printf("]\n");
	/* Leaving Python's `with` block: terminate, join, release. */
	err = ft_pool_free(pool);
	if (err)
		die("ft_pool_free", err);
	return 0;
}
