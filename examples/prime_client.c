/* SPDX-License-Identifier: MIT */
/*
 * prime_client: a client of prime_server (examples/server/).
 *
 *	prime_client SOCKET < numbers
 *
 * Sends standard input to the server as it is, one number per line, and
 * copies the answers to standard output, one line each, in order.  Both
 * directions flow at once: a client that sent everything before reading
 * would block on a full socket while the server blocks on answers nobody
 * reads.  Exits 0 when every line got its answer; 1 if the server closed
 * first (it was stopped: the answers printed are those of the first
 * lines) or on an error; 2 for bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CHUNK 4096

static int fail(const char *what)
{
	fprintf(stderr, "prime_client: %s: %s\n", what, strerror(errno));
	return 1;
}

static unsigned long count_lines(const char *p, size_t n)
{
	unsigned long lines = 0;

	for (size_t i = 0; i < n; i++)
		lines += p[i] == '\n';
	return lines;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int connect_to(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	do
		r = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	while (r < 0 && errno == EINTR);
	/* After connecting: a blocking connect waits for room in a busy
	 * server's backlog instead of failing with EAGAIN. */
	if (r < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	char up[CHUNK], down[CHUNK];
	size_t up_len = 0, up_sent = 0;
	bool input_done = false, server_gone = false;
	unsigned long lines = 0, answers = 0;
	char last = '\n'; /* the last byte read from stdin */
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: prime_client SOCKET < numbers\n");
		return 2;
	}
	fd = connect_to(argv[1]);
	if (fd < 0)
		return fail(argv[1]);

	for (;;) {
		bool want_input = !input_done && up_sent == up_len;
		struct pollfd p[2] = {
			{ .fd = want_input ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = fd, .events = POLLIN },
		};
		if (up_sent < up_len && !server_gone)
			p[1].events |= POLLOUT;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return fail("poll");
		}

		if (p[0].revents) {
			ssize_t n = read(STDIN_FILENO, up, sizeof(up));
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				return fail("standard input");
			if (n == 0) {
				input_done = true;
				/* A last line without its newline is a line. */
				lines += last != '\n';
				if (shutdown(fd, SHUT_WR) < 0 && errno != ENOTCONN)
					return fail("shutdown");
			}
			if (n > 0) {
				up_len = (size_t)n;
				up_sent = 0;
				lines += count_lines(up, up_len);
				last = up[n - 1];
			}
		}
		if (p[1].revents & POLLOUT) {
			ssize_t n = send(fd, up + up_sent, up_len - up_sent,
					 MSG_NOSIGNAL);
			if (n > 0)
				up_sent += (size_t)n;
			else if (errno == EPIPE || errno == ECONNRESET)
				server_gone = true; /* read what it said */
			else if (errno != EINTR && errno != EAGAIN)
				return fail("send");
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(fd, down, sizeof(down), 0);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n < 0)
				return fail("recv");
			if (n == 0)
				break;
			answers += count_lines(down, (size_t)n);
			if (write_all(STDOUT_FILENO, down, (size_t)n) < 0)
				return fail("standard output");
		}
	}
	close(fd);
	if (!input_done) {
		fprintf(stderr, "prime_client: the server closed before taking "
			"all the input (%lu answers)\n", answers);
		return 1;
	}
	if (answers < lines) {
		fprintf(stderr, "prime_client: the server answered %lu of %lu "
			"lines\n", answers, lines);
		return 1;
	}
	return 0;
}
