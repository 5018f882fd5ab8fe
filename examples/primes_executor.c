/*
 * The guide's end-to-end example, second form: finding primes with a
 * WorkerPoolExecutor instead of workers and queues.  As in Python's
 *
 *	with WorkerPoolExecutor() as executor:
 *	    candidates = range(10_000, 10_100)
 *	    primes = [n for n, prime in
 *	              zip(candidates, executor.map(is_prime, candidates))
 *	              if prime]
 *
 * the executor has the default number of workers, maps is_prime over the
 * candidates, and the results come back in candidate order, so the
 * primes need no sorting.
 *
 * With --sandbox every worker is a seccomp-sandboxed process that can
 * only compute (FT_SANDBOX_STRICT): is_prime needs nothing more, and the
 * output is the same.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <freethreading.h>

#define FIRST 10000
#define COUNT 100 /* candidates FIRST .. FIRST + COUNT - 1 */

/* Report a failed call and end the program. */
static void die(const char *what, int err)
{
	fprintf(stderr, "primes_executor: %s: %s\n", what, ft_strerror(err));
	exit(1);
}

/* The task: an int candidate in, a bool out (is it prime?). */
static int is_prime(const void *in, void *out)
{
	int n = *(const int *)in;
	bool prime = n >= 2;

	for (int i = 2; prime && (long)i * i <= n; i++)
		if (n % i == 0)
			prime = false;
	*(bool *)out = prime;
	return 0;
}

int main(int argc, char **argv)
{
	struct ft_pool_options options = { 0 };
	int candidates[COUNT];
	bool prime[COUNT];
	int primes[COUNT], found = 0;
	ft_executor_t *executor;
	int err;

	for (int i = 0; i < COUNT; i++)
		candidates[i] = FIRST + i;

	if (argc > 1 && strcmp(argv[1], "--sandbox") == 0) {
		options.sandbox = ft_sandbox_new(FT_SANDBOX_STRICT,
						 FT_SANDBOX_DENY_KILL);
		if (!options.sandbox)
			die("ft_sandbox_new", errno);
	}
	/* WorkerPoolExecutor(): Python's default number of workers.  The
	 * executor keeps its own copy of the sandbox's rules. */
	executor = ft_executor_new(FT_DEFAULT_WORKERS, &options);
	ft_sandbox_free((ft_sandbox_t *)options.sandbox);
	if (!executor)
		die("ft_executor_new", errno);
	err = ft_executor_map(executor, is_prime, candidates, COUNT,
			      sizeof(int), prime, sizeof(bool), 1, FT_FOREVER);
	if (err)
		die("ft_executor_map", err);
	/* Leaving the `with` block: shut down, wait, release. */
	err = ft_executor_free(executor);
	if (err)
		die("ft_executor_free", err);

	/* zip(candidates, results), keeping the primes. */
	for (int i = 0; i < COUNT; i++)
		if (prime[i])
			primes[found++] = candidates[i];
	printf("Found %d primes: [", found);
	for (int i = 0; i < found; i++)
		printf("%s%d", i ? ", " : "", primes[i]);
	printf("]\n");
	return 0;
}
