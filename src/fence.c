/* SPDX-License-Identifier: MIT */
/*
 * membarrier(2) in its global expedited form: the caller need not be
 * registered, every process that runs a fast side must be.  A fork()ed
 * child starts with a new address space and must register again, so the
 * registration is remembered with the pid that made it.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fence.h"
#include "sys.h"

#ifndef SYS_membarrier
#define SYS_membarrier 324
#endif

static pid_t registered_pid;

static int membarrier(int cmd)
{
	return (int)ft__sys_ret(syscall(SYS_membarrier, cmd, 0, 0));
}

void ft__fence_register(void)
{
	int cmds = membarrier(MEMBARRIER_CMD_QUERY);
	int need = MEMBARRIER_CMD_GLOBAL_EXPEDITED |
		   MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;
	if (cmds < 0 || (cmds & need) != need ||
	    membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) < 0)
		return;
	ft__store_release(&registered_pid, getpid());
}

bool ft__fence_ready(void)
{
	pid_t p = ft__load_acquire(&registered_pid);
	return p && p == getpid();
}

int ft__fence_heavy(void)
{
	/* ENOMEM: the kernel could not allocate its CPU mask this time. */
	int e;
	for (int i = 0; i < 100; i++) {
		e = membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED);
		if (e != -ENOMEM && e != -EINTR && e != -EAGAIN)
			return e;
		sched_yield();
	}
	return e;
}
