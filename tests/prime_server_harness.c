/* SPDX-License-Identifier: MIT */
/* The harness of test_prime_server (prime_server_harness.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prime_server_harness.h"

const char *step = "start";
char server_bin[PATH_MAX], client_bin[PATH_MAX];
static char dir[PATH_MAX];

/* ---------------------------------------------------------- failing */

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

void harness_end(void)
{
	if (dir[0])
		nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	dir[0] = '\0';
}

void fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "FAIL: test_prime_server: %s: ", step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	harness_end();
	/* The server dies with us (PR_SET_PDEATHSIG), its workers with it. */
	exit(1);
}

static void on_alarm(int sig)
{
	static const char msg[] = "FAIL: test_prime_server: timed out in: ";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) > 0 &&
	    write(STDERR_FILENO, step, strlen(step)) > 0)
		(void)!write(STDERR_FILENO, "\n", 1);
	_exit(1);
}

/* ------------------------------------------------------ the server */

static void *read_log(void *arg)
{
	struct server *s = arg;
	FILE *f = fdopen(s->log_fd, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (!f)
		fail("fdopen: %s", strerror(errno));
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		printf("    | %s\n", line);
		fflush(stdout);
		pthread_mutex_lock(&s->lock);
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 64;
			s->lines = realloc(s->lines, s->cap * sizeof(*s->lines));
			if (!s->lines)
				fail("out of memory");
		}
		s->lines[s->n++] = strdup(line);
		if (!s->lines[s->n - 1])
			fail("out of memory");
		pthread_cond_broadcast(&s->grew);
		pthread_mutex_unlock(&s->lock);
	}
	free(line);
	fclose(f);
	pthread_mutex_lock(&s->lock);
	s->ended = true;
	pthread_cond_broadcast(&s->grew);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Wait (s->lock held) for more lines; a server that died meanwhile
 * fails the test at once rather than at the deadline.  Its zombie is
 * left for server_stop. */
