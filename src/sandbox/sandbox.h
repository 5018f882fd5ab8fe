/* SPDX-License-Identifier: MIT */
/*
 * Layer 7: sandboxed workers.  A pool or executor given a policy runs
 * each task in a process of its own that keeps no shared mapping, talks
 * to its parent over a socketpair, and runs under a seccomp filter built
 * from the policy.  Each such process is driven by a thread worker of the
 * engine (its proxy), through the engine's task-runner interface (E8 in
 * executor.h).  Invariants (docs/DESIGN.md, Sandbox):
 * (S1) Nothing the child writes is used unchecked: the proxy reads only
 *      fixed-size frames and a result block whose size it chose itself,
 *      each field once, and compares magic, sequence, code and failing
 *      item against what it asked; anything else is -EPROTO and a kill.
 * (S2) The child has no shared mapping and no descriptor but 0-2 and its
 *      end of the channel before its filter is installed, and its filter
 *      before any task runs.
 * (S3) The proxy reaps its child only once no kill of the manager can
 *      still be on its way to it (E8), and signals it through a pidfd
 *      where the kernel has them.
 */
#ifndef FT_SANDBOX_H
#define FT_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <linux/filter.h>
#include <sys/types.h>

#include "executor/executor.h"
#include "freethreading.h"

struct ft_sandbox {
	/* First: the engine finds the runner here (E8). */
	const struct ft__task_runner *ops;
	int preset;                 /* enum ft_sandbox_preset */
	int action;                 /* enum ft_sandbox_action */
	/* The caller's changes, as system call numbers; a later call on
	 * the same number replaces an earlier one. */
	int *allow, *deny;
	size_t nallow, ndeny;
	/* The compiled filter, in an engine's or a worker's copy only. */
	struct sock_filter *prog;
	size_t prog_len;
};

extern const struct ft__task_runner ft__sandbox_runner;

/* The child's end of the channel, moved here before anything else. */
#define FT__SANDBOX_CHAN_FD 3

#define FT__SANDBOX_MAGIC 0x46545342u /* "FTSB" */

/* Proxy -> child: run @fn over @n items; then n * in_size bytes. */
struct ft__sandbox_req {
	uint32_t magic;
	uint32_t seq;
	uint64_t fn;
	uint64_t n, in_size, out_size;
};

/* Child -> proxy: once at start (seq 0: its set-up's code), then per
 * request, followed by n * out_size bytes. */
struct ft__sandbox_resp {
	uint32_t magic;
	uint32_t seq;
	int32_t code;
	uint32_t failed_at;
};

/* policy.c: compile @sb's filter (into sb->prog), in the parent. */
int ft__sandbox_compile(struct ft_sandbox *sb);
/* policy.c: install @sb's compiled filter in the calling (child)
 * process, on every thread; allocates nothing. */
int ft__sandbox_filter_load(struct ft_sandbox *sb);

/* child.c: cut the calling (forked) process off: default signal
 * dispositions, descriptors 0-2 and @chan only (moved to
 * FT__SANDBOX_CHAN_FD; @chan < 0: none), no shared mapping, not dumpable,
 * @o's initializer run (if @o), then @sb's filter.  0 or -errno. */
int ft__sandbox_enter(struct ft_sandbox *sb, int chan,
		      const struct ft_pool_options *o);

/* child.c: the child's whole life after the fork. */
_Noreturn void ft__sandbox_child(struct ft_sandbox *sb, int chan,
				 pid_t parent, const struct ft_pool_options *o);

/* policy.c: the engine's copy of a policy, and its release (E8). */
void *ft__sandbox_copy(const void *policy);
void ft__sandbox_release(void *ctx);

#endif
