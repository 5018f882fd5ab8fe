/* SPDX-License-Identifier: MIT */
/* ft_runtime_info: what set-up chose and what the kernel let each layer
 * use.  Here, at the top, because it reports on every layer. */
#include <errno.h>

#include "arena/arena.h"
#include "freethreading.h"
#include "runtime/runtime.h"
#include "wait/wait.h"
#include "worker/worker.h"

FT_API int ft_runtime_info(struct ft_runtime_info *info)
{
	int r;

	if (!info)
		return -EINVAL;
	if ((r = ft__ensure_init()) < 0)
		return r;
	info->backend = ft__multiprocessing ? "multiprocessing" : "threading";
	info->wait = ft__wait_impl->name;
	info->spawn_thread = ft__thread_spawn_path();
	info->spawn_process = ft__supervisor_path();
	info->arena_size = ft__arena_size();
	info->arena_used = ft__arena_used();
	return 0;
}
