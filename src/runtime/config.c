/* SPDX-License-Identifier: MIT */
/*
 * Configuration: what ft_init() asks for, overridden by the environment
 * (FREETHREADING_BACKEND, _WAIT, _ARENA_SIZE), over the defaults.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "freethreading.h"
#include "runtime/runtime.h"

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

bool ft__config_valid(const struct ft_config *cfg)
{
	return !cfg || (cfg->backend >= FT_BACKEND_DEFAULT &&
			cfg->backend <= FT_BACKEND_MULTIPROCESSING &&
			cfg->wait >= FT_WAIT_AUTO && cfg->wait <= FT_WAIT_FUTEX);
}

int ft__config_resolve(const struct ft_config *cfg, struct ft_config *out)
{
	const char *env;
	int r;

	*out = cfg ? *cfg : (struct ft_config){ 0 };
	if ((env = getenv("FREETHREADING_BACKEND")) && *env &&
	    (r = parse_backend(env, &out->backend)) < 0)
		return r;
	if ((env = getenv("FREETHREADING_WAIT")) && *env &&
	    (r = parse_wait(env, &out->wait)) < 0)
		return r;
	if ((env = getenv("FREETHREADING_ARENA_SIZE")) && *env &&
	    (r = parse_size(env, &out->arena_size)) < 0)
		return r;
	return 0;
}
