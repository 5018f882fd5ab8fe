/* SPDX-License-Identifier: MIT */
/*
 * The proxy's side of a sandboxed worker: the engine's task runner (E8).
 * Each slot's thread worker forks its child, sends it requests and reads
 * its answers, checking each (S1); the manager's kills reach the child
 * through its pidfd (S3).
 *
 * Our end of the channel is non-blocking and every transfer also watches
 * the child's pidfd: a copy of the child's end that a fork elsewhere in
 * the program inherited in the instant before we closed ours would keep
 * the channel open after the child's death, and a child that stops
 * reading would block a send forever.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/sys.h"
#include "sandbox/sandbox.h"
#include "wait/wait.h"

struct child {
	pid_t pid;
	int pidfd;      /* -1 where the kernel has no pidfds */
	int sock;       /* our end of the channel; -1: no child */
	bool ended;     /* it died or broke the protocol: settle reaps */
	uint32_t seq;   /* the last request's */
};

static void signal_child(struct child *c)
{
	if (c->pidfd >= 0)
		(void)ft__sys_pidfd_send_signal(c->pidfd, SIGKILL);
	else
		(void)kill(c->pid, SIGKILL);
}

/* Kill and reap the child, close the channel (S3: only once no kill of
 * the manager can be on its way). */
static void end_child(struct child *c)
{
	if (c->sock < 0)
		return;
	/* A child that closed its end alive must not hang us: kill first. */
	signal_child(c);
	if (c->pidfd >= 0) {
		siginfo_t si;
		while (ft__sys_waitid_pidfd(c->pidfd, &si, WEXITED) == -EINTR)
			;
		close(c->pidfd);
	} else {
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	close(c->sock);
	c->sock = c->pidfd = -1;
	c->ended = false;
}

/* Move @len bytes to (@out) or from the child: the count moved, short
 * when it ended, closed its end or failed. */
static size_t transfer(struct child *c, void *buf, size_t len, bool out)
{
	size_t done = 0;
	short want = out ? POLLOUT : POLLIN;
	while (done < len) {
		ssize_t r = out ? send(c->sock, (char *)buf + done, len - done,
				       MSG_NOSIGNAL | MSG_DONTWAIT)
				: recv(c->sock, (char *)buf + done, len - done,
				       MSG_DONTWAIT);
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EINTR))
			break;  /* end of file, EPIPE, ECONNRESET */
		if (errno == EINTR)
			continue;
		struct pollfd p[2] = { { c->sock, want, 0 },
				       { c->pidfd, POLLIN, 0 } };
		if (ft__wait_fds(p, c->pidfd >= 0 ? 2 : 1, NULL) < 0)
			break;
		if (c->pidfd >= 0 && (p[1].revents & POLLIN) &&
		    !(p[0].revents & (want | POLLHUP | POLLERR)))
			break;  /* dead, and nothing left to move */
	}
	return done;
}

static struct child *child_of(struct ft__slot *s)
{
	struct child *c = s->runner;
	if (!c) {
		c = malloc(sizeof(*c));
		if (!c)
			return NULL;
		*c = (struct child){ .pidfd = -1, .sock = -1 };
		s->runner = c;
	}
	return c;
}

/* Its first word: 0 once its filter is in, or why it could not be. */
static int await_ready(struct child *c)
{
	struct ft__sandbox_resp a;
	if (transfer(c, &a, sizeof(a), false) != sizeof(a))
		return -ESRCH;
	if (a.magic != FT__SANDBOX_MAGIC || a.seq != 0 || a.code > 0 ||
	    a.code < -4095)
		return -EPROTO;
	return a.code;
}

/* Fork a child and wait for its ready word: 0; a negative code it
 * reported (*@fatal: its initializer or filter failed, and will again);
 * or why there is no child this time (fork, socketpair, a death during
 * its set-up). */
