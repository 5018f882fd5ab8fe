/* SPDX-License-Identifier: MIT */
/*
 * Layer 2: sleeping.  Nothing above this layer makes a wait syscall.
 *
 * All futex words are shared (the arena is MAP_SHARED), so no implementation
 * uses FUTEX_PRIVATE_FLAG/FUTEX2_PRIVATE: a waiter in one process must be
 * woken by a waker in another.  Deadlines are absolute CLOCK_MONOTONIC; NULL
 * means forever.
 */
#ifndef FT_WAIT_H
#define FT_WAIT_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct ft__wait_word {
	uint32_t *word;
	uint32_t val; /* sleep only while *word == val */
};

struct ft__wait_ops {
	const char *name;
	/* 0: woken (maybe spuriously); -EAGAIN: *word != val; -ETIMEDOUT. */
	int (*wait)(uint32_t *word, uint32_t val, const struct timespec *abs);
	/* >= 0: index of a word that was woken (a hint only); -EAGAIN: some
	 * word already differs; -ETIMEDOUT. n <= FT__WAITV_MAX. */
	int (*waitv)(const struct ft__wait_word *v, unsigned n,
		     const struct timespec *abs);
	/* Number woken (>= 0).  Wakes at most n waiters of @word. */
	int (*wake)(uint32_t *word, int n);
};

#define FT__WAITV_MAX 128

extern const struct ft__wait_ops ft__wait_futex_ops;
extern const struct ft__wait_ops ft__wait_futex2_ops;
extern const struct ft__wait_ops ft__wait_uring_ops;

/* Probes, each run once: 1 if usable here.  ENOSYS, EPERM and EOPNOTSUPP
 * all mean "not here". */
bool ft__wait_futex2_usable(void);
bool ft__wait_uring_usable(void);

/* Choose an implementation (enum ft_wait_impl); falls back, never fails. */
void ft__wait_select(int want);
extern const struct ft__wait_ops *ft__wait_impl;

static inline int ft__wait(uint32_t *word, uint32_t val,
			   const struct timespec *abs)
{
	return ft__wait_impl->wait(word, val, abs);
}

static inline int ft__waitv(const struct ft__wait_word *v, unsigned n,
			    const struct timespec *abs)
{
	return ft__wait_impl->waitv(v, n, abs);
}

static inline int ft__wake(uint32_t *word, int n)
{
	return ft__wait_impl->wake(word, n);
}

/*
 * Spin while *@word == @val, for at most ft__spin_ns: true if it changed.
 * A sleep and a cross-CPU wake cost tens of microseconds on some machines,
 * far more than a partner's reply; callers spin before they announce
 * themselves as sleepers (so the partner need not make a wake syscall).
 * 0 when this process may run on one CPU only: spinning there only delays
 * the partner it waits for.
 */
extern unsigned ft__spin_ns;
bool ft__spin_while_slow(const uint32_t *word, uint32_t val, uint32_t mask);
static inline bool ft__spin_while(const uint32_t *word, uint32_t val)
{
	return ft__spin_ns && ft__spin_while_slow(word, val, ~0u);
}

/* ft__spin_while on the bits of @mask only. */
static inline bool ft__spin_while_masked(const uint32_t *word, uint32_t val,
					 uint32_t mask)
{
	return ft__spin_ns && ft__spin_while_slow(word, val, mask);
}

/*
 * Stay off shared memory for about @ns, pausing the CPU: lets a partner
 * that streams into a shared buffer fill several cache lines before we
 * come to read them.  No-op where ft__spin_ns is 0 (one CPU).
 */
void ft__spin_pause(unsigned ns);

/* Wait until one of @fds is ready: count ready, or -ETIMEDOUT.  poll(2)
 * underneath: readiness of pidfds is what it is used for. */
int ft__wait_fds(struct pollfd *fds, unsigned n, const struct timespec *abs);

/*
 * A caller's deadline.  A public call's timeout (seconds, a double) is
 * checked and converted once, at the boundary, by ft__deadline_init; every
 * layer below takes this, and a NULL struct ft__deadline * means forever.
 *   FT_FOREVER (exactly -1) and values too large to represent
 *   (>= FT__TIMEOUT_HUGE s, or +inf): no deadline;
 *   0: do not wait: callers report -EAGAIN where they would wait;
 *   any other negative value: a deadline already passed (-ETIMEDOUT
 *   where the call would wait);
 *   NaN: -EINVAL.
 * The absolute CLOCK_MONOTONIC instant is computed on first use
 * (ft__deadline_abs), so a call that never waits never reads the clock;
 * it then stays fixed for the rest of the call.
 */
#define FT__TIMEOUT_HUGE 0x1p62 /* seconds: some 1.5e11 years */

enum ft__deadline_kind {
	FT__DEADLINE_NONE,   /* wait forever */
	FT__DEADLINE_NOW,    /* timeout 0: never wait */
	FT__DEADLINE_AT,     /* wait until @rel seconds from the call */
};

struct ft__deadline {
	enum ft__deadline_kind kind;
	bool resolved;        /* @at computed */
	double rel;           /* FT__DEADLINE_AT: seconds, >= 0 */
	struct timespec at;   /* absolute, once resolved */
};

static inline int ft__deadline_init(struct ft__deadline *d, double timeout)
{
	d->resolved = false;
	d->rel = 0;
	if (__builtin_expect(timeout == -1.0, 1)) {
		d->kind = FT__DEADLINE_NONE;
	} else if (timeout == 0) {
		d->kind = FT__DEADLINE_NOW;
	} else if (timeout > 0) {
		d->kind = timeout >= FT__TIMEOUT_HUGE ? FT__DEADLINE_NONE
						      : FT__DEADLINE_AT;
		d->rel = timeout;
	} else if (timeout < 0) {
		d->kind = FT__DEADLINE_AT;   /* already passed */
	} else {
		return -EINVAL; /* NaN */
	}
	return 0;
}

/* Never wait (timeout 0). */
static inline bool ft__deadline_now(const struct ft__deadline *d)
{
	return d && d->kind == FT__DEADLINE_NOW;
}

/* The absolute deadline; NULL for none (@d NULL or forever).  For
 * FT__DEADLINE_NOW, the present. */
const struct timespec *ft__deadline_abs(struct ft__deadline *d);

/* @ts = now + @ns (CLOCK_MONOTONIC), for internal periods. */
void ft__timespec_from_now(struct timespec *ts, long ns);

/* Milliseconds left until @abs for poll(2): -1 for NULL, 0 if passed. */
int ft__deadline_ms(const struct timespec *abs);

bool ft__deadline_passed(const struct timespec *abs);

/* For a wait in slices: the earlier of @abs (NULL: none) and @slice_ns
 * from now, stored in @ts when it is the slice; *@last tells whether it
 * is @abs, after which the wait is over. */
const struct timespec *ft__deadline_slice(const struct timespec *abs,
					  long slice_ns, struct timespec *ts,
					  bool *last);

#endif
