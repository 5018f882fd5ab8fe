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
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prime_server_harness.h"

#define DEADLINE_S 60
/* About 1 s of trial division on a 2020s core: a worker killed right
 * after it logs that it started has not finished. */
#define SLOW_PRIME "1000000000000000003"
#define KILL_TRIES 3
#define CLIENTS 4
#define NUMBERS_PER_CLIENT 300

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

int main(int argc, char **argv)
{
	(void)argc;
#if defined(__SANITIZE_THREAD__)
	/* ThreadSanitizer cannot follow the server's worker processes
	 * (tests/helpers.h says why). */
	puts("skipped: process workers (ThreadSanitizer)");
	return 0;
#endif
	harness_start(argv[0], DEADLINE_S);
	check_main_server();
	check_socket_activation();
	check_runtime_directory();
	harness_end();
	puts("prime server: all checks passed");
	return 0;
}
