/* SPDX-License-Identifier: MIT */
/*
 * The prime server's parts (main.c tells the whole story):
 *   log.c       one line per event on stderr
 *   listener.c  the listening socket: socket activation, or one we bind
 *   primality.c the work, and the executor of worker processes doing it
 *   session.c   one client's connection, on a thread of its own
 */
#ifndef PRIME_SERVER_H
#define PRIME_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>
#include <syslog.h> /* LOG_ERR ... LOG_DEBUG: the sd-daemon priorities */

#include <freethreading.h>

/* ---------------------------------------------------------------- log.c */

/* Decide once, before any thread or worker exists, whether lines carry
 * journald's "<N>" priority prefix; @verbose lets LOG_DEBUG lines out. */
void log_init(bool verbose);
void log_line(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ----------------------------------------------------------- listener.c */

struct listener {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	/* We bound it, so we unlink it, but only while it is still ours. */
	bool created;
	dev_t dev;
	ino_t ino;
};

/*
 * Get the socket to accept on: the one systemd passed (LISTEN_PID and
 * LISTEN_FDS), else a new one bound at @path, else at
 * $RUNTIME_DIRECTORY/prime-server.sock.  0, or a negative errno (logged).
 */
int listener_open(struct listener *l, const char *path);
/* Close it; unlink the file if listener_open made it. */
void listener_close(struct listener *l);

/* ---------------------------------------------------------- primality.c */

enum verdict {
	VERDICT_NEITHER,   /* 0 and 1 are neither prime nor composite */
	VERDICT_PRIME,
	VERDICT_COMPOSITE,
};

/* One number on its way through the executor. */
struct prime_job {
	ft_future_t *future;
	uint64_t n;
	unsigned attempts;
};

/* The executor the jobs run in: @workers worker processes. */
ft_executor_t *prime_executor_new(int workers);
/* Submit @n.  0, or a negative errno. */
int prime_job_submit(struct prime_job *job, ft_executor_t *ex, uint64_t n);
/* Whether the answer is there (prime_job_finish would not block). */
bool prime_job_done(const struct prime_job *job);
/* Wait for the answer, submitting the number again if its worker died.
 * 0, or the negative code of the last attempt.  Ends the job either way. */
int prime_job_finish(struct prime_job *job, ft_executor_t *ex,
		     enum verdict *verdict);
/* End the job without its answer (its task runs on, for nobody). */
void prime_job_abandon(struct prime_job *job);

/* ------------------------------------------------------------ session.c */

struct server {
	ft_executor_t *executor;
	int stop_fd;            /* eventfd, readable once the server stops */
	pthread_mutex_t lock;
	pthread_cond_t idle;    /* broadcast when sessions drops to 0 */
	unsigned sessions;      /* running session threads */
	unsigned long last_id;  /* numbers the sessions in the log */
};

/* Serve the connection @fd on a thread of its own (or refuse it with
 * "error busy" past the limit); @fd is the session's from now on. */
void session_start(struct server *srv, int fd);
/* Make every session finish the lines it has read and close; return when
 * none is left. */
void sessions_stop(struct server *srv);

#endif /* PRIME_SERVER_H */
