/* SPDX-License-Identifier: MIT */
/*
 * The listening socket, from one of three places, first found wins:
 *
 * 1. systemd's socket activation (sd_listen_fds(3), done by hand: no
 *    libsystemd).  systemd passes the sockets from fd 3 on, and says so
 *    with LISTEN_FDS=<count> and LISTEN_PID=<our pid>; a LISTEN_PID that
 *    is not ours was meant for a parent and is ignored.  We take exactly
 *    one Unix stream socket that listens; anything else is a unit
 *    misconfigured, and we refuse to start rather than guess.  The
 *    socket file belongs to systemd: we never unlink it.
 * 2. The path given on the command line.
 * 3. $RUNTIME_DIRECTORY/prime-server.sock (systemd's RuntimeDirectory=;
 *    of a colon-separated list, the first).
 *
 * A socket we bind is made with the umask's mode; who may connect is
 * decided by its directory or by the .socket unit's SocketMode=.  A
 * socket file left by a crash (nobody accepts on it) is replaced; one
 * that a live server accepts on is an error.  At close we unlink only
 * the file we made: if another server has since replaced it, it stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"

#define SD_LISTEN_FDS_START 3
#define SOCKET_NAME "prime-server.sock"

/* A decimal in [0, INT_MAX], all of @s: 0 and its value in *@v, or -1. */
static int parse_int(const char *s, int *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < 0 || n > INT_MAX)
		return -1;
	*v = (int)n;
	return 0;
}

/* 1 if fd is a Unix stream socket in the listening state, else 0. */
static int is_unix_listener(int fd)
{
	int type, domain, listening;
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
		return 0;
	return type == SOCK_STREAM && domain == AF_UNIX && listening;
}

/* The accepting side never blocks in accept4: a client that gives up
 * between poll and accept must not stall the loop (main.c). */
static int set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* 1 with l->fd set if systemd passed us a socket, 0 if not, or -errno. */
static int take_activated(struct listener *l)
{
	const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
	int pid, fds;
	int r;

	if (!pid_s || !fds_s)
		return 0;
	if (parse_int(pid_s, &pid) < 0 || parse_int(fds_s, &fds) < 0) {
		log_line(LOG_ERR, "LISTEN_PID=%s LISTEN_FDS=%s: not numbers",
			 pid_s, fds_s);
		return -EINVAL;
	}
	if (pid != getpid() || fds == 0)
		return 0;
	/* Ours now: nothing forked from us must take them for its own. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (fds != 1) {
		log_line(LOG_ERR, "socket activation passed %d sockets; "
			 "the unit must listen on exactly one", fds);
		return -EINVAL;
	}
	l->fd = SD_LISTEN_FDS_START;
	if (!is_unix_listener(l->fd)) {
		log_line(LOG_ERR, "socket activation: fd %d is not a listening "
			 "Unix stream socket (ListenStream=/path in the unit)",
			 l->fd);
		return -EINVAL;
	}
	if (fcntl(l->fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    set_nonblocking(l->fd) < 0) {
		r = -errno;
		log_line(LOG_ERR, "socket activation: fd %d: %s", l->fd,
			 strerror(-r));
		return r;
	}

	struct sockaddr_un addr;
	socklen_t len = sizeof(addr);
	if (getsockname(l->fd, (struct sockaddr *)&addr, &len) == 0 &&
	    len > sizeof(sa_family_t) && addr.sun_path[0])
		snprintf(l->path, sizeof(l->path), "%.*s",
			 (int)(len - sizeof(sa_family_t)), addr.sun_path);
	else
		snprintf(l->path, sizeof(l->path), "fd %d", l->fd);
	return 1;
}

/* 1 if a server accepts on the socket at @addr, 0 if nobody does. */
static int someone_listens(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return 1; /* cannot tell: leave the file alone */
	do
		r = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	while (r < 0 && errno == EINTR);
	r = r == 0 || errno != ECONNREFUSED;
	close(fd);
	return r;
}

static int bind_path(struct listener *l, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int r;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_line(LOG_ERR, "%s: path longer than %zu bytes", path,
			 sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0) {
		r = -errno;
		log_line(LOG_ERR, "socket: %s", strerror(-r));
		return r;
	}
	r = bind(l->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
	if (r == -EADDRINUSE && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    !someone_listens(&addr)) {
		log_line(LOG_WARNING, "%s: replacing a stale socket", path);
		if (unlink(path) < 0 && errno != ENOENT)
			r = -errno;
		else
			r = bind(l->fd, (struct sockaddr *)&addr,
				 sizeof(addr)) < 0 ? -errno : 0;
	}
	if (r < 0) {
		log_line(LOG_ERR, "%s: %s", path,
			 r == -EADDRINUSE ? "in use (is a server running?)"
					  : strerror(-r));
		goto fail;
	}
	l->created = true;
	if (lstat(path, &st) < 0) {
		r = -errno;
		log_line(LOG_ERR, "%s: %s", path, strerror(-r));
		goto fail;
	}
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	snprintf(l->path, sizeof(l->path), "%s", path);
	if (listen(l->fd, SOMAXCONN) < 0) {
		r = -errno;
		log_line(LOG_ERR, "listen: %s", strerror(-r));
		goto fail;
	}
	return 0;
fail:
	if (l->created && unlink(path) < 0)
		log_line(LOG_WARNING, "%s: unlink: %s", path, strerror(errno));
	l->created = false;
	close(l->fd);
	l->fd = -1;
	return r;
}

int listener_open(struct listener *l, const char *path)
{
	char in_runtime_dir[sizeof(l->path)];
	int r;

	*l = (struct listener){ .fd = -1 };
	r = take_activated(l);
	if (r < 0)
		return r;
	if (r > 0) {
		if (path) {
			log_line(LOG_ERR, "socket-activated: give no path");
			return -EINVAL;
		}
		return 0;
	}
	if (!path) {
		const char *dir = getenv("RUNTIME_DIRECTORY");
		if (!dir || !*dir) {
			log_line(LOG_ERR, "no socket: give a path, or run with "
				 "RUNTIME_DIRECTORY set or socket-activated");
			return -EINVAL;
		}
		int n = snprintf(in_runtime_dir, sizeof(in_runtime_dir),
				 "%.*s/%s", (int)strcspn(dir, ":"), dir,
				 SOCKET_NAME);
		if (n < 0 || (size_t)n >= sizeof(in_runtime_dir)) {
			log_line(LOG_ERR, "RUNTIME_DIRECTORY=%s: too long", dir);
			return -ENAMETOOLONG;
		}
		path = in_runtime_dir;
	}
	return bind_path(l, path);
}

void listener_close(struct listener *l)
{
	struct stat st;

	if (l->fd < 0)
		return;
	close(l->fd);
	l->fd = -1;
	if (!l->created)
		return;
	if (lstat(l->path, &st) < 0) {
		if (errno != ENOENT)
			log_line(LOG_WARNING, "%s: %s", l->path, strerror(errno));
		return;
	}
	if (st.st_dev != l->dev || st.st_ino != l->ino) {
		log_line(LOG_WARNING, "%s: replaced by another; left in place",
			 l->path);
		return;
	}
	if (unlink(l->path) < 0)
		log_line(LOG_WARNING, "%s: unlink: %s", l->path, strerror(errno));
}
