/*
 * The guide's "Semaphores and Conditions" example.  The guide's consumer
 * waits without a predicate and hangs if the producer notifies first; here
 * it waits for the data to be there, so it cannot.  The guide passes the
 * value through a Queue; a word of shared memory does that job here.
 */
#include <stdio.h>

#include <freethreading.h>

struct mailbox {
	int full;
	int data;
};

static ft_semaphore_t *semaphore;
static ft_condition_t *condition;
static struct mailbox *box;

static const char *me(void)
{
	return ft_worker_name(ft_current_worker());
}

static void restricted(void *arg)
{
	(void)arg;
	ft_semaphore_acquire(semaphore, FT_FOREVER);
	printf("'%s' in restricted section\n", me());
	ft_semaphore_release(semaphore, 1);
}

static void producer(void *arg)
{
	ft_condition_acquire(condition, FT_FOREVER);
	box->data = *(int *)arg;
	box->full = 1;
	printf("'%s' sent: %d\n", me(), box->data);
	fflush(stdout);
	ft_condition_notify(condition, 1);
	ft_condition_release(condition);
}

static int mailbox_full(void *arg)
{
	return ((struct mailbox *)arg)->full;
}

static void consumer(void *arg)
{
	(void)arg;
	ft_condition_acquire(condition, FT_FOREVER);
	ft_condition_wait_for(condition, mailbox_full, box, FT_FOREVER);
	printf("'%s' received: %d\n", me(), box->data);
	ft_condition_release(condition);
}

int main(void)
{
	ft_worker_t *workers[3];
	char name[16];
	int answer = 42;

	semaphore = ft_semaphore_new(2);
	condition = ft_condition_new(NULL);
	box = ft_shared_alloc(sizeof(*box));

	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "Worker-%d", i);
		workers[i] = ft_worker_new(name, restricted, NULL, 0);
	}
	for (int i = 0; i < 3; i++)
		ft_worker_start(workers[i]);
	for (int i = 0; i < 3; i++)
		ft_worker_join(workers[i], FT_FOREVER);

	ft_worker_t *c = ft_worker_new("Consumer", consumer, NULL, 0);
	ft_worker_t *p = ft_worker_new("Producer", producer, &answer, 0);
	ft_worker_start(c);
	ft_worker_start(p);
	ft_worker_join(c, FT_FOREVER);
	ft_worker_join(p, FT_FOREVER);
	return 0;
}
