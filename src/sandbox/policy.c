/* SPDX-License-Identifier: MIT */
/*
 * Sandbox policies: the public calls that make and change one, and the
 * seccomp filter compiled from it (libseccomp) that a child loads.
 */
#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

/* What FT_SANDBOX_STRICT allows unconditionally: compute, memory, time,
 * and leaving.  read/write, mmap and the signal calls have conditions. */
static const char *const strict_allow[] = {
	"brk", "munmap", "mremap", "madvise", "mprotect", "futex",
	"rt_sigreturn", "rt_sigprocmask", "sigaltstack", "restart_syscall",
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
	"gettimeofday", "time", "getpid", "gettid", "getrandom",
	"sched_yield", "exit", "exit_group",
};

/* What FT_SANDBOX_NO_NETWORK denies: sockets and exec. */
static const char *const no_network_deny[] = {
	"socket", "socketpair", "connect", "bind", "listen", "accept",
	"accept4", "execve", "execveat",
};

/* Denied by every sandbox, and refused by ft_sandbox_allow: each lets a
 * worker reach past its channel (another process's memory or signals,
 * io_uring's unfiltered operations, a child outside our tracking, a
 * changed filter or death signal, new namespaces, kernel programs). */
static const char *const locked[] = {
	"ptrace", "process_vm_readv", "process_vm_writev", "io_uring_setup",
	"io_uring_enter", "io_uring_register", "seccomp", "clone", "clone3",
	"fork", "vfork", "prctl", "unshare", "setns", "pidfd_open",
	"pidfd_send_signal", "pidfd_getfd", "bpf", "userfaultfd",
	"perf_event_open",
};

/* Allowed towards the worker itself only (abort, raise). */
static const char *const self_signals[] = {
	"kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool listed(const char *const *names, size_t n, int nr)
{
	for (size_t i = 0; i < n; i++)
		if (seccomp_syscall_resolve_name(names[i]) == nr)
			return true;
	return false;
}

static bool in(const int *v, size_t n, int nr)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == nr)
			return true;
	return false;
}

static void drop(int *v, size_t *n, int nr)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i] == nr) {
			v[i] = v[--*n];
			return;
		}
}

static int add(int **v, size_t *n, int nr)
{
	if (in(*v, *n, nr))
		return 0;
	int *p = realloc(*v, (*n + 1) * sizeof(**v));
	if (!p)
		return -ENOMEM;
	p[(*n)++] = nr;
	*v = p;
	return 0;
}

/* seccomp(2) can install a filter here whose action kills the process:
 * neither the kernel nor a filter around us refuses it. */
