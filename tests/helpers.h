/* Shared by the unit tests. */
#ifndef FT_TEST_HELPERS_H
#define FT_TEST_HELPERS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <criterion/criterion.h>

#include "freethreading.h"

/* Deadlock guard for every test: generous, never a timing assertion.
 * Sanitizer builds fork and run several times slower. */
#if defined(__SANITIZE_ADDRESS__)
#define FT_TEST_TIMEOUT 240
#else
#define FT_TEST_TIMEOUT 60
#endif

/* How long a liveness wait may poll before a test calls it a deadlock. */
#define FT_TEST_GUARD_S 20.0

/* Memory that process workers and the test body both see (a test's own
 * MAP_SHARED page, independent of the library under test). */
static inline void *ft_test_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert(p != MAP_FAILED, "mmap shared test page");
	return p;
}

/* The entries of directory @dir but "." and "..". */
static inline int ft_test_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "opendir %s", dir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The state letter of process @pid from /proc/<pid>/stat (R, S, T, Z...),
 * '?' if it is gone.  The command name may hold anything but ends at the
 * last ')'. */
static inline char ft_test_proc_state(long pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return '?';
	char *ok = fgets(buf, sizeof(buf), f);
	fclose(f);
	char *p = ok ? strrchr(buf, ')') : NULL;
	return p && p[1] == ' ' && p[2] ? p[2] : '?';
}

static inline bool ft_test_multiprocessing(void)
{
	return strcmp(ft_get_backend(), "multiprocessing") == 0;
}

static inline double ft_test_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A 1 ms pause inside a bounded liveness wait (never a timing assertion). */
static inline void ft_test_nap(void)
{
	struct timespec ts = { 0, 1000000 };
	nanosleep(&ts, NULL);
}

/* Poll until *@p >= @want; false if the deadlock guard ran out. */
static inline bool ft_test_await_int(const int *p, int want)
{
	double end = ft_test_now() + FT_TEST_GUARD_S;
	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) < want) {
		if (ft_test_now() > end)
			return false;
		ft_test_nap();
	}
	return true;
}

/* Poll a shared flag set by a worker (a deadlock guard, not a timing). */
static inline bool ft_test_spin_until(const int *flag)
{
	return ft_test_await_int(flag, 1);
}

/*
 * ThreadSanitizer follows the threads of one process: what a process
 * worker does in shared memory is invisible to it, so a synchronisation
 * through such a worker reads as a race.  Its build runs the threading
 * backend, and tests that need process workers skip themselves.
 */
#if defined(__SANITIZE_THREAD__)
#define ft_test_needs_processes()                                             \
	do {                                                                  \
		cr_log_info("skipped: process workers (ThreadSanitizer)");    \
		return;                                                       \
	} while (0)
/* Every kind of worker: the backend's own, then the forced thread. */
static const unsigned ft_test_kinds[] = { 0, FT_WORKER_THREAD };
#else
#define ft_test_needs_processes() do { } while (0)
/* Every kind of worker: the backend's own, then each forced one. */
static const unsigned ft_test_kinds[] = { 0, FT_WORKER_PROCESS, FT_WORKER_THREAD };
#endif
#define FT_TEST_NKINDS (sizeof(ft_test_kinds) / sizeof(ft_test_kinds[0]))

/* Whether a worker made with @flags runs as a process. */
static inline bool ft_test_kind_is_process(unsigned flags)
{
	if (flags & FT_WORKER_PROCESS)
		return true;
	if (flags & FT_WORKER_THREAD)
		return false;
	return ft_test_multiprocessing();
}

/* 1 if thread/process @id sleeps in a wait syscall now, 0 if not, -1 if
 * /proc cannot tell. */
static inline int ft_test_in_wait_syscall(long id)
{
	char path[64], buf[32];
	snprintf(path, sizeof(path), "/proc/%ld/syscall", id);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return 0; /* "running" */
	long nr = strtol(buf, NULL, 10);
	return nr == SYS_futex || nr == SYS_io_uring_enter || nr == 449 ||
	       nr == 455 || nr == SYS_ppoll
#ifdef SYS_poll
	       || nr == SYS_poll
#endif
		;
}

/* After a worker said "about to block": return once it sleeps in the
 * kernel or its call returned (the caller asserts it did not).  Where
 * /proc cannot tell, a 50 ms pause makes it a plain negative check. */
static inline void ft_test_await_blocked(ft_worker_t *w, const int *done)
{
	long id = ft_worker_ident(w);
	for (int i = 0; i < 10000; i++) {
		if (__atomic_load_n(done, __ATOMIC_ACQUIRE))
			return;
		int r = ft_test_in_wait_syscall(id);
		if (r < 0) {
			usleep(50000);
			return;
		}
		if (r > 0)
			return;
		usleep(1000);
	}
}

/* Start a worker made by ft_worker_new (either form of body). */
static inline ft_worker_t *ft_test_started(ft_worker_t *w)
{
	cr_assert_not_null(w);
	cr_assert_eq(ft_worker_start(w), 0);
	return w;
}

/* Start a worker running @fn (thread or process by @flags and backend). */
#define ft_test_start(fn, flags) \
	ft_test_started(ft_worker_new(NULL, fn, NULL, flags))

/* Join (deadlock guard 30 s) and free a worker. */
static inline void ft_test_join(ft_worker_t *w)
{
	cr_assert_eq(ft_worker_join(w, 30.0), 0);
	ft_worker_free(w);
}

#if defined(__x86_64__)
#define FT_TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FT_TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* Install, in the calling thread only (and the threads and processes it
 * makes later), a seccomp filter that fails membarrier(2) with EPERM, as
 * a sandbox set up after start-up would.  0, or the errno of prctl. */
static inline int ft_test_refuse_membarrier(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FT_TEST_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
		return errno;
	return 0;
}

#endif /* FT_TEST_HELPERS_H */
