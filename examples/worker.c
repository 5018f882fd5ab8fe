/* The guide's Worker example: a named worker, then a daemon one. */
#include <stdio.h>

#include <freethreading.h>

static void greet(void *arg)
{
	(void)arg;
	printf("Hello from '%s'\n", ft_worker_name(ft_current_worker()));
}

int main(void)
{
	ft_worker_t *worker = ft_worker_new("Worker", greet, NULL, 0);
	ft_worker_start(worker);
	ft_worker_join(worker, FT_FOREVER);

	ft_worker_t *daemon = ft_worker_new("Daemon", greet, NULL, FT_WORKER_DAEMON);
	ft_worker_start(daemon);
	ft_worker_join(daemon, FT_FOREVER);

	ft_worker_free(worker);
	ft_worker_free(daemon);
	return 0;
}
