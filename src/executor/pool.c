/* SPDX-License-Identifier: MIT */
/* WorkerPool: multiprocessing.Pool's API over the engine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "executor/executor.h"
#include "runtime/runtime.h"

static struct ft__engine *engine(ft_pool_t *p)
{
	return (struct ft__engine *)p;
}

FT_API ft_pool_t *ft_pool_new(int workers, const struct ft_pool_options *opt)
{
	return (ft_pool_t *)ft__engine_new(FT__TAG_POOL, workers, opt);
}

/* Python's default: ceil(n / (4 x workers)). */
static size_t default_chunksize(struct ft__engine *e, size_t n)
{
	size_t per = 4 * e->nslots;
	return n ? (n + per - 1) / per : 1;
}

FT_API int ft_pool_map(ft_pool_t *p, ft_task_fn fn, const void *items,
		       size_t n, size_t in_size, void *results,
		       size_t out_size, size_t chunksize, double timeout)
{
	struct ft__engine *e = engine(p);
	struct ft__deadline d;
	int r = ft__engine_check(e, FT__TAG_POOL);
	if (r == 0)
		r = ft__deadline_init(&d, timeout);
	if (r < 0)
		return r;
	if (!chunksize)
		chunksize = default_chunksize(e, n);
	r = ft__map_args(e, fn, items, n, results, chunksize);
	if (r < 0)
		return r;
	return ft__map_blocking(e, fn, items, n, in_size, results, out_size,
				chunksize, &d);
}

FT_API int ft_pool_starmap(ft_pool_t *p, ft_task_fn fn, const void *items,
			   size_t n, size_t in_size, void *results,
			   size_t out_size, size_t chunksize, double timeout)
{
	return ft_pool_map(p, fn, items, n, in_size, results, out_size,
			   chunksize, timeout);
}

/* Dispatch a future's end to apply_async's / map_async's callbacks. */
static void dispatch(ft_future_t *f, void *arg)
{
	(void)arg;
	bool ok = !ft__future_failed(f);
	ft_done_fn fn = ok ? f->on_ok : f->on_err;
	if (fn)
		fn(f, f->on_arg);
}

/* Register the callbacks of an async call on @f; NULL (f freed) and
 * errno on failure. */
static ft_future_t *with_callbacks(struct ft_future *f, ft_done_fn ok,
				   ft_done_fn err, void *arg)
{
	if (!f || (!ok && !err))
		return f;
	f->on_ok = ok;
	f->on_err = err;
	f->on_arg = arg;
	int r = ft_future_add_done_callback(f, dispatch, NULL);
	if (r < 0) {
		ft_future_free(f);
		errno = -r;
		return NULL;
	}
	return f;
}

/* The common start of map_async / imap: a group over copied items. */
static struct ft_future *start(ft_pool_t *p, ft_task_fn fn, const void *items,
			       size_t n, size_t in_size, size_t out_size,
			       size_t chunksize)
{
	struct ft__engine *e = engine(p);
	int r = ft__engine_check(e, FT__TAG_POOL);
	if (r == 0)
		r = ft__map_args(e, fn, items, n, items, chunksize);
	struct ft_future *g = NULL;
	if (r == 0)
		g = ft__map_start(e, fn, items, n, in_size, NULL, out_size,
				  chunksize, !ft__in_arena(items, n * in_size),
				  &r);
	if (!g)
		errno = -r;
	return g;
}

FT_API ft_future_t *ft_pool_map_async(ft_pool_t *p, ft_task_fn fn,
				      const void *items, size_t n,
				      size_t in_size, size_t out_size,
				      size_t chunksize, ft_done_fn callback,
				      ft_done_fn error_callback, void *arg)
{
	if (!chunksize && ft__check(p, FT__TAG_POOL) == 0)
		chunksize = default_chunksize(engine(p), n);
	struct ft_future *g = start(p, fn, items, n, in_size, out_size,
				    chunksize);
	return with_callbacks(g, callback, error_callback, arg);
}

static ft_future_t *imap(ft_pool_t *p, ft_task_fn fn, const void *items,
			 size_t n, size_t in_size, size_t out_size,
			 size_t chunksize, uint32_t kind)
{
	struct ft_future *g = start(p, fn, items, n, in_size, out_size,
				    chunksize ? chunksize : 1);
	if (!g)
		return NULL;
	if (kind == 2 && g->nchunks) {
		g->imap_seen = ft__arena_buf(g->nchunks * sizeof(bool));
		if (!g->imap_seen) {
			ft__group_cancel_pending(g);
			ft_future_free(g);
			errno = ENOMEM;
			return NULL;
		}
	}
	g->imap_next = UINT32_MAX;
	g->imap_kind = kind;
	return g;
}

FT_API ft_future_t *ft_pool_imap(ft_pool_t *p, ft_task_fn fn,
				 const void *items, size_t n, size_t in_size,
				 size_t out_size, size_t chunksize)
{
	return imap(p, fn, items, n, in_size, out_size, chunksize, 1);
}

FT_API ft_future_t *ft_pool_imap_unordered(ft_pool_t *p, ft_task_fn fn,
					   const void *items, size_t n,
					   size_t in_size, size_t out_size,
					   size_t chunksize)
{
	return imap(p, fn, items, n, in_size, out_size, chunksize, 2);
}

