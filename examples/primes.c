/*
 * The guide's end-to-end example: finding primes in parallel with workers
 * and queues.  One worker per CPU takes candidates from a task queue and
 * puts the primes it finds on a result queue; an empty message is the
 * "None" sentinel that tells a worker to stop.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <freethreading.h>

static ft_queue_t *tasks;
static ft_queue_t *results;

static bool is_prime(int n)
{
	if (n < 2)
		return false;
	for (int i = 2; (long)i * i <= n; i++)
		if (n % i == 0)
			return false;
	return true;
}

static void worker(void *arg)
{
	(void)arg;
	for (;;) {
		int number;
		size_t len;
		ft_queue_get(tasks, &number, sizeof(number), &len, FT_FOREVER);
		if (len == 0) {
			ft_queue_task_done(tasks);
			break;
		}
		if (is_prime(number))
			ft_queue_put(results, &number, sizeof(number), FT_FOREVER);
		ft_queue_task_done(tasks);
	}
}

static int by_value(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int main(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int n = cpus > 0 ? (int)cpus : 1;
	ft_worker_t **pool = calloc((size_t)n, sizeof(*pool));
	int primes[100], found = 0;

	tasks = ft_queue_new(0);
	results = ft_queue_new(0);
	if (!pool || !tasks || !results) {
		perror("primes");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		pool[i] = ft_worker_new(NULL, worker, NULL, 0);
		ft_worker_start(pool[i]);
	}
	for (int candidate = 10000; candidate < 10100; candidate++)
		ft_queue_put(tasks, &candidate, sizeof(candidate), FT_FOREVER);
	for (int i = 0; i < n; i++)
		ft_queue_put(tasks, NULL, 0, FT_FOREVER);
	ft_queue_join(tasks, FT_FOREVER);
	for (int i = 0; i < n; i++)
		ft_worker_join(pool[i], FT_FOREVER);

	size_t len;
	while (!ft_queue_empty(results) && found < 100)
		ft_queue_get(results, &primes[found++], sizeof(int), &len, FT_FOREVER);
	qsort(primes, (size_t)found, sizeof(int), by_value);
	printf("Found %d primes: [", found);
	for (int i = 0; i < found; i++)
		printf("%s%d", i ? ", " : "", primes[i]);
	printf("]\n");
	for (int i = 0; i < n; i++)
		ft_worker_free(pool[i]);
	free(pool);
	ft_queue_free(tasks);
	ft_queue_free(results);
	return 0;
}
