/* SPDX-License-Identifier: MIT */
/*
 * The supervisor: one thread per process that has started process
 * workers.  It polls their pidfds; when a child dies it is reaped (exit
 * code or killing signal recorded, joiners woken) and owner words the dead
 * process held are repaired.  Joiners in the creator may reap first: the
 * kernel's waitid decides who reaped, and only that caller touches the
 * record.
 *
 * New children are picked up in batches: a registration wakes the
 * supervisor only when it sleeps with nothing to look at; otherwise it
 * takes new children at its next round, at most TICK_MS later.  Waking it
 * per spawn cost two context switches and, on some machines, a handful of
 * copy-on-write faults in its stack and heap after every fork.
 *
 * It is also the long-lived thread that forks for other threads: the
 * kernel ties PR_SET_PDEATHSIG to the thread that forked, so a child forked
 * by a short-lived thread worker would be killed when that thread ends.
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

#include "base/atomic.h"
#include "base/sys.h"
#include "wait/wait.h"
#include "worker/worker.h"

#define TICK_MS 10

struct watched {
	int pidfd;
	pid_t pid;
	ft_worker_t *w;
	bool orphan;  /* not our child: finish it, nobody can reap it here */
	/* Joiners of this process reaping it through a dup of the pidfd
	 * (ft__reap_here), and whether one did: the record is then theirs
	 * (finishing a detached record frees it). */
	unsigned reapers;
	bool reaped_here;
	uint64_t id;  /* unique: records and pidfd numbers are reused */
};

/* Without pidfds, one thread per child blocks in waitid on its pid.  The
 * list (under sup.mu) keeps their notes reachable, and lets a forked
 * child, which has none of these threads, free them. */
struct reaper {
	struct watched x;
	struct reaper *next;
};
static struct reaper *reapers;

struct spawn_req {
	ft_worker_t *w;
	sigset_t mask;     /* the requester's, restored in the child */
	int result;
	uint32_t done;     /* futex word: 0 until result is set */
	struct spawn_req *next;
};

static struct {
	pthread_mutex_t mu;
	bool started;
	bool no_pidfd;
	bool idle;         /* sleeping with no deadline: wake it for news */
	bool news;         /* children added since its last snapshot */
	int efd;
	struct watched *v;
	unsigned n, cap;
	struct spawn_req *reqs;
	/* The supervisor thread's poll set and its snapshot of v.  Static,
	 * not on its stack: a forked child has no supervisor thread, and
	 * must not see these as leaks (LeakSanitizer in a child that exits). */
	struct pollfd *pfd;
	struct watched *snap;
	unsigned snap_cap;
} sup = { .mu = PTHREAD_MUTEX_INITIALIZER, .efd = -1 };

static int exit_code(const siginfo_t *si)
{
	return si->si_code == CLD_EXITED ? si->si_status : -si->si_status;
}

/*
 * @w's child has ended but waitid found nothing to reap: its status went
 * to someone else (SIGCHLD ignored or SA_NOCLDWAIT, so the kernel reaped
 * it; or the program's own waitpid(-1)).  A readable pidfd, or a blocking
 * waitid on the pid that returned ECHILD, is proof enough that it is gone:
 * repair what it held and finish the record, with the status the pidfd
 * still knows (kernel 6.15+) or FT_EXITCODE_UNKNOWN.
 */
static void finish_reaped_elsewhere(ft_worker_t *w, int pidfd)
{
	int status, code = FT_EXITCODE_UNKNOWN;
	if (pidfd >= 0 && ft__sys_pidfd_exit_status(pidfd, &status) == 0)
		code = WIFEXITED(status) ? WEXITSTATUS(status)
		       : WIFSIGNALED(status) ? -WTERMSIG(status)
					     : FT_EXITCODE_UNKNOWN;
	ft__process_ended(w, code);
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
	ft__process_ended(w, exit_code(&si));
	return 1;
}

/* With sup.mu held: the watched entry of @w's child / of @pidfd / with
 * @id, or NULL.  A record freed and made again has the same address, so
 * the pid is compared too. */
