/* SPDX-License-Identifier: MIT */
/*
 * Asymmetric fences: a fast side that runs often pays only a compiler
 * barrier, a slow side that runs rarely pays a membarrier(2) system call
 * that makes every CPU running the fast side's process execute a full
 * memory barrier.
 *
 * The pattern, as in the Dekker handshake with both fences:
 *   fast side:  store A; ft__fence_light(); load B
 *   slow side:  store B; ft__fence_heavy(pid); load A
 * Either the slow side's load sees A, or the fast side's load sees B.
 * Used by the queue's producer bias (queue/bias.c, docs/DESIGN.md).
 *
 * A process may run a fast side only once ft__fence_prepare() returned 0
 * in it.  The slow side takes the fast side's process id: a fence within
 * one process interrupts only that process's CPUs
 * (MEMBARRIER_CMD_PRIVATE_EXPEDITED); one towards another process goes to
 * every CPU running a process registered for it (..._GLOBAL_EXPEDITED).
 */
#ifndef FT_FENCE_H
#define FT_FENCE_H

#include <sys/types.h>

/* Register this process for both kinds of heavy fence, once (a forked
 * child registers again).  0, or the negative errno that refused it,
 * remembered: a process whose registration failed never runs a fast
 * side. */
int ft__fence_prepare(void);

/* The slow side, towards the fast sides of process @pid: 0, or the
 * negative errno of membarrier(2) (EPERM or ENOSYS from a seccomp filter;
 * ENOMEM only if retrying did not help).  A refusal may come at any call:
 * a filter can be installed at any time. */
int ft__fence_heavy(pid_t pid);

/* The fast side: the CPU may still reorder, the heavy fence covers that. */
static inline void ft__fence_light(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

#endif
