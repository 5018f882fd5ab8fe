/* SPDX-License-Identifier: MIT */
/*
 * One client's connection, served on a thread of its own.
 *
 * The protocol: each request line is a decimal number from 0 to
 * 2^64 - 1 (blanks around it, and a CR before the newline, are allowed).
 * Each line gets exactly one answer line, in order:
 *
 *	N prime | N composite | N neither      (neither: 0 and 1)
 *	error empty line | error not a number | error out of range |
 *	error line too long | error server failure
 *
 * N is the number as parsed ("007" is answered "7 prime").  A client
 * past MAX_SESSIONS gets "error busy" alone, and is closed.  A last line
 * without its newline is answered too, once the client shuts down its
 * writing side; then the server closes the connection.
 *
 * The complete lines of what one read brings are submitted together, up
 * to BATCH at a time, so one client's numbers are tested in parallel
 * too; answers go out in order, gathered and sent whenever the next one
 * must be waited for.  When the server stops, a session answers every
 * line it has read, then closes: what the client sent after that was
 * never read, and the answers it got are those of its first lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "server.h"

#define MAX_SESSIONS 64
#define LINE_MAX_BYTES 64 /* a request line, without its newline */
#define READ_CHUNK 4096
#define BATCH 64
#define ANSWER_MAX 48     /* "18446744073709551615 composite\n" and errors */
/* A client that takes no answer for this long is dropped: it would
 * otherwise hold its thread, and the server's stop, for ever. */
#define SEND_TIMEOUT_S 10

enum { INPUT, STOPPING };

struct pending {
	const char *error; /* NULL: the job holds the number */
	struct prime_job job;
};

struct session {
	struct server *srv;
	int fd;
	unsigned long id;
	bool skipping;     /* inside a line too long: drop up to its newline */
	size_t in_len;
	/* A kept partial line, one read, and the newline a last line that
	 * lacks one is given. */
	char in[LINE_MAX_BYTES + READ_CHUNK + 1];
	size_t out_len;
	char out[BATCH * ANSWER_MAX];
	struct pending batch[BATCH];
};

static const char *parse_number(const char *s, size_t len, uint64_t *n)
{
	uint64_t v = 0;
	bool too_big = false;

	while (len && strchr(" \t\r", s[len - 1]))
		len--;
	while (len && strchr(" \t", s[0]))
		s++, len--;
	if (!len)
		return "empty line";
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return "not a number";
		unsigned digit = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - digit) / 10)
			too_big = true;
		else
			v = v * 10 + digit;
	}
	if (too_big)
		return "out of range";
	*n = v;
	return NULL;
}

/* Turn one request line into a pending answer: an error, or a job. */
static void queue_line(struct session *s, struct pending *p, const char *line,
		       size_t len)
{
	uint64_t n;
	int err;

	*p = (struct pending){ 0 };
	if (s->skipping) {
		s->skipping = false;
		p->error = "line too long";
		return;
	}
	if (len > LINE_MAX_BYTES) {
		p->error = "line too long";
		return;
	}
	p->error = parse_number(line, len, &n);
	if (p->error)
		return;
	err = prime_job_submit(&p->job, s->srv->executor, n);
	if (err) {
		log_line(LOG_ERR, "session %lu: submitting %" PRIu64 ": %s",
			 s->id, n, ft_strerror(err));
		p->error = "server failure";
	}
}

static void put_answer(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void put_answer(struct session *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->out + s->out_len, sizeof(s->out) - s->out_len, fmt,
		      ap);
	va_end(ap);
	if (n > 0)
		s->out_len += (size_t)n;
}

