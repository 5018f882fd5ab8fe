/* SPDX-License-Identifier: MIT */
/*
 * Configuration: what ft_init() asks for, overridden by the environment
 * (FREETHREADING_BACKEND, _WAIT, _ARENA_SIZE, _EXIT_TIMEOUT), over the
 * defaults.  A bad environment value is final (every call fails), so it
 * is named on stderr: a bare EINVAL from the first constructor says
 * nothing of where it came from.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
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

static bool exit_timeout_valid(double t)
{
	return t >= 0 || t == FT_FOREVER;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || isnan(v) || !exit_timeout_valid(v))
		return -EINVAL;
	*out = v;
	return 0;
}

bool ft__config_valid(const struct ft_config *cfg)
{
	return !cfg || (cfg->backend >= FT_BACKEND_DEFAULT &&
			cfg->backend <= FT_BACKEND_MULTIPROCESSING &&
			cfg->wait >= FT_WAIT_AUTO && cfg->wait <= FT_WAIT_FUTEX &&
			exit_timeout_valid(cfg->exit_timeout));
}

/* Apply variable @name, if set, with @parse; name it on stderr if bad. */
#define APPLY(name, parse, field, expected)                                  \
	do {                                                                 \
		const char *env = getenv(name);                              \
		if (env && *env && parse(env, field) < 0) {                  \
			fprintf(stderr,                                      \
				"libfreethreading: %s=\"%s\" is not %s; "   \
				"every call fails with EINVAL\n",            \
				name, env, expected);                        \
			return -EINVAL;                                      \
		}                                                            \
	} while (0)

int ft__config_resolve(const struct ft_config *cfg, struct ft_config *out)
{
	*out = cfg ? *cfg : (struct ft_config){ 0 };
	APPLY("FREETHREADING_BACKEND", parse_backend, &out->backend,
	      "threading or multiprocessing");
	APPLY("FREETHREADING_WAIT", parse_wait, &out->wait,
	      "uring, futex2 or futex");
	APPLY("FREETHREADING_ARENA_SIZE", parse_size, &out->arena_size,
	      "a size in bytes (with K, M or G)");
	APPLY("FREETHREADING_EXIT_TIMEOUT", parse_seconds, &out->exit_timeout,
	      "seconds (>= 0, or -1 for forever)");
	return 0;
}
