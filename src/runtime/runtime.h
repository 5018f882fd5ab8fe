/* SPDX-License-Identifier: MIT */
/*
 * Start-up: configuration (config.c), the one-time set-up every
 * constructor goes through (setup.c), and the hooks by which the layers
 * above set up their part of the arena.
 */
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
/* ft_config.exit_timeout as resolved: FT_FOREVER for 0 or forever. */
extern double ft__exit_timeout;

struct ft_config;
/* Whether ft_init's argument is well formed (NULL is: the defaults). */
bool ft__config_valid(const struct ft_config *cfg);
/* *@out = @cfg (or the defaults) with the environment applied; 0, or
 * -EINVAL for a value the environment names that does not parse. */
int ft__config_resolve(const struct ft_config *cfg, struct ft_config *out);

/* A layer above the runtime that keeps state in the arena registers a
 * hook: set-up calls it once the arena is mapped, before set-up counts as
 * done.  0 or a negative errno (set-up fails with it). */
struct ft__setup_hook {
	int (*fn)(void);
};
#define FT__SETUP_HOOK(var, func)                                            \
	static const struct ft__setup_hook var                               \
		__attribute__((used, section("ft__setup"), aligned(8))) = { func }

/* A layer whose threads act on workers (the executor's managers) stops
 * them here: a process's exit calls each hook before it kills and reaps
 * the process workers it started, so nothing replaces or frees them
 * meanwhile.  In that exiting process, from its exiting thread. */
struct ft__exit_hook {
	void (*fn)(void);
};
#define FT__EXIT_HOOK(var, func)                                             \
	static const struct ft__exit_hook var                                \
		__attribute__((used, section("ft__exit"), aligned(8))) = { func }
void ft__run_exit_hooks(void);

/* Every constructor's allocation: zeroed arena memory for an object of
 * @size, tagged RESERVED until published, or NULL with errno set (ENOMEM,
 * or the set-up error). */
void *ft__new_object(size_t size);

#endif