static int flush_answers(struct session *s)
{
	const char *p = s->out;
	size_t left = s->out_len;

	s->out_len = 0;
	while (left) {
		/* MSG_NOSIGNAL: a client gone is an error code, not SIGPIPE. */
		ssize_t n = send(s->fd, p, left, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

static int answer_batch(struct session *s, size_t count)
{
	static const char *const word[] = {
		[VERDICT_NEITHER] = "neither",
		[VERDICT_PRIME] = "prime",
		[VERDICT_COMPOSITE] = "composite",
	};
	int err = 0;

	for (size_t i = 0; i < count; i++) {
		struct pending *p = &s->batch[i];
		enum verdict v;

		if (!err && p->error) {
			put_answer(s, "error %s\n", p->error);
			continue;
		}
		if (!err && s->out_len && !prime_job_done(&p->job))
			err = flush_answers(s);
		if (err) {
			/* The client is gone: nobody waits for the rest. */
			prime_job_abandon(&p->job);
			continue;
		}
		if (prime_job_finish(&p->job, s->srv->executor, &v) == 0)
			put_answer(s, "%" PRIu64 " %s\n", p->job.n, word[v]);
		else
			put_answer(s, "error server failure\n");
	}
	return err ? err : flush_answers(s);
}

/* Answer the complete lines in the input; keep a partial last one. */
static int answer_lines(struct session *s)
{
	size_t start = 0, rest;
	const char *nl;

	for (;;) {
		size_t count = 0;
		while (count < BATCH &&
		       (nl = memchr(s->in + start, '\n', s->in_len - start))) {
			size_t len = (size_t)(nl - (s->in + start));
			queue_line(s, &s->batch[count++], s->in + start, len);
			start += len + 1;
		}
		if (!count)
			break;
		int err = answer_batch(s, count);
		if (err)
			return err;
	}
	rest = s->in_len - start;
	if (rest > LINE_MAX_BYTES)
		s->skipping = true;
	if (s->skipping)
		rest = 0;
	memmove(s->in, s->in + start, rest);
	s->in_len = rest;
	return 0;
}

/* INPUT when the client has sent something (or hung up), STOPPING when
 * the server stops, or -errno. */
static int wait_for_input(struct session *s)
{
	struct pollfd p[2] = {
		{ .fd = s->fd, .events = POLLIN },
		{ .fd = s->srv->stop_fd, .events = POLLIN },
	};

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents)
			return STOPPING;
		if (p[0].revents)
			return INPUT;
	}
}

/* 0 once the client is done and answered, STOPPING, or -errno. */
static int serve(struct session *s)
{
	for (;;) {
		int r = wait_for_input(s);
		if (r != INPUT)
			return r;
		ssize_t n = recv(s->fd, s->in + s->in_len, READ_CHUNK,
				 MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			/* The client is done: a last line without its
			 * newline is a line too. */
			if (s->in_len || s->skipping)
				s->in[s->in_len++] = '\n';
			return answer_lines(s);
		}
		s->in_len += (size_t)n;
		r = answer_lines(s);
		if (r)
			return r;
	}
}

static void end_session(struct server *srv)
{
	pthread_mutex_lock(&srv->lock);
	if (--srv->sessions == 0)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
}

/* Close a connection for good.  shutdown first: worker processes forked
 * while it was open hold copies of @fd, and close alone would leave the
 * connection open in them, the client waiting for an end that never
 * comes. */
static void hang_up(int fd, unsigned long id)
{
	if (shutdown(fd, SHUT_RDWR) < 0 && errno != ENOTCONN)
		log_line(LOG_WARNING, "session %lu: shutdown: %s", id,
			 strerror(errno));
	close(fd);
}

static void *session_main(void *arg)
{
	struct session *s = arg;
	struct server *srv = s->srv;
	struct timeval send_timeout = { .tv_sec = SEND_TIMEOUT_S };
	struct ucred peer;
	socklen_t len = sizeof(peer);
	int r;

	if (getsockopt(s->fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0)
		log_line(LOG_INFO, "session %lu: client pid %d uid %u", s->id,
			 (int)peer.pid, (unsigned)peer.uid);
	if (setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
		       sizeof(send_timeout)) < 0)
		r = -errno;
	else
		r = serve(s);

	if (r == 0)
		log_line(LOG_INFO, "session %lu: done", s->id);
	else if (r == STOPPING)
		log_line(LOG_INFO, "session %lu: closed, server stopping", s->id);
	else if (r == -EAGAIN)
		log_line(LOG_WARNING, "session %lu: dropped, no answer taken "
			 "for %d s", s->id, SEND_TIMEOUT_S);
	else
		log_line(LOG_INFO, "session %lu: ended: %s", s->id,
			 strerror(-r));
	hang_up(s->fd, s->id);
	free(s);
	end_session(srv);
	return NULL;
}

/* A connection we cannot serve gets one line saying so. */
static void refuse(int fd, unsigned long id)
{
	static const char busy[] = "error busy\n";

	if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_line(LOG_INFO, "session %lu: refusing: %s", id,
			 strerror(errno));
	hang_up(fd, id);
}

void session_start(struct server *srv, int fd)
{
	struct session *s;
	pthread_attr_t attr;
	pthread_t thread;
	unsigned long id;
	int err;

	pthread_mutex_lock(&srv->lock);
	id = ++srv->last_id;
	if (srv->sessions >= MAX_SESSIONS) {
		pthread_mutex_unlock(&srv->lock);
		log_line(LOG_WARNING, "session %lu: refused, %d sessions "
			 "already", id, MAX_SESSIONS);
		refuse(fd, id);
		return;
	}
	srv->sessions++;
	pthread_mutex_unlock(&srv->lock);

	s = malloc(sizeof(*s));
	if (!s) {
		err = ENOMEM;
		goto fail;
	}
	s->srv = srv;
	s->fd = fd;
	s->id = id;
	s->skipping = false;
	s->in_len = 0;
	s->out_len = 0;
	err = pthread_attr_init(&attr);
	if (err)
		goto fail;
	/* Nobody joins a session: sessions_stop waits for the count. */
	err = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (!err)
		err = pthread_create(&thread, &attr, session_main, s);
	pthread_attr_destroy(&attr);
	if (!err)
		return;
fail:
	free(s);
	log_line(LOG_WARNING, "session %lu: refused: %s", id, strerror(err));
	end_session(srv);
	refuse(fd, id);
}

void sessions_stop(struct server *srv)
{
	uint64_t one = 1;
	ssize_t n;

	do
		n = write(srv->stop_fd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(one))
		log_line(LOG_ERR, "cannot tell the sessions to stop: %s",
			 n < 0 ? strerror(errno) : "short write");

	pthread_mutex_lock(&srv->lock);
	if (srv->sessions)
		log_line(LOG_INFO, "sessions left to finish: %u",
			 srv->sessions);
	while (srv->sessions)
		pthread_cond_wait(&srv->idle, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
}
