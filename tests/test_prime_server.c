/* SPDX-License-Identifier: MIT */
/*
 * The example server (examples/server/) end to end, as its clients and
 * its operator see it, with examples/prime_client among the clients:
 *
 *  1. the protocol: every kind of line gets its answer, in order;
 *  2. several clients at once, one of them idle and connected all along;
 *  3. a worker process SIGKILLed while it tests a number: the client
 *     still gets the right answer.  The kill is ordered by what the
 *     server logs (-v names the worker that starts on a number that takes
 *     about a second), and counted only if the server then logs that it
 *     submitted the number again; a kill that came too late is tried
 *     again, and the test fails if none lands;
 *  4. SIGTERM with a number in flight: it is answered, the connections
 *     close, the server exits 0, its socket is gone, and no process of
 *     its outlives it (the test is a child subreaper: an orphaned worker
 *     would become its child);
 *  5. the socket from systemd's activation protocol (left in place at
 *     exit), and from $RUNTIME_DIRECTORY (removed at exit).
 *
 * No step waits for time to pass: each waits for a log line or an answer
 * that the step before causes.  run-test.sh runs this under each backend
 * and wait implementation; an alarm makes a hang fail within DEADLINE_S.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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

#define DEADLINE_S 60
/* About 1 s of trial division on a 2020s core: a worker killed right
 * after it logs that it started has not finished. */
#define SLOW_PRIME "1000000000000000003"
#define KILL_TRIES 3
#define CLIENTS 4
#define NUMBERS_PER_CLIENT 300

static const char *step = "start";
static char server_bin[PATH_MAX], client_bin[PATH_MAX];
static char dir[PATH_MAX];

/* ---------------------------------------------------------- failing */

static void clean_dir(void);

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "FAIL: test_prime_server: %s: ", step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	clean_dir();
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

/*
 * A running server and its log.  A thread gathers the log lines, so the
 * server never blocks on a full pipe while the test waits for something
 * else.  The test keeps a write end of the pipe (mark_fd): a marker it
 * writes after it saw an answer arrives after every line the server
 * logged before sending that answer (log_sync).
 */
struct server {
	pid_t pid;
	int log_fd, mark_fd;
	pthread_t reader;
	pthread_mutex_t lock;
	pthread_cond_t grew;
	char **lines;
	size_t n, cap;
	bool ended;
	unsigned marks;
};

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

/* The index of the first line from @from on that contains @needle;
 * with @wait, wait for it (the alarm bounds the wait), else -1. */
static long log_find(struct server *s, size_t from, const char *needle,
		     bool wait)
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

