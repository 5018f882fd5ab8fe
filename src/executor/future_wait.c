/* SPDX-License-Identifier: MIT */
/*
 * ft_wait and ft_as_completed: one sleep over many futures.
 *
 * The shape of ft_worker_wait (worker_wait.c, models/worker_wait.pml):
 * (F1) Up to FT__WAITV_MAX pending futures, the waiter marks each word
 *      SLEEPERS (CAS: a changed word means look again) and sleeps on all
 *      of them with the values it set; a finisher that sees SLEEPERS in
 *      the CAS that ends the future wakes the word.
 * (F2) More: the waiter marks the program's ends word (seq_cst CAS) and
 *      then looks at the set again (seq_cst loads); a finisher ends the
 *      future (seq_cst CAS) and then loads the ends word (seq_cst),
 *      bumping and waking it only if marked.  Of the two store-then-load
 *      pairs at least one sees the other, so no end is missed, and a
 *      finish with nobody waiting costs one load of a line that stays
 *      shared.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>

#include "executor/executor.h"
#include "wait/wait.h"
#include "worker/worker.h"

bool ft__future_failed(struct ft_future *f)
{
	switch (ft__future_phase(f)) {
	case F_CANCELLED:
	case F_BROKEN:
		return true;
	case F_FINISHED:
		return f->kind == F_GROUP ? ft__group_code(f) != 0
					  : ft__load_relaxed(&f->result) != 0;
	default:
		return false;
	}
}

static bool phase_done_seq_cst(struct ft_future *f)
{
	return (ft__load_seq_cst(ft__future_word(f)) & F_PHASE) >= F_FINISHED;
}

static size_t count_done(struct ft_future *const *fs, size_t n, int mode,
			 const bool *skip, bool *done, bool *enough)
{
	size_t count = 0, considered = 0;
	bool failed = false;
	for (size_t i = 0; i < n; i++) {
		if (skip && skip[i])
			continue;
		considered++;
		bool d = phase_done_seq_cst(fs[i]);
		if (d && mode == FT_FIRST_EXCEPTION && ft__future_failed(fs[i]))
			failed = true;
		count += d;
		if (done)
			done[i] = d;
	}
	*enough = ft__wait_mode_met(mode, count, considered, failed);
	return count;
}

/* (F1) Sleep on the words of the futures not done when @counted were.
 * -EAGAIN if a word changed meanwhile (one more done: look again), else
 * what the wait says. */
static int sleep_on_words(struct ft_future *const *fs, size_t n,
			  const bool *skip, size_t counted,
			  const struct timespec *abs)
{
	struct ft__wait_word v[FT__WAITV_MAX];
	unsigned k = 0;
	size_t done = 0;
	for (size_t i = 0; i < n; i++) {
		if (skip && skip[i])
			continue;
		uint32_t *word = ft__future_word(fs[i]);
		uint32_t cur = ft__load_acquire(word);
		if ((cur & F_PHASE) >= F_FINISHED) {
			/* Done already when counted: not slept on.  Done
			 * since: the count is stale (ends are for good, so
			 * counting tells the two apart). */
			if (++done > counted)
				return -EAGAIN;
			continue;
		}
		if (!(cur & F_SLEEPERS) &&
		    !ft__cas_acquire(word, &cur, cur | F_SLEEPERS))
			return -EAGAIN;
		v[k].word = word;
		v[k].val = cur | F_SLEEPERS;
		k++;
	}
	return k ? ft__waitv(v, k, abs) : -EAGAIN;
}

/* (F2) */
static int sleep_on_ends(struct ft_future *const *fs, size_t n, int mode,
			 const bool *skip, const struct timespec *abs)
{
	uint32_t *ends = ft__future_ends_word();
	uint32_t cur = ft__load_seq_cst(ends);
	if (!(cur & FENDS_SLEEPERS) &&
	    !ft__cas_seq_cst(ends, &cur, cur | FENDS_SLEEPERS))
		return -EAGAIN;
	bool enough;
	count_done(fs, n, mode, skip, NULL, &enough);
	if (enough)
		return -EAGAIN;
	return ft__wait(ends, cur | FENDS_SLEEPERS, abs);
}

int ft__futures_wait(struct ft_future *const *fs, size_t n, int mode,
		     struct ft__deadline *d, const bool *skip, bool *done)
{
	size_t pending = 0;
	for (size_t i = 0; i < n; i++)
		pending += !(skip && skip[i]);
	for (;;) {
		bool enough;
		size_t count = count_done(fs, n, mode, skip, done, &enough);
		if (enough || ft__deadline_now(d))
			return (int)count;
		const struct timespec *abs = ft__deadline_abs(d);
		int r = pending <= FT__WAITV_MAX
				? sleep_on_words(fs, n, skip, count, abs)
				: sleep_on_ends(fs, n, mode, skip, abs);
		if (r == -ETIMEDOUT)
			return (int)count_done(fs, n, mode, skip, done, &enough);
	}
}

static int check_set(ft_future_t *const *fs, size_t n)
{
	if (n && !fs)
		return -EINVAL;
	if (n > INT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int r = ft__check(fs[i], FT__TAG_FUTURE);
		if (r < 0)
			return r;
	}
	return 0;
}

FT_API int ft_wait(ft_future_t *const *fs, size_t n, int mode,
		   double timeout, bool *done)
{
	struct ft__deadline d;
	int r = ft__deadline_init(&d, timeout);
	if (r < 0)
		return r;
	if (!ft__wait_mode_valid(mode))
		return -EINVAL;
	r = check_set(fs, n);
	if (r < 0 || n == 0)
		return r;
	return ft__futures_wait(fs, n, mode, &d, NULL, done);
}

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

FT_API int ft_as_completed_init(ft_as_completed_t *it, ft_future_t *const *fs,
				size_t n, bool *seen, double timeout)
{
	struct ft__deadline d;
	if (!it || (n && !seen))
		return -EINVAL;
	int r = ft__deadline_init(&d, timeout);
	if (r == 0)
		r = check_set(fs, n);
	if (r < 0)
		return r;
	it->fs = fs;
	it->n = it->left = n;
	it->seen = seen;
	for (size_t i = 0; i < n; i++)
		seen[i] = false;
	it->forever = d.kind == FT__DEADLINE_NONE;
	it->deadline_ns = mono_ns();
	if (!it->forever && timeout > 0)
		it->deadline_ns += (long long)(timeout * 1e9);
	return 0;
}

FT_API int ft_as_completed(ft_as_completed_t *it)
{
	if (!it || (it->n && (!it->fs || !it->seen)))
		return -EINVAL;
	for (;;) {
		if (it->left == 0)
			return -ENODATA;
		for (size_t i = 0; i < it->n; i++)
			if (!it->seen[i] && ft__future_is_done(it->fs[i])) {
				it->seen[i] = true;
				it->left--;
				return (int)i;
			}
		long long left_ns = it->deadline_ns - mono_ns();
		if (!it->forever && left_ns <= 0)
			return -ETIMEDOUT;
		struct ft__deadline d;
		ft__deadline_init(&d, it->forever ? FT_FOREVER : left_ns / 1e9);
		int r = ft__futures_wait(it->fs, it->n, FT_FIRST_COMPLETED, &d,
					 it->seen, NULL);
		if (r < 0)
			return r;
	}
}
