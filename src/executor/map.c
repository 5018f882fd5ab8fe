/* SPDX-License-Identifier: MIT */
/*
 * Maps: n items split into chunks, one task future each, under a group
 * future that ends when every chunk has, or at the first failure.
 *
 * (M1) Items are copied into the arena unless they lie there: a map
 *      that returns early (a failure, a deadline) leaves no task reading
 *      the caller's memory.  Results go to the group's arena buffer and
 *      are copied out by the caller, unless the caller's array lies in
 *      the arena: then tasks write there (after an early return too).
 *      Thread workers use the caller's arrays in place (M3).
 * (M2) A chunk holds a reference on its group until it ends; the group
 *      holds one on each chunk until the group is freed.
 */
#include <errno.h>
#include <string.h>

#include "executor/executor.h"
#include "runtime/runtime.h"

void *ft__arena_buf(size_t size)
{
	void *p = ft__new_object(size ? size : 1);
	if (p)
		ft__arena_publish(p, FT__TAG_SHARED);
	return p;
}

bool ft__in_arena(const void *p, size_t len)
{
	uintptr_t lo = (uintptr_t)ft__arena_base, a = (uintptr_t)p;
	return ft__arena_base && a >= lo + FT__ARENA_HDR_SIZE &&
	       len <= ft__arena_size() && a - lo <= ft__arena_size() - len;
}

/* A chunk that was never queued ends as cancelled (it holds the engine's
 * and its group's references like any other). */
static void end_unqueued(struct ft_future *c)
{
	ft__future_ref(c);
	ft__future_finish(c, F_PENDING, -ECANCELED, true);
}

struct ft_future *ft__map_start(struct ft__engine *e, ft_task_fn fn,
				const void *items, size_t n, size_t in_size,
				void *results_direct, size_t out_size,
				size_t chunksize, bool copy_in, int *err)
{
	size_t nchunks = n ? (n - 1) / chunksize + 1 : 0;
	if ((in_size && n > SIZE_MAX / in_size) ||
	    (out_size && n > SIZE_MAX / out_size) || nchunks > UINT32_MAX) {
		*err = -ENOMEM;
		return NULL;
	}
	struct ft_future *g = ft__future_new(e, F_GROUP, 0);
	if (!g) {
		*err = -errno;
		return NULL;
	}
	g->fn = fn;
	g->n = n;
	g->in_size = in_size;
	g->out_size = out_size;
	g->first = chunksize;   /* a group keeps its chunk size here */
	g->in = items;
	if (copy_in && n && in_size) {
		g->own_in = ft__arena_buf(n * in_size);
		if (g->own_in)
			memcpy(g->own_in, items, n * in_size);
		g->in = g->own_in;
	}
	g->out = results_direct;
	if (!g->out) {
		g->own_out = ft__arena_buf(n * out_size);
		g->out = g->own_out;
	}
	g->chunks = nchunks ? ft__arena_buf(nchunks * sizeof(*g->chunks)) : NULL;
	*err = (!g->in && n && in_size) || !g->out || (nchunks && !g->chunks)
		       ? -ENOMEM
		       : 0;
	if (*err) {
		ft__arena_publish(g, FT__TAG_FUTURE);
		ft__future_unref(g);
		return NULL;
	}
	g->chunks_left = (uint32_t)nchunks;
	ft__arena_publish(g, FT__TAG_FUTURE);
	ft__future_ref(g);   /* the engine's, until the group ends */
	if (nchunks == 0) {
		ft__future_finish(g, F_PENDING, 1, true);
		return g;
	}
	/* Make every chunk first, so that the group's count is whole before
	 * any can end. */
	size_t made = 0;
	for (; made < nchunks; made++) {
		struct ft_future *c = ft__future_new(e, F_TASK, 0);
		if (!c)
			break;
		size_t first = made * chunksize;
		c->fn = fn;
		c->in = g->in + first * in_size;
		c->out = g->out + first * out_size;
		c->in_size = in_size;
		c->out_size = out_size;
		c->n = n - first < chunksize ? n - first : chunksize;
		c->group = g;
		c->first = first;
		ft__future_ref(g);
		ft__arena_publish(c, FT__TAG_FUTURE);
		g->chunks[made] = c;
	}
	g->nchunks = made;
	size_t queued = 0;
	int r = made < nchunks ? -ENOMEM : 0;
	for (; r == 0 && queued < made; queued++)
		r = ft__engine_queue(e, g->chunks[queued]);
	if (r < 0) {
		if (queued)
			queued--;  /* the one that failed was not queued */
		for (size_t k = queued; k < made; k++)
			end_unqueued(g->chunks[k]);
		/* Chunks never made: the count they hold up. */
		for (size_t k = made; k < nchunks; k++)
			if (ft__fetch_add_acq_rel(&g->chunks_left, (uint32_t)-1) == 1)
				ft__future_finish(g, F_PENDING, 1, true);
		ft__group_cancel_pending(g);
		ft__future_unref(g);
		*err = r;
		return NULL;
	}
	return g;
}

/* The code a chunk ended with, as its items see it. */
static int chunk_code(struct ft_future *c)
{
	switch (ft__future_phase(c)) {
	case F_CANCELLED:
		return -ECANCELED;
	case F_BROKEN:
		return -EPIPE;
	case F_FINISHED:
		return ft__load_relaxed(&c->result);
	default:
		return 0;
	}
}

int ft__group_code(struct ft_future *g)
{
	for (size_t k = 0; k < g->nchunks; k++) {
		int code = chunk_code(g->chunks[k]);
		if (code)
			return code;
	}
	return 0;
}

void ft__group_cancel_pending(struct ft_future *g)
{
	for (size_t k = 0; k < g->nchunks; k++)
		ft__future_finish(g->chunks[k], F_PENDING, -ECANCELED, true);
}

void ft__group_copy_out(struct ft_future *g, void *out)
{
	if (out != g->out && g->n && g->out_size)
		memcpy(out, g->out, g->n * g->out_size);
}

int ft__map_blocking(struct ft__engine *e, ft_task_fn fn, const void *items,
		     size_t n, size_t in_size, void *results, size_t out_size,
		     size_t chunksize, struct ft__deadline *d)
{
	/* (M3) Thread workers share the caller's memory: they read its
	 * items and write its results in place, and an early return waits
	 * for the chunks already running, so none touches them after. */
	bool threads = !e->processes;
	bool direct = threads || ft__in_arena(results, n * out_size);
	bool copy = !threads && !ft__in_arena(items, n * in_size);
	int r;
	struct ft_future *g = ft__map_start(e, fn, items, n, in_size,
					    direct ? results : NULL, out_size,
					    chunksize, copy, &r);
	if (!g)
		return r;
	size_t ok_items = 0;
	for (size_t k = 0; k < g->nchunks; k++) {
		struct ft_future *c = g->chunks[k];
		if (!ft__future_is_done(c)) {
			r = ft__deadline_now(d)
				    ? -ETIMEDOUT
				    : ft__future_wait_done(c, ft__deadline_abs(d));
			if (r < 0) {
				r = -ETIMEDOUT;
				break;
			}
		}
		r = chunk_code(c);
		if (r) {
			if (ft__future_phase(c) == F_FINISHED)
				ok_items += c->failed_at;
			break;
		}
		ok_items += c->n;
	}
	if (r) {
		ft__group_cancel_pending(g);
		if (threads)
			for (size_t k = 0; k < g->nchunks; k++)
				ft__future_wait_done(g->chunks[k], NULL);
	}
	if (!direct && ok_items && out_size)
		memcpy(results, g->out, ok_items * out_size);
	ft__future_unref(g);
	return r;
}
