/* SPDX-License-Identifier: MIT */
/*
 * What test_prime_server drives the example server with: the server as a
 * child process whose log a thread gathers, connections that read answer
 * lines, and a failure that says at which step.  Every wait here is for
 * something the test causes; an alarm set by harness_start bounds them.
 */
#ifndef PRIME_SERVER_HARNESS_H
#define PRIME_SERVER_HARNESS_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Named in every failure. */
extern const char *step;
extern char server_bin[PATH_MAX], client_bin[PATH_MAX];

/* Find the programs next to @argv0's directory, arm the alarm, become a
 * child subreaper, make the test's directory. */
void harness_start(const char *argv0, unsigned deadline_s);
/* Remove the test's directory and what is in it. */
void harness_end(void);
/* @out: @name in the test's directory. */
void path_in_dir(char *out, const char *name);
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

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

struct conn {
	int fd;
	size_t len;
	char buf[8192];
};

/*
 * Start the server with @args (NULL-ended, the program first), through
 * sh so that @env (shell commands that end in ";", "" for none) may name
 * the server's own pid as $$.  @fd3, if not -1, becomes its fd 3.
 */
void server_start(struct server *s, const char *env, const char *const args[],
		  int fd3);
/* SIGTERM; expect exit 0, no process of the server's left, and its log
 * pipe closed by everyone. */
void server_stop(struct server *s);
/* The index of the first log line from @from on that contains @needle;
 * with @wait, wait for it, else -1. */
long log_find(struct server *s, size_t from, const char *needle, bool wait);
size_t log_length(struct server *s);
/* Return once every line the server logged before now has been read. */
void log_sync(struct server *s);
/* The pid in log line @line, "worker PID: ...", checked to be the
 * server's child. */
pid_t worker_of(struct server *s, size_t line);

void conn_open(struct conn *c, const char *path);
void conn_send(struct conn *c, const char *text, size_t len);
void conn_say(struct conn *c, const char *text);
void expect_answer(struct conn *c, const char *want);
/* Expect the server to close, and close our end. */
void expect_end(struct conn *c);

#endif /* PRIME_SERVER_HARNESS_H */