static struct watched *find_worker(const ft_worker_t *w)
{
	pid_t pid = (pid_t)ft__load_acquire(&w->ident);
	for (unsigned j = 0; j < sup.n; j++)
		if (sup.v[j].w == w && sup.v[j].pid == pid && !sup.v[j].orphan)
			return &sup.v[j];
	return NULL;
}

static struct watched *find_id(uint64_t id)
{
	for (unsigned j = 0; j < sup.n; j++)
		if (sup.v[j].id == id)
			return &sup.v[j];
	return NULL;
}

static struct watched *find_pidfd(int pidfd)
{
	for (unsigned j = 0; j < sup.n; j++)
		if (sup.v[j].pidfd == pidfd)
			return &sup.v[j];
	return NULL;
}

int ft__reap_here(ft_worker_t *w, bool block)
{
	/* A dup of the supervisor's pidfd, not the pid: the pid may be
	 * reused once someone else reaped the child. */
	pthread_mutex_lock(&sup.mu);
	struct watched *e = find_worker(w);
	int fd = e ? fcntl(e->pidfd, F_DUPFD_CLOEXEC, 0) : -1;
	uint64_t id = 0;
	if (fd >= 0) {
		e->reapers++;
		id = e->id;
	}
	bool reaper_thread = false;
	for (struct reaper *r = reapers; r && !e; r = r->next)
		reaper_thread |= r->x.w == w && r->x.pid == (pid_t)w->ident;
	pthread_mutex_unlock(&sup.mu);
	if (fd < 0) {
		/* A reaper thread reaps it; if nothing watches it at all
		 * (no pidfd, no thread could be made), by pid, as a last
		 * resort. */
		if (e || reaper_thread)
			return 0;
		return ft__process_reap(w, (pid_t)w->ident, -1, block) == 1;
	}

	int r = ft__process_reap(w, 0, fd, block);
	/* Said after the record is finished: while this entry counts a
	 * reaper, the supervisor leaves the record alone. */
	pthread_mutex_lock(&sup.mu);
	if ((e = find_id(id)) != NULL) {
		e->reapers--;
		e->reaped_here |= r == 1;
	}
	pthread_mutex_unlock(&sup.mu);
	close(fd);
	return r == 1;
}

int ft__signal_child(ft_worker_t *w, int sig)
{
	/* Through the pidfd, under the lock that keeps the supervisor from
	 * closing it: a pid may name another process once the child has
	 * been reaped elsewhere. */
	pthread_mutex_lock(&sup.mu);
	struct watched *e = find_worker(w);
	int r = e ? ft__sys_pidfd_send_signal(e->pidfd, sig) : -ENOENT;
	pthread_mutex_unlock(&sup.mu);
	if (r != -ENOENT)
		return r;
	/* No pidfd (the reaper-thread fallback): by pid, while the record
	 * still says it runs. */
	if (ft__worker_phase(w) != W_RUNNING)
		return -ESRCH;
	return kill((pid_t)w->ident, sig) < 0 ? -errno : 0;
}

/* The supervisor found @pidfd readable and nothing to reap.  True if a
 * joiner here reaped it (the record is the joiner's), or is about to say
 * so: then leave the record alone. */
static bool reaped_here(int pidfd, bool *pending)
{
	pthread_mutex_lock(&sup.mu);
	struct watched *e = find_pidfd(pidfd);
	bool here = e && e->reaped_here;
	*pending = e && !here && e->reapers > 0;
	pthread_mutex_unlock(&sup.mu);
	return here;
}

static void wake_supervisor(void)
{
	uint64_t one = 1;
	(void)!write(sup.efd, &one, sizeof(one));
}

static void run_spawn_requests(struct spawn_req *q)
{
	while (q) {
		struct spawn_req *next = q->next;
		q->result = ft__spawn_process(q->w, &q->mask);
		/* Release pairs with the requester's acquire of done; after
		 * it, q (on the requester's stack) may be gone. */
		ft__store_release(&q->done, 1u);
		ft__wake(&q->done, 1);
		q = next;
	}
}

