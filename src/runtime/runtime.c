/* SPDX-License-Identifier: MIT */
/*
 * Configuration and set-up.  The environment wins over ft_init()'s
 * arguments, which win over the defaults.  Set-up happens once per
 * program, before the first worker: the arena must exist before any fork
 * so that every process maps it at the same address.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "arena/arena.h"
#include "base/fence.h"
#include "freethreading.h"
#include "lockword/lockword.h"
#include "runtime/runtime.h"
#include "wait/wait.h"
#include "worker/worker.h"

int ft__init_state;
bool ft__multiprocessing;

static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;

static int parse_backend(const char *s, int *out)
{
	if (!strcmp(s, "threading"))
		*out = FT_BACKEND_THREADING;
	else if (!strcmp(s, "multiprocessing"))
		*out = FT_BACKEND_MULTIPROCESSING;
	else
		return -EINVAL;
	return 0;
}

static int parse_wait(const char *s, int *out)
{
	if (!strcmp(s, "uring"))
		*out = FT_WAIT_URING;
	else if (!strcmp(s, "futex2"))
		*out = FT_WAIT_FUTEX2;
	else if (!strcmp(s, "futex"))
		*out = FT_WAIT_FUTEX;
	else
		return -EINVAL;
	return 0;
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end || v > (~0ull >> shift))
		return -EINVAL;
	*out = (size_t)(v << shift);
	return 0;
}

static void after_fork_child(void)
{
	/* The parent's workers and notes are not the child's. */
	ft__workers_started = false;
	ft__store_relaxed(&ft__death_note, (uint32_t *)NULL);
	ft__tid_forget();
	ft__fence_after_fork();
	ft__supervisor_after_fork();
}

/* Set up from @cfg and the environment: 0 or the error; *@retry tells
 * whether the error may pass (no arena mapped: a later call, or ft_init
 * with a smaller size, tries again) or is final (a bad environment). */
static int setup(const struct ft_config *cfg, bool *retry)
{
	struct ft_config c = { 0 };
	const char *env;
	int r;

	if (cfg)
		c = *cfg;
	if ((env = getenv("FREETHREADING_BACKEND")) && *env &&
	    (r = parse_backend(env, &c.backend)) < 0)
		return r;
	if ((env = getenv("FREETHREADING_WAIT")) && *env &&
	    (r = parse_wait(env, &c.wait)) < 0)
		return r;
	if ((env = getenv("FREETHREADING_ARENA_SIZE")) && *env &&
	    (r = parse_size(env, &c.arena_size)) < 0)
		return r;

	ft__multiprocessing = c.backend == FT_BACKEND_MULTIPROCESSING;
	ft__wait_select(c.wait);
	r = ft__arena_init(c.arena_size);
	if (r < 0) {
		*retry = true;
		return r;
	}
	r = ft__main_worker_create(ft__multiprocessing ? "MainProcess"
						       : "MainThread");
	if (r < 0)
		return r;
	if (pthread_atfork(NULL, NULL, after_fork_child) != 0 ||
	    atexit(ft__workers_shutdown) != 0)
		return -ENOMEM;
	return 0;
}

static bool config_valid(const struct ft_config *cfg)
{
	return !cfg || (cfg->backend >= FT_BACKEND_DEFAULT &&
			cfg->backend <= FT_BACKEND_MULTIPROCESSING &&
			cfg->wait >= FT_WAIT_AUTO && cfg->wait <= FT_WAIT_FUTEX);
}

static int init_locked(const struct ft_config *cfg)
{
	pthread_mutex_lock(&init_mu);
	int s = ft__init_state;
	if (s == 1) {
		s = -EALREADY;
	} else if (s == 0 && !config_valid(cfg)) {
		/* A bad argument is the caller's to fix and retry. */
		s = -EINVAL;
	} else if (s == 0) {
		bool retry = false;
		s = setup(cfg, &retry);
		/* Release pairs with the acquire in ft__ensure_init.  A bad
		 * environment sticks; an arena that did not fit does not. */
		ft__store_release(&ft__init_state, s == 0 ? 1 : retry ? 0 : s);
	}
	pthread_mutex_unlock(&init_mu);
	return s;
}

int ft__init_slow(void)
{
	int r = init_locked(NULL);
	return r == -EALREADY ? 0 : r;
}

void *ft__new_object(size_t size)
{
	int r = ft__ensure_init();
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	void *p = ft__arena_alloc(size);
	if (!p)
		errno = ENOMEM;
	return p;
}

FT_API int ft_init(const struct ft_config *cfg)
{
	return init_locked(cfg);
}

FT_API const char *ft_get_backend(void)
{
	(void)ft__ensure_init();
	return ft__multiprocessing ? "multiprocessing" : "threading";
}

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
