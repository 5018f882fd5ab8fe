/* SPDX-License-Identifier: MIT */
/*
 * futex2: futex_waitv(2) (5.16+) sleeps on up to 128 words at once;
 * futex_wait(2)/futex_wake(2) (6.7+) are used when present, else a
 * one-word futex_waitv and a classic FUTEX_WAKE, which reach the same
 * shared futex keys.
 */
#include <errno.h>
#include <pthread.h>

#include "base/sys.h"
#include "wait/wait.h"

static bool have_futex2_wait_wake;

static int futex2_wait(uint32_t *word, uint32_t val, const struct timespec *abs)
{
	int r;

	if (have_futex2_wait_wake) {
		r = ft__sys_futex2_wait(word, val, abs);
	} else {
		struct ft__futex_waitv one = {
			.val = val,
			.uaddr = (uint64_t)(uintptr_t)word,
			.flags = FUTEX2_SIZE_U32,
		};
		r = ft__sys_futex_waitv(&one, 1, abs);
	}
	if (r == -ETIMEDOUT || r == -EAGAIN)
		return r;
	return 0;
}

static int futex2_wake(uint32_t *word, int n)
{
	int r = have_futex2_wait_wake ? ft__sys_futex2_wake(word, n)
				      : ft__sys_futex_wake(word, n);
	return r < 0 ? 0 : r;
}

static int futex2_waitv(const struct ft__wait_word *v, unsigned n,
			const struct timespec *abs)
{
	struct ft__futex_waitv fv[FT__WAITV_MAX];

	if (n == 0 || n > FT__WAITV_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		fv[i] = (struct ft__futex_waitv){
			.val = v[i].val,
			.uaddr = (uint64_t)(uintptr_t)v[i].word,
			.flags = FUTEX2_SIZE_U32,
		};
	int r = ft__sys_futex_waitv(fv, n, abs);
	if (r >= 0 || r == -ETIMEDOUT || r == -EAGAIN)
		return r;
	return 0;
}

static bool usable;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

static void probe(void)
{
	uint32_t word = 0;

	/* Zero words is EINVAL where the call exists. */
	usable = ft__sys_futex_waitv(NULL, 0, NULL) == -EINVAL;
	have_futex2_wait_wake = usable && ft__sys_futex2_wake(&word, 1) >= 0;
}

bool ft__wait_futex2_usable(void)
{
	pthread_once(&probe_once, probe);
	return usable;
}

const struct ft__wait_ops ft__wait_futex2_ops = {
	.name = "futex2",
	.wait = futex2_wait,
	.waitv = futex2_waitv,
	.wake = futex2_wake,
};