static void drop_watched(int pidfd)
{
	pthread_mutex_lock(&sup.mu);
	for (unsigned j = 0; j < sup.n; j++)
		if (sup.v[j].pidfd == pidfd) {
			close(pidfd);
			sup.v[j] = sup.v[--sup.n];
			break;
		}
	pthread_mutex_unlock(&sup.mu);
}

static void *supervisor_main(void *unused)
{
	unsigned n = 0;
	struct timespec next_round = { 0 };

	(void)unused;
	for (;;) {
		struct timespec ts, *until = NULL;

		pthread_mutex_lock(&sup.mu);
		struct spawn_req *reqs = sup.reqs;
		sup.reqs = NULL;
		if (ft__deadline_passed(&next_round) || n == 0) {
			if (sup.n + 1 > sup.snap_cap) {
				unsigned cap = sup.cap + 1;
				struct pollfd *p = realloc(sup.pfd, cap * sizeof(*p));
				if (p)
					sup.pfd = p;
				struct watched *w = realloc(sup.snap, cap * sizeof(*w));
				if (w)
					sup.snap = w;
				if (!p || !w)
					abort(); /* cannot watch children: nothing safe left */
				sup.snap_cap = cap;
			}
			n = sup.n;
			if (n)
				memcpy(sup.snap, sup.v, n * sizeof(*sup.snap));
			if (sup.news) {
				ft__timespec_from_now(&ts, TICK_MS * 1000000L);
				until = &ts;
			}
			sup.idle = !sup.news;
			sup.news = false;
			if (until)
				next_round = *until;
		} else {
			until = &next_round;
		}
		pthread_mutex_unlock(&sup.mu);

		run_spawn_requests(reqs);

		sup.pfd[0] = (struct pollfd){ .fd = sup.efd, .events = POLLIN };
		unsigned live = 0;
		for (unsigned i = 0; i < n; i++)
			if (sup.snap[i].pidfd >= 0) {
				sup.snap[live] = sup.snap[i];
				sup.pfd[++live] = (struct pollfd){
					.fd = sup.snap[i].pidfd, .events = POLLIN };
			}
		n = live;
		if (ft__wait_fds(sup.pfd, n + 1, until) < 0)
			continue;
		if (sup.pfd[0].revents) {
			uint64_t cnt;
			(void)!read(sup.efd, &cnt, sizeof(cnt));
		}
		for (unsigned i = 0; i < n; i++) {
			if (!sup.pfd[i + 1].revents)
				continue;
			if (sup.snap[i].orphan) {
				/* Its parent-death signal killed it; the
				 * status went to whoever reaped it. */
				ft__process_ended(sup.snap[i].w, -SIGKILL);
			} else {
				int r = ft__process_reap(sup.snap[i].w,
							 sup.snap[i].pid,
							 sup.snap[i].pidfd, false);
				if (r == 0)
					continue;
				/* Readable, nothing to reap: it ended and a
				 * joiner here or someone else took the
				 * status.  A joiner here still reporting
				 * is waited for (next round). */
				bool pending = false;
				if (r < 0 && !reaped_here(sup.snap[i].pidfd,
							  &pending)) {
					if (pending)
						continue;
					finish_reaped_elsewhere(sup.snap[i].w,
								sup.snap[i].pidfd);
				}
			}
			drop_watched(sup.snap[i].pidfd);
			sup.snap[i].pidfd = -1;
		}
	}
	return NULL;
}

