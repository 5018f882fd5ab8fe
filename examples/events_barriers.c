/* The guide's "Events and Barriers" example. */
#include <stdio.h>

#include <freethreading.h>

static ft_event_t *start_signal;
static ft_barrier_t *checkpoint;
static ft_barrier_t *all_waiting; /* lets main set the event once all wait */

static void runner(void *arg)
{
	const char *me = ft_worker_name(ft_current_worker());

	(void)arg;
	printf("'%s' waiting for start signal\n", me);
	fflush(stdout);
	ft_barrier_wait(all_waiting, FT_FOREVER);
	ft_event_wait(start_signal, FT_FOREVER);
	printf("'%s' started\n", me);
	fflush(stdout);
	ft_barrier_wait(checkpoint, FT_FOREVER);
	printf("'%s' passed checkpoint\n", me);
}

int main(void)
{
	ft_worker_t *workers[3];
	char name[16];

	start_signal = ft_event_new();
	checkpoint = ft_barrier_new(3, NULL, NULL, FT_FOREVER);
	all_waiting = ft_barrier_new(4, NULL, NULL, FT_FOREVER);

	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "Runner-%d", i);
		workers[i] = ft_worker_new(name, runner, NULL, 0);
		ft_worker_start(workers[i]);
	}
	ft_barrier_wait(all_waiting, FT_FOREVER);
	ft_event_set(start_signal); /* signal all runners to start */
	for (int i = 0; i < 3; i++)
		ft_worker_join(workers[i], FT_FOREVER);
	return 0;
}
