/* SPDX-License-Identifier: MIT */
/*
 * Asymmetric fences: a fast side that runs often pays only a compiler
 * barrier, a slow side that runs rarely pays a membarrier(2) system call
 * that makes every CPU running one of our workers, in any of our
 * processes, execute a full memory barrier.
 *
 * The pattern, as in the Dekker handshake with both fences:
 *   fast side:  store A; ft__fence_light(); load B
 *   slow side:  store B; ft__fence_heavy(); load A
 * Either the slow side's load sees A, or the fast side's load sees B.
 * Used by the queue's producer bias (queue.c, docs/DESIGN.md).
 */
#ifndef FT_FENCE_H
#define FT_FENCE_H

#include <stdbool.h>

#include "atomic.h"

/* Ask the kernel to deliver heavy fences to this process.  Called at
 * set-up and in every process worker (the registration is per address
 * space).  Safe to call again; failure leaves the process unregistered. */
void ft__fence_register(void);

/* True if this process is registered: only then may it run a fast side. */
bool ft__fence_ready(void);

/* The slow side: 0, or the negative errno of membarrier(2) (EPERM or
 * ENOSYS from a seccomp filter; ENOMEM only if retrying did not help). */
int ft__fence_heavy(void);

/* The fast side: the CPU may still reorder, the heavy fence covers that. */
static inline void ft__fence_light(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

#endif
