/* SPDX-License-Identifier: MIT */
/* Start-up: configuration, the one-time set-up every call goes through. */
#ifndef FT_RUNTIME_H
#define FT_RUNTIME_H

#include <stdbool.h>

#include "arena/arena.h"
#include "wait/wait.h"
#include "base/atomic.h"

/* 1 once set up, a negative errno if set-up failed, 0 before. */
extern int ft__init_state;
int ft__init_slow(void);

/* 0 once the runtime is set up, else the negative errno of the failure. */
static inline int ft__ensure_init(void)
{
	/* Acquire pairs with the release that publishes a finished set-up. */
	int s = ft__load_acquire(&ft__init_state);
	if (s == 1)
		return 0;
	return s < 0 ? s : ft__init_slow();
}

extern bool ft__multiprocessing;

/* Every call on a handle starts here: 0 if @obj is a live object of type
 * @tag, -EINVAL for NULL, -EBADF otherwise, or the set-up error. */
static inline int ft__check(const void *obj, uint32_t tag)
{
	int r = ft__ensure_init();
	return r < 0 ? r : ft__arena_check(obj, tag);
}

/* A blocking call's boundary: the handle, then its timeout converted into
 * *@d (wait/wait.h).  0, or the first error. */
static inline int ft__check_timed(const void *obj, uint32_t tag,
				  double timeout, struct ft__deadline *d)
{
	int r = ft__check(obj, tag);
	return r < 0 ? r : ft__deadline_init(d, timeout);
}

/* Every constructor's allocation: zeroed arena memory for an object of
 * @size, tagged RESERVED until published, or NULL with errno set (ENOMEM,
 * or the set-up error). */
void *ft__new_object(size_t size);

#endif
