/* SPDX-License-Identifier: MIT */
/*
 * Raw system calls, each returning the result or -errno (never touching the
 * caller's errno contract above this layer).  Kernel ABI constants that
 * Debian 12's headers may lack are defined here and nowhere else.
 */
#ifndef FT_SYS_H
#define FT_SYS_H

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/futex.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef SYS_futex_wake
#define SYS_futex_wake 454
#endif
#ifndef SYS_futex_wait
#define SYS_futex_wait 455
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif
#ifndef FUTEX_BITSET_MATCH_ANY
#define FUTEX_BITSET_MATCH_ANY 0xffffffff
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
/* Kernel 6.9: a pidfd for one thread rather than a thread group. */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static inline long ft__sys_ret(long r)
{
	return r < 0 ? -errno : r;
}

/* Shared (not FUTEX_PRIVATE) wait with an absolute CLOCK_MONOTONIC deadline. */
static inline int ft__sys_futex_wait(uint32_t *word, uint32_t val,
				     const struct timespec *abs)
{
	return (int)ft__sys_ret(syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val,
					abs, NULL, FUTEX_BITSET_MATCH_ANY));
}

static inline int ft__sys_futex_wake(uint32_t *word, int n)
{
	return (int)ft__sys_ret(syscall(SYS_futex, word, FUTEX_WAKE, n, NULL,
					NULL, 0));
}

struct ft__futex_waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

static inline int ft__sys_futex_waitv(struct ft__futex_waitv *v, unsigned n,
				      const struct timespec *abs)
{
	return (int)ft__sys_ret(syscall(SYS_futex_waitv, v, n, 0, abs,
					CLOCK_MONOTONIC));
}

static inline int ft__sys_futex2_wait(uint32_t *word, uint32_t val,
				      const struct timespec *abs)
{
	return (int)ft__sys_ret(syscall(SYS_futex_wait, word, (unsigned long)val,
					(unsigned long)FUTEX_BITSET_MATCH_ANY,
					FUTEX2_SIZE_U32, abs, CLOCK_MONOTONIC));
}

static inline int ft__sys_futex2_wake(uint32_t *word, int n)
{
	return (int)ft__sys_ret(syscall(SYS_futex_wake, word,
					(unsigned long)FUTEX_BITSET_MATCH_ANY, n,
					FUTEX2_SIZE_U32));
}

static inline int ft__sys_pidfd_open(pid_t pid, unsigned flags)
{
	return (int)ft__sys_ret(syscall(SYS_pidfd_open, pid, flags));
}

static inline int ft__sys_pidfd_send_signal(int pidfd, int sig)
{
	return (int)ft__sys_ret(syscall(SYS_pidfd_send_signal, pidfd, sig,
					NULL, 0));
}

static inline int ft__sys_waitid_pidfd(int pidfd, siginfo_t *info, int opts)
{
	return (int)ft__sys_ret(waitid((idtype_t)P_PIDFD, (id_t)pidfd, info,
				       opts));
}

/* Kernel 6.15: PIDFD_GET_INFO reports a process's exit status through its
 * pidfd even after someone else reaped it (linux/pidfd.h, here because
 * Debian 12's headers predate it).  Only the fields up to exit_code. */
struct ft__pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid,
		 fsgid;
	int32_t exit_code;   /* a wait(2) status */
};
#define FT__PIDFD_INFO_EXIT (1ull << 3)
#define FT__PIDFD_GET_INFO _IOWR(0xFF, 11, struct ft__pidfd_info)

/* The wait(2) status of the ended process behind @pidfd, whoever reaped
 * it: 0, or -errno (-ENOTTY, -EINVAL on kernels before 6.15; -ESRCH
 * while the process is not yet reaped). */
static inline int ft__sys_pidfd_exit_status(int pidfd, int *status)
{
	struct ft__pidfd_info info;
	memset(&info, 0, sizeof(info));
	info.mask = FT__PIDFD_INFO_EXIT;
	if (ioctl(pidfd, FT__PIDFD_GET_INFO, &info) < 0)
		return -errno;
	if (!(info.mask & FT__PIDFD_INFO_EXIT))
		return -ESRCH;
	*status = info.exit_code;
	return 0;
}

static inline pid_t ft__sys_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* The fields of /proc/<@tid>/stat (0: this process) from the state on,
 * read into @buf (512 bytes); NULL with *@gone set if the thread is gone,
 * NULL alone if /proc cannot tell. */
static inline const char *ft__sys_stat(pid_t tid, char *buf, bool *gone)
{
	char path[48];
	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/self/stat");
	*gone = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*gone = errno == ENOENT;
		return NULL;
	}
	ssize_t n;
	do
		n = read(fd, buf, 511);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	/* "pid (comm) S ...": the comm may hold ')' itself. */
	const char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return NULL;
	return p + 2;
}

/* The state letter /proc/<@tid>/stat shows ('R', 'S', 'Z', ...), 0 if
 * the thread is gone, -1 if /proc cannot tell. */
static inline int ft__sys_tid_state(pid_t tid)
{
	char buf[512];
	bool gone;
	const char *f = ft__sys_stat(tid, buf, &gone);
	return f ? (unsigned char)f[0] : gone ? 0 : -1;
}

/* How many threads this process has, -1 if /proc cannot tell. */
static inline long ft__sys_thread_count(void)
{
	/* procfs counts a process's threads in its task directory's link
	 * count (2 + threads, since Linux 2.6.17): one stat, where reading
	 * /proc/self/stat took three calls, a parse, and the pages of stdio
	 * and scanf in a freshly forked worker. */
	struct stat st;
	if (stat("/proc/self/task", &st) < 0 || st.st_nlink < 3)
		return -1;
	return (long)st.st_nlink - 2;
}

/* Whether thread @tid is on a CPU or waiting for one: 1 if so (state R),
 * 0 if it sleeps, is stopped or gone, -1 if /proc cannot tell.  A thread
 * seen off the CPU has been switched out, and every store it made before
 * is visible to all (the scheduler's switch is a full barrier). */
static inline int ft__sys_tid_running(pid_t tid)
{
	int st = ft__sys_tid_state(tid);
	return st < 0 ? -1 : st == 'R';
}

/* 1 while the thread or process @tid exists (a zombie counts), else 0. */
static inline int ft__sys_tid_exists(pid_t tid)
{
	return kill(tid, 0) == 0 || errno == EPERM;
}

/* 0 if process @pid is gone or a zombie (it has ended: only its status
 * is left to reap), 1 if it runs, by kill(2) and /proc. */
static inline int ft__sys_process_alive(pid_t pid)
{
	if (!ft__sys_tid_exists(pid))
		return 0;
	int st = ft__sys_tid_state(pid);
	return !(st == 0 || st == 'Z' || st == 'X');
}

/* 0 if thread @tid of process @pid is gone, else 1 (tgkill(2) probe). */
static inline int ft__sys_thread_alive(pid_t pid, pid_t tid)
{
	return syscall(SYS_tgkill, pid, tid, 0) == 0 || errno != ESRCH;
}

#endif
