/* SPDX-License-Identifier: MIT */
/*
 * Classic futex(2): available on every kernel we run on.  It cannot sleep
 * on several words at once, so waitv sleeps on the first word in slices and
 * rechecks the others between them; that fallback is the price of a kernel
 * older than 5.16 (or one whose futex_waitv is filtered out).
 */
#include <errno.h>

#include "base/atomic.h"
#include "base/sys.h"
#include "wait/wait.h"

static int futex_wait(uint32_t *word, uint32_t val, const struct timespec *abs)
{
	int r = ft__sys_futex_wait(word, val, abs);
	if (r == -ETIMEDOUT || r == -EAGAIN)
		return r;
	return 0; /* woken, EINTR: the caller rechecks its condition */
}

static int futex_wake(uint32_t *word, int n)
{
	int r = ft__sys_futex_wake(word, n);
	return r < 0 ? 0 : r;
}

static int futex_waitv(const struct ft__wait_word *v, unsigned n,
		       const struct timespec *abs)
{
	if (n == 1)
		return futex_wait(v[0].word, v[0].val, abs);

	long slice_ns = 1000000; /* 1 ms, doubling up to 64 ms */
	for (;;) {
		for (unsigned i = 0; i < n; i++)
			if (ft__load_acquire(v[i].word) != v[i].val)
				return -EAGAIN;
		struct timespec ts;
		bool last;
		int r = ft__sys_futex_wait(v[0].word, v[0].val,
					   ft__deadline_slice(abs, slice_ns, &ts,
							      &last));
		if (r == 0)
			return 0;
		if (r == -EAGAIN)
			return -EAGAIN;
		if (r == -ETIMEDOUT && last)
			return -ETIMEDOUT;
		if (slice_ns < 64000000)
			slice_ns *= 2;
	}
}

const struct ft__wait_ops ft__wait_futex_ops = {
	.name = "futex",
	.wait = futex_wait,
	.waitv = futex_waitv,
	.wake = futex_wake,
};