static size_t log_length(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Return once every line the server logged before now has been read. */
static void log_sync(struct server *s)
{
	char mark[64];
	int len = snprintf(mark, sizeof(mark), "-- test mark %u --\n",
			   ++s->marks);

	if (write(s->mark_fd, mark, (size_t)len) != len)
		fail("writing a log mark: %s", strerror(errno));
	mark[len - 1] = '\0';
	log_find(s, 0, mark, true);
}

/*
 * Start the server with @args (NULL-ended, the program first), through
 * sh so that @env (shell commands that end in ";", "" for none) may name
 * the server's own pid as $$.  @fd3, if not -1, becomes its fd 3.
 */
static void server_start(struct server *s, const char *env,
			 const char *const args[], int fd3)
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

/* SIGTERM; expect exit 0, no process of the server's left, and its log
 * pipe closed by everyone. */
static void server_stop(struct server *s)
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

struct conn {
	int fd;
	size_t len;
	char buf[8192];
};

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

static void conn_open(struct conn *c, const char *path)
{
	c->len = 0;
	c->fd = connect_to(path);
	if (c->fd < 0)
		fail("connect %s: %s", path, strerror(errno));
}

static void conn_send(struct conn *c, const char *text, size_t len)
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

static void conn_say(struct conn *c, const char *text)
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

static void expect_answer(struct conn *c, const char *want)
{
	char line[256];

	if (!conn_line(c, line, sizeof(line)))
		fail("the server closed instead of answering \"%s\"", want);
	if (strcmp(line, want))
		fail("answer \"%s\", expected \"%s\"", line, want);
}

static void expect_end(struct conn *c)
{
	char line[256];

	if (conn_line(c, line, sizeof(line)))
		fail("answer \"%s\", expected the end", line);
	close(c->fd);
}

/* ------------------------------------------------ prime_client runs */

static bool is_prime(unsigned long n)
{
	if (n < 2)
		return false;
	for (unsigned long d = 2; d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

static void path_in_dir(char *out, const char *name)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		fail("path too long");
}

/* Start prime_client on a file of numbers; its answers go to a file. */
static pid_t client_start(const char *socket_path, int index)
{
	char in[PATH_MAX], out[PATH_MAX], name[32];
	FILE *f;
	pid_t pid;

	snprintf(name, sizeof(name), "client%d.in", index);
	path_in_dir(in, name);
	snprintf(name, sizeof(name), "client%d.out", index);
	path_in_dir(out, name);
	f = fopen(in, "w");
	if (!f)
		fail("%s: %s", in, strerror(errno));
	for (int i = 0; i < NUMBERS_PER_CLIENT; i++)
		fprintf(f, "%d\n", index * NUMBERS_PER_CLIENT + i);
	if (fclose(f))
		fail("%s: %s", in, strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int i = open(in, O_RDONLY), o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (i < 0 || o < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0)
			_exit(127);
		execl(client_bin, client_bin, socket_path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void client_check(pid_t pid, int index)
{
	char out[PATH_MAX], name[32], line[256], want[64];
	int status;
	FILE *f;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("prime_client %d ended with status %#x", index, status);
	snprintf(name, sizeof(name), "client%d.out", index);
	path_in_dir(out, name);
	f = fopen(out, "r");
	if (!f)
		fail("%s: %s", out, strerror(errno));
	for (int i = 0; i < NUMBERS_PER_CLIENT; i++) {
		unsigned long n = (unsigned long)(index * NUMBERS_PER_CLIENT + i);
		snprintf(want, sizeof(want), "%lu %s", n,
			 n < 2 ? "neither" : is_prime(n) ? "prime" : "composite");
		if (!fgets(line, sizeof(line), f))
			fail("prime_client %d: %d answers, expected %d", index,
			     i, NUMBERS_PER_CLIENT);
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, want))
			fail("prime_client %d: \"%s\", expected \"%s\"", index,
			     line, want);
	}
	if (fgets(line, sizeof(line), f))
		fail("prime_client %d: more answers than lines", index);
	fclose(f);
}

/* --------------------------------------------------------- the steps */

static void check_protocol(const char *path)
{
	static const struct {
		const char *line, *answer;
	} cases[] = {
		{ "2", "2 prime" },
		{ "3", "3 prime" },
		{ "4", "4 composite" },
		{ "0", "0 neither" },
		{ "1", "1 neither" },
		{ "561", "561 composite" },               /* Carmichael */
		{ "4294967291", "4294967291 prime" },     /* 2^32 - 5 */
		{ "4294967297", "4294967297 composite" }, /* 641 x 6700417 */
		{ "18446744073709551615", "18446744073709551615 composite" },
		{ "007", "7 prime" },
		{ " \t42 \r", "42 composite" },
		{ "", "error empty line" },
		{ "abc", "error not a number" },
		{ "-5", "error not a number" },
		{ "12 34", "error not a number" },
		{ "18446744073709551616", "error out of range" },
	};
	char long_line[10002];
	struct conn c;

	step = "protocol";
	conn_open(&c, path);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		conn_say(&c, cases[i].line);
		conn_say(&c, "\n");
	}
	/* Lines too long: within one read, and across reads. */
	memset(long_line, '1', sizeof(long_line));
	conn_send(&c, long_line, 100);
	conn_say(&c, "\n");
	conn_send(&c, long_line, sizeof(long_line));
	conn_say(&c, "\n5\n");
	/* A last line without its newline, ended by shutting down. */
	conn_say(&c, "13");
	if (shutdown(c.fd, SHUT_WR) < 0)
		fail("shutdown: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_answer(&c, cases[i].answer);
	expect_answer(&c, "error line too long");
	expect_answer(&c, "error line too long");
	expect_answer(&c, "5 prime");
	expect_answer(&c, "13 prime");
	expect_end(&c);
}

/* The pid in "worker PID: testing N", checked to be the server's child. */
static pid_t worker_of(struct server *s, size_t line)
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

/* Kill the worker testing a slow number; the answer must still come. */
static void check_worker_death(struct server *s, struct conn *c,
			       const char *path)
{
	pid_t clients[CLIENTS];

	for (int attempt = 1;; attempt++) {
		size_t from = log_length(s);

		step = "a worker killed mid-request";
		conn_say(c, SLOW_PRIME "\n");
		size_t started = (size_t)log_find(s, from, "testing " SLOW_PRIME,
						  true);
		pid_t worker = worker_of(s, started);
		if (attempt == 1) {
			/* Other clients meanwhile, on the other worker. */
			for (int i = 0; i < CLIENTS; i++)
				clients[i] = client_start(path, i);
		}
		if (kill(worker, SIGKILL) < 0)
			fail("kill %d: %s", (int)worker, strerror(errno));
		expect_answer(c, SLOW_PRIME " prime");
		log_sync(s);
		if (log_find(s, started, "died testing " SLOW_PRIME, false) >= 0)
			break;
		if (attempt == KILL_TRIES)
			fail("in %d tries, no kill landed while its worker "
			     "was testing " SLOW_PRIME, KILL_TRIES);
		printf("worker %d had finished when killed; again\n",
		       (int)worker);
	}
	step = "several clients at once";
	for (int i = 0; i < CLIENTS; i++)
		client_check(clients[i], i);
}

static void check_main_server(void)
{
	char path[PATH_MAX];
	struct server s;
	struct conn idle, busy;

	path_in_dir(path, "prime.sock");
	step = "start";
	server_start(&s, "", (const char *[]){ server_bin, "-v", "-w", "2",
					       path, NULL }, -1);
	log_find(&s, 0, "listening on", true);

	check_protocol(path);

	/* A client connected and idle all along: the others are served
	 * meanwhile, so sessions run at once. */
	step = "an idle client";
	conn_open(&idle, path);
	conn_say(&idle, "7\n");
	expect_answer(&idle, "7 prime");

	conn_open(&busy, path);
	check_worker_death(&s, &busy, path);

	step = "the idle client still served";
	conn_say(&idle, "8\n");
	expect_answer(&idle, "8 composite");

	/* Stop while a number is in flight: it is answered, then every
	 * connection closes. */
	step = "SIGTERM with a request in flight";
	size_t from = log_length(&s);
	conn_say(&busy, SLOW_PRIME "\n");
	log_find(&s, from, "testing " SLOW_PRIME, true);
	server_stop(&s);
	expect_answer(&busy, SLOW_PRIME " prime");
	expect_end(&busy);
	expect_end(&idle);
	if (access(path, F_OK) == 0 || errno != ENOENT)
		fail("%s is still there", path);
}

/* The socket made by "systemd": ours, left in place by the server. */
static void check_socket_activation(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	struct server s;
	struct conn c;
	int fd;

	step = "socket activation";
	path_in_dir(path, "activated.sock");
	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s",
			     path) >= sizeof(addr.sun_path))
		fail("%s: path too long for a socket", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fd, 16) < 0)
		fail("%s: %s", path, strerror(errno));
	server_start(&s, "export LISTEN_FDS=1 LISTEN_PID=$$;",
		     (const char *[]){ server_bin, "-w", "1", NULL }, fd);
	log_find(&s, 0, "listening on", true);
	if (log_find(&s, 0, path, false) < 0)
		fail("the server does not name %s", path);
	conn_open(&c, path);
	conn_say(&c, "11\n");
	expect_answer(&c, "11 prime");
	server_stop(&s);
	expect_end(&c);
	if (access(path, F_OK) < 0)
		fail("the server removed the socket systemd made");
	close(fd);
	unlink(path);
}

