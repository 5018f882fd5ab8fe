/* The guide's Queue example: a producer, a consumer and a None sentinel
 * (an empty message), with task_done and join. */
#include <stdio.h>

#include <freethreading.h>

static ft_queue_t *queue;

static void producer(void *arg)
{
	(void)arg;
	for (int value = 0; value < 3; value++)
		ft_queue_put(queue, &value, sizeof(value), FT_FOREVER);
	ft_queue_put(queue, NULL, 0, FT_FOREVER); /* sentinel marks completion */
}

static void consumer(void *arg)
{
	(void)arg;
	for (;;) {
		int item;
		size_t len;
		ft_queue_get(queue, &item, sizeof(item), &len, FT_FOREVER);
		if (len == 0) {
			ft_queue_task_done(queue);
			break;
		}
		printf("Processing %d\n", item);
		ft_queue_task_done(queue);
	}
}

int main(void)
{
	queue = ft_queue_new(0);
	ft_worker_t *producer_worker = ft_worker_new("Producer", producer, NULL, 0);
	ft_worker_t *consumer_worker = ft_worker_new("Consumer", consumer, NULL, 0);
	ft_worker_start(producer_worker);
	ft_worker_start(consumer_worker);
	ft_queue_join(queue, FT_FOREVER);
	ft_worker_join(producer_worker, FT_FOREVER);
	ft_worker_join(consumer_worker, FT_FOREVER);
	return 0;
}
