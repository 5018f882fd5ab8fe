/* The guide's SimpleQueue example. */
#include <stdio.h>
#include <string.h>

#include <freethreading.h>

static ft_simple_queue_t *queue;

static void fill_queue(void *arg)
{
	(void)arg;
	ft_simple_queue_put(queue, "hello", strlen("hello"));
	ft_simple_queue_put(queue, "world", strlen("world"));
}

int main(void)
{
	char word[16];
	size_t len;

	queue = ft_simple_queue_new();
	ft_worker_t *worker = ft_worker_new(NULL, fill_queue, NULL, 0);
	ft_worker_start(worker);
	for (int i = 0; i < 2; i++) {
		ft_simple_queue_get(queue, word, sizeof(word), &len, FT_FOREVER);
		printf("'%.*s'\n", (int)len, word);
	}
	ft_worker_join(worker, FT_FOREVER);
	printf("%s\n", ft_simple_queue_empty(queue) ? "True" : "False");
	return 0;
}