static bool filters_available(void)
{
	uint32_t action = SECCOMP_RET_KILL_PROCESS;
	return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

FT_API ft_sandbox_t *ft_sandbox_new(int preset, int action)
{
	if ((preset != FT_SANDBOX_STRICT && preset != FT_SANDBOX_NO_NETWORK) ||
	    (action != FT_SANDBOX_DENY_EPERM && action != FT_SANDBOX_DENY_KILL)) {
		errno = EINVAL;
		return NULL;
	}
	if (!filters_available()) {
		errno = ENOSYS;
		return NULL;
	}
	struct ft_sandbox *sb = calloc(1, sizeof(*sb));
	if (!sb)
		return NULL;
	sb->ops = &ft__sandbox_runner;
	sb->preset = preset;
	sb->action = action;
	return sb;
}

static int resolve(const ft_sandbox_t *sb, const char *name)
{
	if (!sb || !name)
		return -EINVAL;
	int nr = seccomp_syscall_resolve_name(name);
	return nr < 0 ? -EINVAL : nr;  /* __NR_SCMP_ERROR or not native */
}

FT_API int ft_sandbox_allow(ft_sandbox_t *sb, const char *syscall)
{
	int nr = resolve(sb, syscall);
	if (nr < 0)
		return nr;
	if (listed(locked, COUNT(locked), nr) ||
	    listed(self_signals, COUNT(self_signals), nr))
		return -EPERM;
	drop(sb->deny, &sb->ndeny, nr);
	return add(&sb->allow, &sb->nallow, nr);
}

FT_API int ft_sandbox_deny(ft_sandbox_t *sb, const char *syscall)
{
	int nr = resolve(sb, syscall);
	if (nr < 0)
		return nr;
	drop(sb->allow, &sb->nallow, nr);
	return add(&sb->deny, &sb->ndeny, nr);
}

static void release(void *p)
{
	struct ft_sandbox *sb = p;
	if (!sb)
		return;
	free(sb->allow);
	free(sb->deny);
	free(sb->prog);
	free(sb);
}

FT_API int ft_sandbox_free(ft_sandbox_t *sb)
{
	if (!sb)
		return -EINVAL;
	release(sb);
	return 0;
}

/* The engine's copy (E8). */
void *ft__sandbox_copy(const void *policy)
{
	const struct ft_sandbox *from = policy;
	struct ft_sandbox *sb = calloc(1, sizeof(*sb));
	if (!sb)
		return NULL;
	*sb = *from;
	sb->allow = sb->deny = NULL;
	sb->nallow = sb->ndeny = 0;
	sb->prog = NULL;
	for (size_t i = 0; i < from->nallow; i++)
		if (add(&sb->allow, &sb->nallow, from->allow[i]) < 0)
			goto fail;
	for (size_t i = 0; i < from->ndeny; i++)
		if (add(&sb->deny, &sb->ndeny, from->deny[i]) < 0)
			goto fail;
	sb->prog = NULL;
	sb->prog_len = 0;
	int r = ft__sandbox_compile(sb);
	if (r < 0) {
		release(sb);
		errno = -r;
		return NULL;
	}
	return sb;
fail:
	release(sb);
	errno = ENOMEM;
	return NULL;
}

void ft__sandbox_release(void *ctx)
{
	release(ctx);
}

/* Add a rule for each name of @names (skipping those of another
 * architecture, and those @skip lists). */
static int add_all(scmp_filter_ctx f, uint32_t act, const char *const *names,
		   size_t n, const int *skip, size_t nskip)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr < 0 || in(skip, nskip, nr))
			continue;
		int r = seccomp_rule_add(f, act, nr, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Add a rule for each number of @v not already named in @done. */
static int add_numbers(scmp_filter_ctx f, uint32_t act, const int *v, size_t n,
		       const char *const *done, size_t ndone)
{
	for (size_t i = 0; i < n; i++) {
		if (listed(done, ndone, v[i]))
			continue;
		int r = seccomp_rule_add(f, act, v[i], 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Strict: deny by default; allow the compute list, the channel, stderr,
 * anonymous memory, and signals to itself. */
static int strict_rules(scmp_filter_ctx f, const struct ft_sandbox *sb,
			scmp_datum_t self)
{
	const uint32_t A = SCMP_ACT_ALLOW;
	int r = add_all(f, A, strict_allow, COUNT(strict_allow), sb->deny,
			sb->ndeny);
	if (r == 0 && !in(sb->deny, sb->ndeny, SCMP_SYS(read)))
		r = seccomp_rule_add(f, A, SCMP_SYS(read), 1,
				     SCMP_A0(SCMP_CMP_EQ, FT__SANDBOX_CHAN_FD));
	if (r == 0 && !in(sb->deny, sb->ndeny, SCMP_SYS(write))) {
		r = seccomp_rule_add(f, A, SCMP_SYS(write), 1,
				     SCMP_A0(SCMP_CMP_EQ, FT__SANDBOX_CHAN_FD));
		if (r == 0)
			r = seccomp_rule_add(f, A, SCMP_SYS(write), 1,
					     SCMP_A0(SCMP_CMP_EQ, 2));
	}
	/* Anonymous memory only: a mapping of 0, 1 or 2 could write a file. */
	if (r == 0 && !in(sb->deny, sb->ndeny, SCMP_SYS(mmap)))
		r = seccomp_rule_add(f, A, SCMP_SYS(mmap), 1,
				     SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS,
					     MAP_ANONYMOUS));
	for (size_t i = 0; r == 0 && i < COUNT(self_signals); i++) {
		int nr = seccomp_syscall_resolve_name(self_signals[i]);
		if (nr >= 0 && !in(sb->deny, sb->ndeny, nr))
			r = seccomp_rule_add(f, A, nr, 1,
					     SCMP_A0(SCMP_CMP_EQ, self));
	}
	if (r == 0)
		r = add_numbers(f, A, sb->allow, sb->nallow, strict_allow,
				COUNT(strict_allow));
	return r;
}

/* No network: allow by default; deny sockets and exec, the locked calls,
 * and signals to anyone else. */
static int no_network_rules(scmp_filter_ctx f, const struct ft_sandbox *sb,
			    uint32_t deny, scmp_datum_t self)
{
	int r = add_all(f, deny, no_network_deny, COUNT(no_network_deny),
			sb->allow, sb->nallow);
	if (r == 0)
		r = add_all(f, deny, locked, COUNT(locked), NULL, 0);
	for (size_t i = 0; r == 0 && i < COUNT(self_signals); i++) {
		int nr = seccomp_syscall_resolve_name(self_signals[i]);
		if (nr >= 0)
			r = seccomp_rule_add(f, deny, nr, 1,
					     SCMP_A0(SCMP_CMP_NE, self));
	}
	for (size_t i = 0; r == 0 && i < sb->ndeny; i++)
		if (!listed(locked, COUNT(locked), sb->deny[i]) &&
		    !listed(self_signals, COUNT(self_signals), sb->deny[i]))
			r = add_numbers(f, deny, &sb->deny[i], 1, no_network_deny,
					COUNT(no_network_deny));
	return r;
}

/*
 * The filter is compiled once, in the parent, and only loaded in the
 * child: a child forked from a multithreaded program must not allocate
 * (an allocator other than glibc's, ASan's among them, may have been
 * locked by another thread at the fork; the first CI run of this code
 * hung a child in ASan's allocator inside libseccomp).  Its rules name
 * the child's pid, which the parent cannot know: they are compiled with
 * SELF_PLACEHOLDER, and the child writes its pid over it.
 */
#define SELF_PLACEHOLDER 0x5eed1e55u

int ft__sandbox_compile(struct ft_sandbox *sb)
{
	uint32_t deny = sb->action == FT_SANDBOX_DENY_KILL
				? SCMP_ACT_KILL_PROCESS
				: SCMP_ACT_ERRNO(EPERM);
	bool strict = sb->preset == FT_SANDBOX_STRICT;
	scmp_filter_ctx f = seccomp_init(strict ? deny : SCMP_ACT_ALLOW);
	if (!f)
		return -ENOMEM;
	/* Another architecture's calls (int 0x80, x32) kill the process,
	 * never only a thread. */
	int r = seccomp_attr_set(f, SCMP_FLTATR_ACT_BADARCH,
				 SCMP_ACT_KILL_PROCESS);
	if (r == 0)
		r = strict ? strict_rules(f, sb, SELF_PLACEHOLDER)
			   : no_network_rules(f, sb, deny, SELF_PLACEHOLDER);
	/* libseccomp 2.5 exports to a descriptor only. */
	int fd = r == 0 ? memfd_create("ft-sandbox-bpf", MFD_CLOEXEC) : -1;
	if (r == 0 && fd < 0)
		r = -errno;
	if (r == 0)
		r = seccomp_export_bpf(f, fd);
	seccomp_release(f);
	struct stat st;
	if (r == 0 && fstat(fd, &st) < 0)
		r = -errno;
	if (r == 0 && (st.st_size <= 0 ||
		       st.st_size % (off_t)sizeof(struct sock_filter)))
		r = -EPROTO;
	struct sock_filter *prog = r == 0 ? malloc((size_t)st.st_size) : NULL;
	if (r == 0 && !prog)
		r = -ENOMEM;
	if (r == 0 && pread(fd, prog, (size_t)st.st_size, 0) != st.st_size)
		r = -EIO;
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		free(prog);
		return r;
	}
	free(sb->prog);
	sb->prog = prog;
	sb->prog_len = (size_t)st.st_size / sizeof(struct sock_filter);
	return 0;
}

int ft__sandbox_filter_load(struct ft_sandbox *sb)
{
	uint32_t self = (uint32_t)getpid();
	for (size_t i = 0; i < sb->prog_len; i++)
		if (BPF_CLASS(sb->prog[i].code) == BPF_JMP &&
		    sb->prog[i].k == SELF_PLACEHOLDER)
			sb->prog[i].k = self;
	struct sock_fprog fprog = { (unsigned short)sb->prog_len, sb->prog };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* Every thread, should the initializer have started one: TSYNC
	 * returns a thread's id if one cannot take the filter. */
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			 SECCOMP_FILTER_FLAG_TSYNC, &fprog);
	if (r < 0)
		return -errno;
	return r == 0 ? 0 : -EBUSY;
}