static void check_runtime_directory(void)
{
	char env[PATH_MAX + 32], rt[PATH_MAX], path[PATH_MAX];
	struct server s;
	struct conn c;

	step = "RUNTIME_DIRECTORY";
	path_in_dir(rt, "run");
	path_in_dir(path, "run/prime-server.sock");
	if (mkdir(rt, 0700) < 0)
		fail("%s: %s", rt, strerror(errno));
	snprintf(env, sizeof(env), "export RUNTIME_DIRECTORY='%s';", rt);
	server_start(&s, env, (const char *[]){ server_bin, "-w", "1", NULL },
		     -1);
	log_find(&s, 0, "listening on", true);
	conn_open(&c, path);
	conn_say(&c, "12\n");
	expect_answer(&c, "12 composite");
	server_stop(&s);
	expect_end(&c);
	if (access(path, F_OK) == 0 || errno != ENOENT)
		fail("%s is still there", path);
	rmdir(rt);
}

/* Remove what the test made in its directory, and the directory. */
static void clean_dir(void)
{
	static const char *const names[] = {
		"prime.sock", "activated.sock", "run/prime-server.sock", "run",
	};
	char path[PATH_MAX], name[32];

	if (!dir[0])
		return;
	for (int i = 0; i < 2 * CLIENTS; i++) {
		snprintf(name, sizeof(name), "client%d.%s", i / 2,
			 i % 2 ? "out" : "in");
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) <
		    sizeof(path))
			unlink(path);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     names[i]) < sizeof(path) &&
		    unlink(path) < 0 && errno == EISDIR)
			rmdir(path);
	rmdir(dir);
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

int main(int argc, char **argv)
{
	(void)argc;
#if defined(__SANITIZE_THREAD__)
	/* ThreadSanitizer cannot follow the server's worker processes
	 * (tests/helpers.h says why). */
	puts("skipped: process workers (ThreadSanitizer)");
	return 0;
#endif
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	alarm(DEADLINE_S);
	find_program(server_bin, argv[0], "prime_server");
	find_program(client_bin, argv[0], "prime_client");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fail("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/ft-prime-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		int err = errno;
		dir[0] = '\0';
		fail("mkdtemp: %s", strerror(err));
	}

	check_main_server();
	check_socket_activation();
	check_runtime_directory();
	clean_dir();
	puts("prime server: all checks passed");
	return 0;
}
