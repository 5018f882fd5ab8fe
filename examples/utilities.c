/* The guide's utility-functions example. */
#include <stdio.h>

#include <freethreading.h>

static void busy_wait(void *arg)
{
	volatile int *forever = arg;
	while (*forever)
		;
}

int main(void)
{
	static volatile int forever = 1;
	ft_worker_t *all[16];
	int n;

	ft_worker_t *daemon = ft_worker_new("Daemon", busy_wait, (void *)&forever,
					    FT_WORKER_DAEMON);
	ft_worker_start(daemon);

	printf("'%s'\n", ft_worker_name(ft_current_worker()));
	printf("%ld\n", ft_get_ident());
	printf("%d\n", ft_active_count());

	n = ft_enumerate(all, 16);
	printf("[");
	for (int i = 0; i < n && i < 16; i++)
		printf("%s'%s'", i ? ", " : "", ft_worker_name(all[i]));
	printf("]\n");

	n = ft_active_children(all, 16);
	printf("[");
	for (int i = 0; i < n && i < 16; i++)
		printf("%s'%s'", i ? ", " : "", ft_worker_name(all[i]));
	printf("]\n");

	printf("'%s'\n", ft_get_backend());
	return 0;
}