static void *reaper_main(void *p)
{
	struct reaper *r = p;
	/* A blocking waitid on our own child fails only once it is gone
	 * and reaped by someone else. */
	if (ft__process_reap(r->x.w, r->x.pid, -1, true) < 0)
		finish_reaped_elsewhere(r->x.w, -1);
	pthread_mutex_lock(&sup.mu);
	for (struct reaper **pp = &reapers; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	pthread_mutex_unlock(&sup.mu);
	free(r);
	return NULL;
}

/* Threads we make must not run the program's signal handlers. */
static int spawn_quiet_thread(void *(*fn)(void *), void *arg, size_t stack)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (stack)
		pthread_attr_setstacksize(&attr, stack);
	int r = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

static void watch_with_thread(ft_worker_t *w, pid_t pid)
{
	struct reaper *r = malloc(sizeof(*r));
	if (!r)
		return; /* no way to watch it: its joiner, or exit, reaps it */
	r->x = (struct watched){ .pidfd = -1, .pid = pid, .w = w };
	pthread_mutex_lock(&sup.mu);
	r->next = reapers;
	reapers = r;
	/* Under the lock: the thread unlinks r as it ends. */
	if (spawn_quiet_thread(reaper_main, r, 64 * 1024) != 0) {
		reapers = r->next;
		free(r);
	}
	pthread_mutex_unlock(&sup.mu);
}

/* Called with sup.mu held. */
static bool ensure_started(void)
{
	if (sup.started)
		return true;
	sup.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	/* Default stack size: a child forked for another thread runs its
	 * target on a copy of this thread's stack. */
	if (sup.efd < 0 || spawn_quiet_thread(supervisor_main, NULL, 0) < 0) {
		if (sup.efd >= 0)
			close(sup.efd);
		sup.efd = -1;
		return false;
	}
	sup.started = true;
	return true;
}

/* Called with sup.mu held. */
static bool make_room(void)
{
	if (sup.n < sup.cap)
		return true;
	unsigned cap = sup.cap ? sup.cap * 2 : 16;
	struct watched *v = realloc(sup.v, cap * sizeof(*v));
	if (!v)
		return false;
	sup.v = v;
	sup.cap = cap;
	return true;
}

static void watch(ft_worker_t *w, pid_t pid, bool orphan)
{
	int fd = sup.no_pidfd ? -ENOSYS : ft__sys_pidfd_open(pid, 0);
	if (fd == -ENOSYS || fd == -EPERM)
		sup.no_pidfd = true;
	if (fd < 0) {
		if (!orphan)
			watch_with_thread(w, pid);
		return;
	}
	pthread_mutex_lock(&sup.mu);
	if (!ensure_started() || !make_room()) {
		pthread_mutex_unlock(&sup.mu);
		close(fd);
		if (!orphan)
			watch_with_thread(w, pid);
		return;
	}
	static uint64_t next_id;
	sup.v[sup.n++] = (struct watched){
		.pidfd = fd, .pid = pid, .w = w, .orphan = orphan,
		.id = ++next_id };
	sup.news = true;
	bool wake = sup.idle;
	sup.idle = false;
	pthread_mutex_unlock(&sup.mu);
	if (wake)
		wake_supervisor();
}

void ft__supervise(ft_worker_t *w, pid_t pid)
{
	watch(w, pid, false);
}

void ft__supervise_orphan(ft_worker_t *w, pid_t pid)
{
	watch(w, pid, true);
}

int ft__spawn_via_supervisor(ft_worker_t *w)
{
	struct spawn_req req = { .w = w };

	pthread_sigmask(SIG_SETMASK, NULL, &req.mask);
	pthread_mutex_lock(&sup.mu);
	if (!ensure_started()) {
		pthread_mutex_unlock(&sup.mu);
		return ft__spawn_process(w, NULL);
	}
	req.next = sup.reqs;
	sup.reqs = &req;
	pthread_mutex_unlock(&sup.mu);
	wake_supervisor();
	/* Acquire pairs with the supervisor's release of done. */
	while (!ft__load_acquire(&req.done))
		ft__wait(&req.done, 0, NULL);
	return req.result;
}

void ft__supervisor_after_fork(void)
{
	/* The child has no supervisor thread, and the parent's may have held
	 * the mutex at fork time. */
	if (!sup.started && sup.n == 0 && !reapers)
		return;
	pthread_mutex_init(&sup.mu, NULL);
	/* Nor the reaper threads: their notes are the child's to free. */
	while (reapers) {
		struct reaper *next = reapers->next;
		free(reapers);
		reapers = next;
	}
	for (unsigned i = 0; i < sup.n; i++)
		close(sup.v[i].pidfd);
	sup.n = 0;
	sup.reqs = NULL;
	if (sup.efd >= 0)
		close(sup.efd);
	sup.efd = -1;
	sup.started = sup.idle = sup.news = false;
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
