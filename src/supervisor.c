/* SPDX-License-Identifier: MIT */
/*
 * The supervisor: one thread per process that has started process
 * workers.  It polls their pidfds, reaps each child as it dies (recording
 * its exit code or killing signal and waking joiners), then repairs owner
 * words the dead process held.  Joiners in the creator process may reap
 * first; the kernel's waitid decides who reaped, and only that caller
 * touches the record.
 *
 * Kernels without pidfd_open (before 5.3, or filtered) get one small
 * thread per child blocked in waitid() instead.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "sys.h"
#include "wait.h"
#include "worker.h"

struct watched {
	int pidfd;
	pid_t pid;
	ft_worker_t *w;
};

static struct {
	pthread_mutex_t mu;
	bool started;
	bool no_pidfd;
	int efd;
	struct watched *v;
	unsigned n, cap;
} sup = { .mu = PTHREAD_MUTEX_INITIALIZER, .efd = -1 };

static int exit_code(const siginfo_t *si)
{
	return si->si_code == CLD_EXITED ? si->si_status : -si->si_status;
}

int ft__process_reap(ft_worker_t *w, pid_t pid, int pidfd, bool block)
{
	siginfo_t si;
	int opts = WEXITED | (block ? 0 : WNOHANG);
	int r;

	do {
		memset(&si, 0, sizeof(si));
		r = pidfd >= 0 ? ft__sys_waitid_pidfd(pidfd, &si, opts)
			       : (waitid(P_PID, (id_t)pid, &si, opts) < 0 ? -errno : 0);
	} while (r == -EINTR);
	if (r < 0)
		return -ECHILD;
	if (si.si_pid == 0)
		return 0;
	ft__worker_finish(w, exit_code(&si));
	ft__repair_dead_owners();
	return 1;
}

static void drop(unsigned i)
{
	close(sup.v[i].pidfd);
	sup.v[i] = sup.v[--sup.n];
}

static void *supervisor_main(void *unused)
{
	struct pollfd *pfd = NULL;
	struct watched *snap = NULL;
	unsigned cap = 0;

	(void)unused;
	for (;;) {
		pthread_mutex_lock(&sup.mu);
		if (sup.n + 1 > cap) {
			cap = sup.cap + 1;
			pfd = realloc(pfd, cap * sizeof(*pfd));
			snap = realloc(snap, cap * sizeof(*snap));
			if (!pfd || !snap)
				abort(); /* cannot watch children: nothing safe left */
		}
		unsigned n = sup.n;
		memcpy(snap, sup.v, n * sizeof(*snap));
		pthread_mutex_unlock(&sup.mu);

		pfd[0] = (struct pollfd){ .fd = sup.efd, .events = POLLIN };
		for (unsigned i = 0; i < n; i++)
			pfd[i + 1] = (struct pollfd){ .fd = snap[i].pidfd,
						      .events = POLLIN };
		if (ft__wait_fds(pfd, n + 1, NULL) < 0)
			continue;
		if (pfd[0].revents) {
			uint64_t cnt;
			(void)!read(sup.efd, &cnt, sizeof(cnt));
		}
		for (unsigned i = 0; i < n; i++) {
			if (!pfd[i + 1].revents)
				continue;
			if (ft__process_reap(snap[i].w, snap[i].pid,
					     snap[i].pidfd, false) == 0)
				continue;
			pthread_mutex_lock(&sup.mu);
			for (unsigned j = 0; j < sup.n; j++)
				if (sup.v[j].pidfd == snap[i].pidfd) {
					drop(j);
					break;
				}
			pthread_mutex_unlock(&sup.mu);
		}
	}
	return NULL;
}

static void *reaper_main(void *p)
{
	struct watched *x = p;
	ft__process_reap(x->w, x->pid, -1, true);
	free(x);
	return NULL;
}

/* Threads we make must not run the program's signal handlers. */
static int spawn_quiet_thread(void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	int r = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

static void watch_with_thread(ft_worker_t *w, pid_t pid)
{
	struct watched *x = malloc(sizeof(*x));
	if (x) {
		*x = (struct watched){ .pidfd = -1, .pid = pid, .w = w };
		if (spawn_quiet_thread(reaper_main, x) == 0)
			return;
		free(x);
	}
	/* No way to watch it: its joiner (or exit) reaps it. */
}

void ft__supervise(ft_worker_t *w, pid_t pid)
{
	int fd = sup.no_pidfd ? -ENOSYS : ft__sys_pidfd_open(pid, 0);
	if (fd == -ENOSYS || fd == -EPERM) {
		sup.no_pidfd = true;
		watch_with_thread(w, pid);
		return;
	}
	if (fd < 0) {
		watch_with_thread(w, pid);
		return;
	}
	pthread_mutex_lock(&sup.mu);
	if (!sup.started) {
		sup.efd = eventfd(0, EFD_CLOEXEC);
		if (sup.efd < 0 || spawn_quiet_thread(supervisor_main, NULL) < 0) {
			if (sup.efd >= 0)
				close(sup.efd);
			sup.efd = -1;
			pthread_mutex_unlock(&sup.mu);
			close(fd);
			watch_with_thread(w, pid);
			return;
		}
		sup.started = true;
	}
	if (sup.n == sup.cap) {
		unsigned cap = sup.cap ? sup.cap * 2 : 16;
		struct watched *v = realloc(sup.v, cap * sizeof(*v));
		if (!v) {
			pthread_mutex_unlock(&sup.mu);
			close(fd);
			watch_with_thread(w, pid);
			return;
		}
		sup.v = v;
		sup.cap = cap;
	}
	sup.v[sup.n++] = (struct watched){ .pidfd = fd, .pid = pid, .w = w };
	pthread_mutex_unlock(&sup.mu);
	uint64_t one = 1;
	(void)!write(sup.efd, &one, sizeof(one));
}

void ft__supervisor_after_fork(void)
{
	/* The child has no supervisor thread, and the parent's may have held
	 * the mutex at fork time. */
	pthread_mutex_init(&sup.mu, NULL);
	for (unsigned i = 0; i < sup.n; i++)
		close(sup.v[i].pidfd);
	sup.n = 0;
	if (sup.efd >= 0)
		close(sup.efd);
	sup.efd = -1;
	sup.started = false;
}

const char *ft__supervisor_path(void)
{
	int fd = ft__sys_pidfd_open(getpid(), 0);
	if (fd == -ENOSYS || fd == -EPERM)
		sup.no_pidfd = true;
	else if (fd >= 0)
		close(fd);
	return sup.no_pidfd ? "fork + waitid reaper threads"
			    : "fork + pidfd_open, supervisor thread polls pidfds";
}