static void wait_for_lines(struct server *s)
{
	struct timespec until;
	siginfo_t info = { 0 };

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	if (pthread_cond_timedwait(&s->grew, &s->lock, &until) != ETIMEDOUT)
		return;
	if (waitid(P_PID, (id_t)s->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    info.si_pid == s->pid)
		fail("the server ended (%s %d)",
		     info.si_code == CLD_EXITED ? "status" : "signal",
		     info.si_status);
}

long log_find(struct server *s, size_t from, const char *needle, bool wait)
{
	long found = -1;

	pthread_mutex_lock(&s->lock);
	for (size_t i = from;; i++) {
		while (i >= s->n && wait && !s->ended)
			wait_for_lines(s);
		if (i >= s->n)
			break;
		if (strstr(s->lines[i], needle)) {
			found = (long)i;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (found < 0 && wait)
		fail("the log ended without \"%s\"", needle);
	return found;
}

size_t log_length(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void log_sync(struct server *s)
{
	char mark[64];
	int len = snprintf(mark, sizeof(mark), "-- test mark %u --\n",
			   ++s->marks);

	if (write(s->mark_fd, mark, (size_t)len) != len)
		fail("writing a log mark: %s", strerror(errno));
	mark[len - 1] = '\0';
	log_find(s, 0, mark, true);
}

void server_start(struct server *s, const char *env, const char *const args[],
		  int fd3)
{
	char script[256];
	const char *argv[16] = { "sh", "-c", script, "sh" };
	size_t argc = 4;
	int pipe_fd[2];

	*s = (struct server){ .lock = PTHREAD_MUTEX_INITIALIZER,
			      .grew = PTHREAD_COND_INITIALIZER };
	snprintf(script, sizeof(script), "%s exec \"$@\"", env);
	for (size_t i = 0; args[i]; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	if (pipe2(pipe_fd, O_CLOEXEC) < 0)
		fail("pipe2: %s", strerror(errno));
	fflush(stdout);
	s->pid = fork();
	if (s->pid < 0)
		fail("fork: %s", strerror(errno));
	if (s->pid == 0) {
		/* Only async-signal-safe calls here: the log thread of an
		 * earlier server may have run in the parent. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ||
		    dup2(pipe_fd[1], STDERR_FILENO) < 0)
			_exit(127);
		if (fd3 == 3 ? fcntl(3, F_SETFD, 0) < 0 : fd3 >= 0 && dup2(fd3, 3) < 0)
			_exit(127);
		execv("/bin/sh", (char *const *)argv);
		_exit(127);
	}
	s->log_fd = pipe_fd[0];
	s->mark_fd = pipe_fd[1];
	int err = pthread_create(&s->reader, NULL, read_log, s);
	if (err)
		fail("pthread_create: %s", strerror(err));
}

void server_stop(struct server *s)
{
	int status;
	pid_t pid;

	if (kill(s->pid, SIGTERM) < 0)
		fail("kill: %s", strerror(errno));
	while ((pid = waitpid(s->pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (pid < 0)
		fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("the server ended with %s %d",
		     WIFEXITED(status) ? "status" : "signal",
		     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	/* A child subreaper gets the server's orphans: none may be there,
	 * dead or alive. */
	pid = waitpid(-1, &status, WNOHANG);
	if (pid == 0)
		fail("a process of the server's still runs");
	if (pid > 0)
		fail("process %d outlived the server", (int)pid);
	if (errno != ECHILD)
		fail("waitpid: %s", strerror(errno));
	close(s->mark_fd);
	pthread_join(s->reader, NULL);
	if (log_find(s, 0, "stopped", false) < 0)
		fail("the server did not log that it stopped");
	for (size_t i = 0; i < s->n; i++)
		free(s->lines[i]);
	free(s->lines);
}

/* ------------------------------------------------------ connections */

static int connect_to(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		fail("socket: %s", strerror(errno));
	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s",
			     path) >= sizeof(addr.sun_path))
		fail("%s: path too long for a socket", path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

void conn_open(struct conn *c, const char *path)
{
	c->len = 0;
	c->fd = connect_to(path);
	if (c->fd < 0)
		fail("connect %s: %s", path, strerror(errno));
}

void conn_send(struct conn *c, const char *text, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, text, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("send: %s", strerror(errno));
		text += n;
		len -= (size_t)n;
	}
}

void conn_say(struct conn *c, const char *text)
{
	conn_send(c, text, strlen(text));
}

/* The next line into @line, or false at the end of the stream. */
static bool conn_line(struct conn *c, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			if (n >= size)
				fail("an answer of %zu bytes", n);
			memcpy(line, c->buf, n);
			line[n] = '\0';
			c->len -= n + 1;
			memmove(c->buf, nl + 1, c->len);
			return true;
		}
		if (c->len == sizeof(c->buf))
			fail("an answer longer than %zu bytes", c->len);
		ssize_t got = recv(c->fd, c->buf + c->len,
				   sizeof(c->buf) - c->len, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			fail("recv: %s", strerror(errno));
		if (got == 0) {
			if (c->len)
				fail("%zu bytes after the last answer", c->len);
			return false;
		}
		c->len += (size_t)got;
	}
}

void expect_answer(struct conn *c, const char *want)
{
	char line[256];

	if (!conn_line(c, line, sizeof(line)))
		fail("the server closed instead of answering \"%s\"", want);
	if (strcmp(line, want))
		fail("answer \"%s\", expected \"%s\"", line, want);
}

void expect_end(struct conn *c)
{
	char line[256];

	if (conn_line(c, line, sizeof(line)))
		fail("answer \"%s\", expected the end", line);
	close(c->fd);
}

void path_in_dir(char *out, const char *name)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		fail("path too long");
}

pid_t worker_of(struct server *s, size_t line)
{
	char stat_path[64], buf[512];
	int pid = 0, ppid = 0;
	FILE *f;

	pthread_mutex_lock(&s->lock);
	const char *w = strstr(s->lines[line], "worker ");
	if (w)
		pid = atoi(w + strlen("worker "));
	pthread_mutex_unlock(&s->lock);
	if (pid <= 0)
		fail("no worker pid in log line %zu", line);
	snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat", pid);
	f = fopen(stat_path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		fail("%s: %s", stat_path, strerror(errno));
	fclose(f);
	/* "pid (comm) state ppid": comm may hold anything but ends at
	 * the last ')'. */
	const char *after = strrchr(buf, ')');
	if (!after || sscanf(after, ") %*c %d", &ppid) != 1)
		fail("%s: cannot read the parent", stat_path);
	if (ppid != s->pid)
		fail("worker %d is the child of %d, not of the server %d", pid,
		     ppid, (int)s->pid);
	return pid;
}

/* A program next to this one's directory: tests/../examples/NAME. */
static void find_program(char *out, const char *argv0, const char *name)
{
	const char *slash = strrchr(argv0, '/');
	int dir_len = slash ? (int)(slash - argv0) : 1;

	snprintf(out, PATH_MAX, "%.*s/../examples/%s", dir_len,
		 slash ? argv0 : ".", name);
	if (access(out, X_OK) < 0)
		fail("%s: %s (build it first)", out, strerror(errno));
}


void harness_start(const char *argv0, unsigned deadline_s)
{
	const char *tmp = getenv("TMPDIR");

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	alarm(deadline_s);
	find_program(server_bin, argv0, "prime_server");
	find_program(client_bin, argv0, "prime_client");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fail("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	if ((size_t)snprintf(dir, sizeof(dir), "%s/ft-prime-XXXXXX",
			     tmp && *tmp ? tmp : "/tmp") >= sizeof(dir))
		fail("TMPDIR too long");
	if (!mkdtemp(dir)) {
		int err = errno;
		dir[0] = '\0';
		fail("mkdtemp: %s", strerror(err));
	}
}
