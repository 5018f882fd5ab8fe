/* SPDX-License-Identifier: MIT */
/*
 * The only place atomics are spelled.  Every helper names its memory order;
 * callers note which operation pairs with which.
 */
#ifndef FT_ATOMIC_H
#define FT_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

#define ft__load_relaxed(p)	__atomic_load_n((p), __ATOMIC_RELAXED)
#define ft__load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ft__store_relaxed(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ft__store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)

#define ft__xchg_acq_rel(p, v)	__atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define ft__xchg_release(p, v)	__atomic_exchange_n((p), (v), __ATOMIC_RELEASE)

#define ft__fetch_add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define ft__fetch_add_acq_rel(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#define ft__fetch_or_acq_rel(p, v)  __atomic_fetch_or((p), (v), __ATOMIC_ACQ_REL)
#define ft__fetch_and_acq_rel(p, v) __atomic_fetch_and((p), (v), __ATOMIC_ACQ_REL)

/* Strong CAS.  A failed acquire CAS updates *expected with an acquire
 * load too: callers decide on that value (a joiner that finds DONE there,
 * a waiter that finds its event set) and must see what led to it. */
#define ft__cas_acquire(p, expected, desired)                                  \
	__atomic_compare_exchange_n((p), (expected), (desired), false,         \
				    __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)
#define ft__cas_release(p, expected, desired)                                  \
	__atomic_compare_exchange_n((p), (expected), (desired), false,         \
				    __ATOMIC_RELEASE, __ATOMIC_RELAXED)
#define ft__cas_acq_rel(p, expected, desired)                                  \
	__atomic_compare_exchange_n((p), (expected), (desired), false,         \
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

/* Thread-locals on fast paths: initial-exec, so a read is one %fs-relative
 * load instead of a __tls_get_addr call from this shared library.  Kept
 * small: the static TLS surplus for such libraries is limited. */
#define FT__TLS __thread __attribute__((tls_model("initial-exec")))

/*
 * The announce-then-look / change-then-look handshake between a sleeper
 * and a waker (queue join and task_done; a sleeping consumer and the
 * producer bias, queue.c): each side's first operation may
 * not pass its second.
 */
#define ft__load_seq_cst(p)	__atomic_load_n((p), __ATOMIC_SEQ_CST)
#define ft__store_seq_cst(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define ft__fetch_add_seq_cst(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define ft__fetch_sub_release(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_RELEASE)
#define ft__cas_seq_cst(p, expected, desired)                                  \
	__atomic_compare_exchange_n((p), (expected), (desired), false,         \
				    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)

static inline void ft__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif
