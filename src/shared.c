/* SPDX-License-Identifier: MIT */
/* Shared memory for programs: plain arena blocks with their own tag. */
#include <errno.h>

#include "arena.h"
#include "freethreading.h"
#include "runtime.h"

FT_API void *ft_shared_alloc(size_t size)
{
	int r = ft__ensure_init();
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	if (size == 0) {
		errno = EINVAL;
		return NULL;
	}
	void *p = ft__arena_alloc(size);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	ft__arena_publish(p, FT__TAG_SHARED);
	return p;
}

FT_API int ft_shared_free(void *p)
{
	int r = ft__ensure_init();
	return r < 0 ? r : ft__arena_free(p, FT__TAG_SHARED);
}
