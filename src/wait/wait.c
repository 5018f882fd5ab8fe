/* SPDX-License-Identifier: MIT */
/* Choosing the wait implementation, and the helpers all three share. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <sched.h>

#include "base/atomic.h"

#include "freethreading.h"
#include "wait/wait.h"

const struct ft__wait_ops *ft__wait_impl = &ft__wait_futex_ops;
unsigned ft__spin_ns;

#define SPIN_NS 4000

static void choose_spin(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 1)
		ft__spin_ns = SPIN_NS;
}

/* Nanoseconds since @t0 (CLOCK_MONOTONIC). */
static long ns_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

bool ft__spin_while_slow(const uint32_t *word, uint32_t val, uint32_t mask)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 1;; i++) {
		if ((ft__load_relaxed(word) & mask) != val)
			return true;
		ft__cpu_relax();
		if (i % 64 == 0 && ns_since(&t0) > (long)ft__spin_ns)
			return false;
	}
}

void ft__spin_pause(unsigned ns)
{
	if (!ft__spin_ns)
		return;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 8; i++)
			ft__cpu_relax();
	} while (ns_since(&t0) < (long)ns);
}

void ft__wait_select(int want)
{
	choose_spin();
	/* A forced choice that the kernel refuses falls through to the next
	 * one down, so FREETHREADING_WAIT=uring on an old kernel still runs;
	 * ft_runtime_info() tells what was really chosen.  The default is
	 * futex2: io_uring measured slower for every wake-up case of the
	 * bench (bench/README.md), and it costs a ring per sleeping thread. */
	switch (want) {
	case FT_WAIT_URING:
		if (ft__wait_uring_usable()) {
			ft__wait_impl = &ft__wait_uring_ops;
			return;
		}
		/* fall through */
	case FT_WAIT_AUTO:
	case FT_WAIT_FUTEX2:
		if (ft__wait_futex2_usable()) {
			ft__wait_impl = &ft__wait_futex2_ops;
			return;
		}
		/* fall through */
	default:
		ft__wait_impl = &ft__wait_futex_ops;
	}
}

const struct timespec *ft__deadline_abs(struct ft__deadline *d)
{
	if (!d || d->kind == FT__DEADLINE_NONE)
		return NULL;
	if (!d->resolved) {
		clock_gettime(CLOCK_MONOTONIC, &d->at);
		double whole = floor(d->rel);
		d->at.tv_sec += (time_t)whole;
		d->at.tv_nsec += (long)((d->rel - whole) * 1e9);
		if (d->at.tv_nsec >= 1000000000L) {
			d->at.tv_sec++;
			d->at.tv_nsec -= 1000000000L;
		}
		d->resolved = true;
	}
	return &d->at;
}

bool ft__deadline_passed(const struct timespec *abs)
{
	struct timespec now;

	if (!abs)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > abs->tv_sec ||
	       (now.tv_sec == abs->tv_sec && now.tv_nsec >= abs->tv_nsec);
}

void ft__timespec_from_now(struct timespec *ts, long ns)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_nsec += ns;
	while (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

const struct timespec *ft__deadline_slice(const struct timespec *abs,
					  long slice_ns, struct timespec *ts,
					  bool *last)
{
	ft__timespec_from_now(ts, slice_ns);
	*last = abs && (abs->tv_sec < ts->tv_sec ||
			(abs->tv_sec == ts->tv_sec && abs->tv_nsec <= ts->tv_nsec));
	return *last ? abs : ts;
}

int ft__deadline_ms(const struct timespec *abs)
{
	struct timespec now;

	if (!abs)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (long long)(abs->tv_sec - now.tv_sec) * 1000 +
		       (abs->tv_nsec - now.tv_nsec + 999999) / 1000000;
	if (ms <= 0)
		return 0;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

int ft__wait_fds(struct pollfd *fds, unsigned n, const struct timespec *abs)
{
	for (;;) {
		int r = poll(fds, n, ft__deadline_ms(abs));
		if (r > 0)
			return r;
		if (r == 0) {
			/* poll rounds up to whole ms; don't report early. */
			if (ft__deadline_passed(abs))
				return -ETIMEDOUT;
			continue;
		}
		if (errno != EINTR)
			return -errno;
	}
}
