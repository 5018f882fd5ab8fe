/* SPDX-License-Identifier: MIT */
/* Shared memory for programs: plain arena blocks with their own tag. */
#include <errno.h>

#include "arena/arena.h"
#include "freethreading.h"
#include "runtime/runtime.h"

FT_API void *ft_shared_alloc(size_t size)
{
	if (size == 0) {
		errno = EINVAL;
		return NULL;
	}
	void *p = ft__new_object(size);
	if (p)
		ft__arena_publish(p, FT__TAG_SHARED);
	return p;
}

FT_API int ft_shared_free(void *p)
{
	int r = ft__ensure_init();
	return r < 0 ? r : ft__arena_free(p, FT__TAG_SHARED);
}