/* Item @k (its index within chunk @c) as imap yields it. */
static int yield_item(struct ft_future *g, struct ft_future *c, size_t k,
		      void *out, size_t *index)
{
	if (index)
		*index = c->first + k;
	int code;
	switch (ft__future_phase(c)) {
	case F_CANCELLED:
		return -ECANCELED;
	case F_BROKEN:
		return -EPIPE;
	default:
		code = ft__load_relaxed(&c->result);
	}
	if (code && (c->result == -ESRCH || c->result == -ETIMEDOUT ||
		     k > c->failed_at))
		return k > c->failed_at ? -ECANCELED : code;
	if (code && k == c->failed_at)
		return code;
	if (out && g->out_size)
		memcpy(out, c->out + k * g->out_size, g->out_size);
	return 0;
}

FT_API int ft_pool_imap_next(ft_future_t *it, void *out, size_t *index,
			     double timeout)
{
	struct ft__deadline d;
	int r = ft__check(it, FT__TAG_FUTURE);
	if (r == 0)
		r = ft__deadline_init(&d, timeout);
	if (r < 0)
		return r;
	struct ft_future *g = it;
	if (g->kind != F_GROUP || !g->imap_kind)
		return -EINVAL;
	if (g->imap_kind == 1) {
		if (g->imap_item >= g->n)
			return -ENODATA;
		struct ft_future *c = g->chunks[g->imap_item / g->first];
		if (!ft__future_is_done(c)) {
			if (ft__deadline_now(&d))
				return -EAGAIN;
			r = ft__future_wait_done(c, ft__deadline_abs(&d));
			if (r < 0)
				return r;
		}
		size_t k = g->imap_item - c->first;
		g->imap_item++;
		return yield_item(g, c, k, out, index);
	}
	/* Unordered: finish the chunk being yielded, then take any done. */
	if (g->imap_next == UINT32_MAX) {
		if (g->imap_item >= g->n)
			return -ENODATA;
		for (;;) {
			for (size_t k = 0; k < g->nchunks; k++)
				if (!g->imap_seen[k] &&
				    ft__future_is_done(g->chunks[k])) {
					g->imap_seen[k] = true;
					g->imap_next = (uint32_t)k;
					break;
				}
			if (g->imap_next != UINT32_MAX)
				break;
			if (ft__deadline_now(&d))
				return -EAGAIN;
			int done = ft__futures_wait(g->chunks, g->nchunks,
						    FT_FIRST_COMPLETED, &d,
						    g->imap_seen, NULL);
			if (done == 0)
				return -ETIMEDOUT;
		}
	}
	struct ft_future *c = g->chunks[g->imap_next];
	size_t k = g->imap_item_in_chunk++;
	if (g->imap_item_in_chunk >= c->n) {
		g->imap_item_in_chunk = 0;
		g->imap_next = UINT32_MAX;
	}
	g->imap_item++;
	return yield_item(g, c, k, out, index);
}

FT_API int ft_pool_apply(ft_pool_t *p, ft_task_fn fn, const void *in,
			 size_t in_size, void *out, size_t out_size,
			 double timeout)
{
	struct ft__deadline d;
	int r = ft__engine_check(engine(p), FT__TAG_POOL);
	if (r == 0)
		r = ft__deadline_init(&d, timeout);
	if (r < 0)
		return r;
	struct ft_future *f = ft__submit(engine(p), fn, in, in_size, out_size);
	if (!f)
		return -errno;
	r = ft_future_result(f, out, timeout);
	ft_future_free(f);
	return r == -EAGAIN ? -ETIMEDOUT : r;
}

FT_API ft_future_t *ft_pool_apply_async(ft_pool_t *p, ft_task_fn fn,
					const void *in, size_t in_size,
					size_t out_size, ft_done_fn callback,
					ft_done_fn error_callback, void *arg)
{
	int r = ft__engine_check(engine(p), FT__TAG_POOL);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	struct ft_future *f = ft__submit(engine(p), fn, in, in_size, out_size);
	return with_callbacks(f, callback, error_callback, arg);
}

FT_API int ft_pool_close(ft_pool_t *p)
{
	int r = ft__engine_check(engine(p), FT__TAG_POOL);
	if (r < 0)
		return r;
	ft__engine_shutdown(engine(p), false);
	return 0;
}

FT_API int ft_pool_terminate(ft_pool_t *p)
{
	int r = ft__engine_check(engine(p), FT__TAG_POOL);
	if (r < 0)
		return r;
	ft__engine_shutdown(engine(p), true);
	ft__engine_kill_workers(engine(p));
	return 0;
}

FT_API int ft_pool_join(ft_pool_t *p, double timeout)
{
	struct ft__deadline d;
	int r = ft__engine_check(engine(p), FT__TAG_POOL);
	if (r == 0)
		r = ft__deadline_init(&d, timeout);
	if (r < 0)
		return r;
	if (ft__load_acquire(&engine(p)->state) == E_OPEN)
		return -EINVAL;
	if (ft__deadline_now(&d))
		return ft__load_acquire(&engine(p)->workers_gone) ? 0 : -EAGAIN;
	return ft__engine_join(engine(p), ft__deadline_abs(&d));
}

FT_API int ft_pool_free(ft_pool_t *p)
{
	int r = ft_pool_terminate(p);
	if (r < 0)
		return r;
	ft__engine_join(engine(p), NULL);
	ft__engine_free(engine(p));
	return 0;
}
