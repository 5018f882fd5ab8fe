/* SPDX-License-Identifier: MIT */
/* WorkerPoolExecutor: concurrent.futures' API over the engine. */
#include <errno.h>
#include <string.h>

#include "executor/executor.h"
#include "runtime/runtime.h"

static struct ft__engine *engine(ft_executor_t *ex)
{
	return (struct ft__engine *)ex;
}

FT_API ft_executor_t *ft_executor_new(int max_workers,
				      const struct ft_pool_options *opt)
{
	if (max_workers <= 0 && max_workers != FT_DEFAULT_WORKERS) {
		errno = EINVAL;
		return NULL;
	}
	return (ft_executor_t *)ft__engine_new(FT__TAG_EXECUTOR, max_workers, opt);
}

/* A future for one task on @in, queued on @e: NULL with errno. */
struct ft_future *ft__submit(struct ft__engine *e, ft_task_fn fn,
			     const void *in, size_t in_size, size_t out_size)
{
	int r = ft__engine_closed(e);
	if (r == 0 && (!fn || (!in && in_size)))
		r = -EINVAL;
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	bool shared = ft__in_arena(in, in_size);
	size_t inline_in = shared ? 0 : (in_size + 15) & ~(size_t)15;
	if ((!shared && inline_in < in_size) || inline_in + out_size < out_size) {
		errno = ENOMEM;
		return NULL;
	}
	struct ft_future *f = ft__future_new(e, F_TASK, inline_in + out_size);
	if (!f)
		return NULL;
	f->fn = fn;
	f->n = 1;
	f->in_size = in_size;
	f->out_size = out_size;
	if (shared) {
		f->in = in;
	} else {
		if (in_size)
			memcpy(f->data, in, in_size);
		f->in = f->data;
	}
	f->out = f->data + inline_in;
	ft__arena_publish(f, FT__TAG_FUTURE);
	r = ft__engine_queue(e, f);
	if (r < 0) {
		ft__future_unref(f);
		errno = -r;
		return NULL;
	}
	return f;
}

FT_API ft_future_t *ft_executor_submit(ft_executor_t *ex, ft_task_fn fn,
				       const void *in, size_t in_size,
				       size_t out_size)
{
	int r = ft__engine_check(engine(ex), FT__TAG_EXECUTOR);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	return ft__submit(engine(ex), fn, in, in_size, out_size);
}

/* Arguments of a map, checked as Python checks them. */
int ft__map_args(struct ft__engine *e, ft_task_fn fn, const void *items,
		 size_t n, const void *results, size_t chunksize)
{
	int r = ft__engine_closed(e);
	if (r < 0)
		return r;
	if (!fn || chunksize == 0 || (n && (!items || !results)))
		return -EINVAL;
	return 0;
}

FT_API int ft_executor_map(ft_executor_t *ex, ft_task_fn fn,
			   const void *items, size_t n, size_t in_size,
			   void *results, size_t out_size, size_t chunksize,
			   double timeout)
{
	struct ft__deadline d;
	int r = ft__engine_check(engine(ex), FT__TAG_EXECUTOR);
	if (r == 0)
		r = ft__deadline_init(&d, timeout);
	if (r == 0)
		r = ft__map_args(engine(ex), fn, items, n, results, chunksize);
	if (r < 0)
		return r;
	return ft__map_blocking(engine(ex), fn, items, n, in_size, results,
				out_size, chunksize, &d);
}

FT_API int ft_executor_shutdown(ft_executor_t *ex, bool wait,
				bool cancel_futures)
{
	struct ft__engine *e = engine(ex);
	int r = ft__engine_check(e, FT__TAG_EXECUTOR);
	if (r < 0)
		return r;
	ft__engine_shutdown(e, cancel_futures);
	return wait ? ft__engine_join(e, NULL) : 0;
}

FT_API int ft_executor_free(ft_executor_t *ex)
{
	int r = ft_executor_shutdown(ex, true, false);
	if (r < 0)
		return r;
	ft__engine_free(engine(ex));
	return 0;
}
