/* SPDX-License-Identifier: MIT */
/*
 * ft_worker_wait: one sleep over a set of workers.
 *
 * Each worker's state word is a futex word its finisher wakes once a
 * sleeper has marked it (W_SLEEPERS).  Up to FT__WAITV_MAX pending
 * workers, the caller marks each word and sleeps on all of them at once
 * (futex_waitv, or io_uring's FUTEX_WAITV); the value it sleeps against
 * holds the phase, so an end after its look is never missed.  A larger
 * set sleeps on the registry's ends word instead, which every finish
 * bumps (worker.c): a wake for any end, rechecked against the set.
 * The sleep is cut into one-second slices so that a thread worker killed
 * alone (no finisher ever runs for it) is noticed, as join does.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "arena/arena.h"
#include "base/atomic.h"
#include "runtime/runtime.h"
#include "wait/wait.h"
#include "worker/worker.h"

#define SLICE_NS 1000000000L

struct set {
	ft_worker_t *const *w;
	size_t n;
	int mode;
	bool *ended;
};

/* How many of the set have ended; *@enough: whether @mode is satisfied.
 * @look: first ask each running one (a creator reaps a dead child here,
 * a thread killed alone is found gone), as ft_worker_is_alive does. */
static size_t count_ended(const struct set *s, bool look, bool *enough)
{
	size_t done = 0;
	bool failed = false;
	for (size_t i = 0; i < s->n; i++) {
		ft_worker_t *w = s->w[i];
		bool e = look ? ft_worker_is_alive(w) == 0
			      : ft__worker_phase(w) == W_DONE;
		/* The exit code is published before DONE (release in
		 * ft__worker_finish; acquire in the phase loads). */
		if (e && w->exitcode != 0)
			failed = true;
		done += e;
		if (s->ended)
			s->ended[i] = e;
	}
	*enough = ft__wait_mode_met(s->mode, done, s->n, failed);
	return done;
}

/* Mark and sleep on each pending worker's state word.  -EAGAIN if one
 * changed meanwhile, else what the wait layer says. */
static int sleep_on_workers(const struct set *s, const struct timespec *until)
{
	struct ft__wait_word v[FT__WAITV_MAX];
	unsigned k = 0;
	for (size_t i = 0; i < s->n; i++) {
		uint32_t *word = &s->w[i]->state;
		uint32_t cur = ft__load_acquire(word);
		if ((cur & W_PHASE) == W_DONE)
			continue;
		if (!(cur & W_SLEEPERS) &&
		    !ft__cas_acquire(word, &cur, cur | W_SLEEPERS))
			return -EAGAIN;
		v[k].word = word;
		v[k].val = cur | W_SLEEPERS;
		k++;
	}
	return k ? ft__waitv(v, k, until) : -EAGAIN;
}

/* Mark and sleep on the ends word; the set is looked at again after the
 * mark, since an end before it woke nobody. */
static int sleep_on_ends(const struct set *s, const struct timespec *until)
{
	uint32_t *ends = ft__worker_ends_word();
	uint32_t cur = ft__load_acquire(ends);
	if (!(cur & ENDS_SLEEPERS) &&
	    !ft__cas_acq_rel(ends, &cur, cur | ENDS_SLEEPERS))
		return -EAGAIN;
	bool enough;
	count_ended(s, false, &enough);
	if (enough)
		return -EAGAIN;
	return ft__wait(ends, cur | ENDS_SLEEPERS, until);
}

FT_API int ft_worker_wait(ft_worker_t *const *workers, size_t n, int mode,
			  double timeout, bool *ended)
{
	struct ft__deadline d;
	int r = ft__deadline_init(&d, timeout);
	if (r < 0)
		return r;
	if (!ft__wait_mode_valid(mode))
		return -EINVAL;
	if (n == 0)
		return 0;
	if (!workers || n > INT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		r = ft__check(workers[i], FT__TAG_WORKER);
		if (r < 0)
			return r;
		if (ft__worker_phase(workers[i]) == W_NEW)
			return -EINVAL;
	}

	struct set s = { workers, n, mode, ended };
	bool enough, look = true;
	for (;;) {
		size_t done = count_ended(&s, look, &enough);
		if (enough || ft__deadline_now(&d))
			return (int)done;
		const struct timespec *abs = ft__deadline_abs(&d);
		struct timespec ts;
		bool last;
		const struct timespec *until =
			ft__deadline_slice(abs, SLICE_NS, &ts, &last);
		r = n <= FT__WAITV_MAX ? sleep_on_workers(&s, until)
				       : sleep_on_ends(&s, until);
		look = false;
		if (r == -ETIMEDOUT) {
			if (last)
				return (int)count_ended(&s, true, &enough);
			look = true;
		}
	}
}
