/* SPDX-License-Identifier: MIT */
/*
 * Set-up, once per program and before the first worker: the arena must
 * exist before any fork so that every process maps it at the same address.
 * Layers above register what they set up on the arena (FT__SETUP_HOOK),
 * so nothing here calls into them.
 */
#include <errno.h>
#include <pthread.h>

#include "arena/arena.h"
#include "freethreading.h"
#include "runtime/runtime.h"
#include "wait/wait.h"

int ft__init_state;
bool ft__multiprocessing;
double ft__exit_timeout = FT_FOREVER;

static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;

/* Weak: a program linked statically without any layer that registers a
 * hook has an empty section, which the linker then does not bound. */
extern const struct ft__setup_hook __start_ft__setup[] __attribute__((weak));
extern const struct ft__setup_hook __stop_ft__setup[] __attribute__((weak));

extern const struct ft__exit_hook __start_ft__exit[] __attribute__((weak));
extern const struct ft__exit_hook __stop_ft__exit[] __attribute__((weak));

void ft__run_exit_hooks(void)
{
	for (const struct ft__exit_hook *h = __start_ft__exit;
	     h < __stop_ft__exit; h++)
		h->fn();
}

/* Set up from @cfg and the environment: 0 or the error; *@retry tells
 * whether the error may pass (no arena mapped: a later call, or ft_init
 * with a smaller size, tries again) or is final (a bad environment). */
static int setup(const struct ft_config *cfg, bool *retry)
{
	struct ft_config c;
	int r = ft__config_resolve(cfg, &c);
	if (r < 0)
		return r;

	ft__multiprocessing = c.backend == FT_BACKEND_MULTIPROCESSING;
	ft__exit_timeout = c.exit_timeout > 0 ? c.exit_timeout : FT_FOREVER;
	ft__wait_select(c.wait);
	r = ft__arena_init(c.arena_size);
	if (r < 0) {
		*retry = true;
		return r;
	}
	for (const struct ft__setup_hook *h = __start_ft__setup;
	     h < __stop_ft__setup; h++)
		if ((r = h->fn()) < 0)
			return r;
	return 0;
}

static int init_locked(const struct ft_config *cfg)
{
	pthread_mutex_lock(&init_mu);
	int s = ft__init_state;
	if (s == 1) {
		s = -EALREADY;
	} else if (s == 0 && !ft__config_valid(cfg)) {
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
