/* The guide's "Locks and Reentrant Locks" example. */
#include <stdio.h>

#include <freethreading.h>

static ft_lock_t *lock;
static ft_rlock_t *rlock;

static void critical(void *arg)
{
	(void)arg;
	ft_lock_acquire(lock, FT_FOREVER);
	printf("'%s' acquired the lock\n", ft_worker_name(ft_current_worker()));
	ft_lock_release(lock);
}

static void countdown(int n)
{
	const char *me = ft_worker_name(ft_current_worker());

	ft_rlock_acquire(rlock, FT_FOREVER);
	if (n > 0) {
		printf("'%s': %d...\n", me, n);
		countdown(n - 1);
	} else {
		printf("'%s': go!\n", me);
	}
	ft_rlock_release(rlock);
}

static void countdown_worker(void *arg)
{
	countdown(*(int *)arg);
}

int main(void)
{
	ft_worker_t *workers[2];
	char name[16];
	int three = 3;

	lock = ft_lock_new();
	rlock = ft_rlock_new();

	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "Worker-%d", i);
		workers[i] = ft_worker_new(name, critical, NULL, 0);
	}
	for (int i = 0; i < 2; i++)
		ft_worker_start(workers[i]);
	for (int i = 0; i < 2; i++) {
		ft_worker_join(workers[i], FT_FOREVER);
		ft_worker_free(workers[i]);
	}

	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "Worker-%d", i);
		workers[i] = ft_worker_new(name, countdown_worker, &three, 0);
	}
	for (int i = 0; i < 2; i++)
		ft_worker_start(workers[i]);
	for (int i = 0; i < 2; i++) {
		ft_worker_join(workers[i], FT_FOREVER);
		ft_worker_free(workers[i]);
	}
	return 0;
}
