/* SPDX-License-Identifier: MIT */
/* SimpleQueue's public calls: an unbounded queue without task accounting,
 * sharing Queue's structure and operations under its own tag. */
#include "queue/queue.h"

FT_API ft_simple_queue_t *ft_simple_queue_new(void)
{
	return (ft_simple_queue_t *)ft__queue_new(0, FT__TAG_SIMPLE_QUEUE);
}

FT_API int ft_simple_queue_put(ft_simple_queue_t *sq, const void *data,
			       size_t len)
{
	int r = ft__check(sq, FT__TAG_SIMPLE_QUEUE);
	return r < 0 ? r : ft__queue_put((ft_queue_t *)sq, data, len, NULL);
}

FT_API int ft_simple_queue_get(ft_simple_queue_t *sq, void *buf, size_t cap,
			       size_t *len, double timeout)
{
	struct ft__deadline d;
	int r = ft__check_timed(sq, FT__TAG_SIMPLE_QUEUE, timeout, &d);
	return r < 0 ? r
		     : ft__queue_get((ft_queue_t *)sq, buf, cap, len, NULL, &d);
}

FT_API int ft_simple_queue_get_alloc(ft_simple_queue_t *sq, void **out,
				     size_t *len, double timeout)
{
	return ft__queue_get_alloc((ft_queue_t *)sq, FT__TAG_SIMPLE_QUEUE, out,
				   len, timeout);
}

FT_API int ft_simple_queue_shutdown(ft_simple_queue_t *sq, bool immediate)
{
	int r = ft__check(sq, FT__TAG_SIMPLE_QUEUE);
	return r < 0 ? r : ft__queue_shutdown((ft_queue_t *)sq, immediate);
}

FT_API int ft_simple_queue_empty(ft_simple_queue_t *sq)
{
	int r = ft__check(sq, FT__TAG_SIMPLE_QUEUE);
	return r < 0 ? r : ft__queue_count((ft_queue_t *)sq) == 0;
}

FT_API int ft_simple_queue_free(ft_simple_queue_t *sq)
{
	return ft__queue_free((ft_queue_t *)sq, FT__TAG_SIMPLE_QUEUE);
}