static int spawn(void *ctx, struct child *c, const struct ft_pool_options *o,
		 bool *fatal)
{
	/* The engine's options live in the arena, which the child unmaps:
	 * it takes its own copy. */
	struct ft_pool_options own = *o;
	int sv[2];
	*fatal = false;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(sv[0]);
		close(sv[1]);
		return -err;
	}
	if (pid == 0) {
		close(sv[0]);
		ft__sandbox_child(ctx, sv[1], parent, &own);
	}
	close(sv[1]);
	int pidfd = ft__sys_pidfd_open(pid, 0);
	if (pidfd == -ESRCH) {
		/* Dead and already reaped (SIGCHLD ignored): its pid may be
		 * another's by now, so never signal it. */
		close(sv[0]);
		return -ESRCH;
	}
	*c = (struct child){ .pid = pid, .pidfd = pidfd >= 0 ? pidfd : -1,
			     .sock = sv[0] };
	int r = await_ready(c);
	if (r < 0)
		end_child(c);
	*fatal = r < 0 && r != -ESRCH;
	return r;
}

/* Whether the idle child has died (a kill from outside, the OOM killer):
 * its replacement then takes the next task, not its corpse. */
static bool died_idle(struct child *c)
{
	if (c->pidfd >= 0) {
		struct pollfd p = { c->pidfd, POLLIN, 0 };
		return poll(&p, 1, 0) == 1;
	}
	char byte;
	return recv(c->sock, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* Tries at a child before the engine breaks; waits of 10, 20, 40 ms
 * between them (a fork that failed for memory may well work again). */
#define SPAWN_TRIES 4

static int start(void *ctx, struct ft__slot *s, const struct ft_pool_options *o)
{
	struct child *c = child_of(s);
	if (!c)
		return -ENOMEM;
	if (c->sock >= 0 && !died_idle(c))
		return 0;
	end_child(c);  /* no task of ours is in it: no kill can come */
	for (int attempt = 1;; attempt++) {
		bool fatal;
		int r = spawn(ctx, c, o, &fatal);
		if (r == 0 || fatal || attempt == SPAWN_TRIES)
			return r;
		struct timespec until;
		ft__timespec_from_now(&until, 10000000L << (attempt - 1));
		ft__wait_fds(NULL, 0, &until);
	}
}

/* (S1) Each field of the answer is read once, into our own copy, and
 * checked against the request. */
static int run(struct ft__slot *s, struct ft_future *f)
{
	struct child *c = s->runner;
	if (!c || c->sock < 0)
		return -ESRCH;
	if (++c->seq == 0)
		c->seq = 1;  /* 0 is the ready word's */
	struct ft__sandbox_req q = {
		FT__SANDBOX_MAGIC, c->seq, (uint64_t)(uintptr_t)f->fn,
		f->n, f->in_size, f->out_size,
	};
	size_t in_len = f->n * f->in_size, out_len = f->n * f->out_size;
	struct ft__sandbox_resp a;
	if (transfer(c, &q, sizeof(q), true) != sizeof(q) ||
	    transfer(c, (void *)f->in, in_len, true) != in_len ||
	    transfer(c, &a, sizeof(a), false) != sizeof(a)) {
		c->ended = true;
		return -ESRCH;
	}
	if (a.magic != FT__SANDBOX_MAGIC || a.seq != q.seq || a.code > 0 ||
	    a.code < -4095 || (a.code != 0 && a.failed_at >= f->n)) {
		signal_child(c);
		c->ended = true;
		return -EPROTO;
	}
	/* Only bytes: whatever they are, they are this task's result. */
	if (transfer(c, f->out, out_len, false) != out_len) {
		c->ended = true;
		return -ESRCH;
	}
	if (a.code != 0)
		f->failed_at = a.failed_at;
	return a.code;
}

static void settle(struct ft__slot *s)
{
	struct child *c = s->runner;
	if (c && c->ended)
		end_child(c);
}

static void kill_child(struct ft__slot *s)
{
	struct child *c = s->runner;
	if (c && c->sock >= 0)
		signal_child(c);
}

static void killed(struct ft__slot *s)
{
	while (!ft__load_acquire(&s->kill_done))
		ft__wait(&s->kill_done, 0, NULL);
	struct child *c = s->runner;
	if (c) {
		c->ended = true;
		end_child(c);
	}
}

static void stop(struct ft__slot *s)
{
	struct child *c = s->runner;
	if (!c)
		return;
	end_child(c);
	s->runner = NULL;
	free(c);
}

const struct ft__task_runner ft__sandbox_runner = {
	.copy = ft__sandbox_copy,
	.release = ft__sandbox_release,
	.start = start,
	.run = run,
	.settle = settle,
	.kill = kill_child,
	.killed = killed,
	.stop = stop,
};
