/* SPDX-License-Identifier: MIT */
/* Queue's public calls: handle checks around the shared operations
 * (task accounting is in tasks.c). */
#include <errno.h>

#include "queue/queue.h"

FT_API ft_queue_t *ft_queue_new(int maxsize)
{
	return ft__queue_new(maxsize, FT__TAG_QUEUE);
}

FT_API int ft_queue_put(ft_queue_t *q, const void *data, size_t len,
			double timeout)
{
	struct ft__deadline d;
	int r = ft__check_timed(q, FT__TAG_QUEUE, timeout, &d);
	return r < 0 ? r : ft__queue_put(q, data, len, &d);
}

FT_API int ft_queue_put_nowait(ft_queue_t *q, const void *data, size_t len)
{
	return ft_queue_put(q, data, len, 0);
}

FT_API int ft_queue_get(ft_queue_t *q, void *buf, size_t cap, size_t *len,
			double timeout)
{
	struct ft__deadline d;
	int r = ft__check_timed(q, FT__TAG_QUEUE, timeout, &d);
	return r < 0 ? r : ft__queue_get(q, buf, cap, len, NULL, &d);
}

FT_API int ft_queue_get_nowait(ft_queue_t *q, void *buf, size_t cap,
			       size_t *len)
{
	return ft_queue_get(q, buf, cap, len, 0);
}

FT_API int ft_queue_get_alloc(ft_queue_t *q, void **out, size_t *len,
			      double timeout)
{
	return ft__queue_get_alloc(q, FT__TAG_QUEUE, out, len, timeout);
}

FT_API int ft_queue_qsize(ft_queue_t *q)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	return r < 0 ? r : (int)ft__queue_count(q);
}

FT_API int ft_queue_empty(ft_queue_t *q)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	return r < 0 ? r : ft__queue_count(q) == 0;
}

FT_API int ft_queue_full(ft_queue_t *q)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	if (r < 0)
		return r;
	return q->maxsize > 0 && ft__queue_count(q) >= (uint32_t)q->maxsize;
}

FT_API int ft_queue_shutdown(ft_queue_t *q, bool immediate)
{
	int r = ft__check(q, FT__TAG_QUEUE);
	return r < 0 ? r : ft__queue_shutdown(q, immediate);
}

FT_API int ft_queue_free(ft_queue_t *q)
{
	return ft__queue_free(q, FT__TAG_QUEUE);
}
