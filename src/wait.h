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

/* Absolute deadline for a timeout in seconds; NULL for "forever"
 * (negative or above 1e9 s). */
struct timespec *ft__deadline(double timeout, struct timespec *ts);

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
