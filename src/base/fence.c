/* SPDX-License-Identifier: MIT */
/*
 * membarrier(2) in its expedited forms.  Registration waits for the first
 * fast side (a producer given a queue's bias): a process that never makes
 * one is never interrupted by anyone's fence.
 */
#include <errno.h>
#include <pthread.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/atomic.h"
#include "base/fence.h"
#include "base/sys.h"

#ifndef SYS_membarrier
#define SYS_membarrier 324
#endif

/* 1 registered, a negative errno if refused, 0 not tried (in this
 * process: reset in a forked child). */
static int prepared;

static int membarrier(int cmd)
{
	return (int)ft__sys_ret(syscall(SYS_membarrier, cmd, 0, 0));
}

int ft__fence_prepare(void)
{
	/* Acquire pairs with the release below: a thread that sees the
	 * registration done runs its fast side after it. */
	int s = ft__load_acquire(&prepared);
	if (s)
		return s < 0 ? s : 0;
	int need = MEMBARRIER_CMD_PRIVATE_EXPEDITED |
		   MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED |
		   MEMBARRIER_CMD_GLOBAL_EXPEDITED |
		   MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;
	int r = membarrier(MEMBARRIER_CMD_QUERY);
	if (r >= 0)
		r = (r & need) == need ? 0 : -ENOSYS;
	if (r == 0)
		r = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
	if (r == 0)
		r = membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED);
	/* Two threads may both register: the kernel makes that a no-op. */
	ft__store_release(&prepared, r == 0 ? 1 : r);
	return r;
}

/* A forked child has registered for nothing. */
static void after_fork_child(void)
{
	ft__store_relaxed(&prepared, 0);
}

__attribute__((constructor)) static void register_fork_handler(void)
{
	pthread_atfork(NULL, NULL, after_fork_child);
}

int ft__fence_heavy(pid_t pid)
{
	int cmd = pid == getpid() ? MEMBARRIER_CMD_PRIVATE_EXPEDITED
				  : MEMBARRIER_CMD_GLOBAL_EXPEDITED;
	int e;
	/* ENOMEM: the kernel could not allocate its CPU mask this time. */
	for (int i = 0; i < 100; i++) {
		e = membarrier(cmd);
		if (e != -ENOMEM && e != -EINTR && e != -EAGAIN)
			return e;
		sched_yield();
	}
	return e;
}
