/* SPDX-License-Identifier: MIT */
/*
 * prime_server: a small daemon that tells whether numbers are prime.
 *
 *	prime_server [-v] [-w WORKERS] [SOCKET]
 *
 * It accepts on a Unix stream socket (listener.c: systemd's socket
 * activation, SOCKET, or $RUNTIME_DIRECTORY/prime-server.sock) and
 * serves each client on a thread of its own (session.c: one number per
 * line in, one answer per line out).  The numbers are tested by an
 * executor of WORKERS worker processes (primality.c; by default one per
 * CPU): whatever the backend, a worker that dies costs the server
 * nothing but a retry.  Events are logged to stderr, one line each
 * (log.c); -v adds a line per number tested.
 *
 * SIGTERM or SIGINT stops it: it stops accepting (and unlinks the socket
 * it made), lets every session answer the lines it has read, shuts the
 * executor down, and exits 0.  The stop signals are blocked in every
 * thread and read from a signalfd by the accept loop alone; workers
 * inherit the mask, so the SIGTERM that systemd sends to the whole
 * control group stops the server, not its workers under its feet.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"

#define MAX_WORKERS 4096
/* After accept fails for want of descriptors or memory, wait this long
 * for sessions to end and give some back, instead of spinning. */
#define ACCEPT_BACKOFF_MS 100

static void usage(FILE *to)
{
	fprintf(to, "usage: prime_server [-v] [-w WORKERS] [SOCKET]\n"
		    "Answers \"N prime\", \"N composite\" or \"N neither\" "
		    "for each number sent to SOCKET, one per line.\n"
		    "  -v          log each number tested\n"
		    "  -w WORKERS  worker processes (default: one per CPU)\n");
}

/*
 * Accept clients until a stop signal arrives: its number, or -errno when
 * the accept loop itself fails.
 */
static int accept_until_signal(struct server *srv, int listen_fd,
			       int signal_fd)
{
	struct pollfd p[2] = {
		{ .fd = signal_fd, .events = POLLIN },
		{ .fd = listen_fd, .events = POLLIN },
	};
	int timeout = -1;

	for (;;) {
		p[1].revents = 0;
		/* Backing off, the listener is left out. */
		int n = poll(p, timeout < 0 ? 2 : 1, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		timeout = -1;
		if (p[0].revents) {
			struct signalfd_siginfo si;
			ssize_t got = read(signal_fd, &si, sizeof(si));
			if (got < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (got != (ssize_t)sizeof(si))
				return got < 0 ? -errno : -EIO;
			return (int)si.ssi_signo;
		}
		if (n == 0 || !p[1].revents)
			continue;
		if (p[1].revents & (POLLERR | POLLNVAL))
			return -EIO;

		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			session_start(srv, fd);
			continue;
		}
		switch (errno) {
		case EINTR:
		case EAGAIN:       /* the client gave up after poll */
		case ECONNABORTED:
		case EPROTO:
		case EPERM:        /* a security module said no to this one */
			break;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			log_line(LOG_WARNING, "accept: %s", strerror(errno));
			timeout = ACCEPT_BACKOFF_MS;
			break;
		default:
			return -errno;
		}
	}
}

int main(int argc, char **argv)
{
	struct server srv = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.idle = PTHREAD_COND_INITIALIZER,
		.stop_fd = -1,
	};
	int workers = FT_DEFAULT_WORKERS;
	bool verbose = false;
	struct listener listener;
	sigset_t stop_signals;
	int signal_fd, opt, r;
	char *end;

	while ((opt = getopt(argc, argv, "hvw:")) != -1) {
		switch (opt) {
		case 'v':
			verbose = true;
			break;
		case 'w': {
			errno = 0;
			long w = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || w < 1 ||
			    w > MAX_WORKERS) {
				fprintf(stderr, "prime_server: -w %s: not a "
					"number from 1 to %d\n", optarg,
					MAX_WORKERS);
				return 2;
			}
			workers = (int)w;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	log_init(verbose);

	/* Before any thread or worker exists, so that all inherit it. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	r = pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	if (r) {
		log_line(LOG_ERR, "pthread_sigmask: %s", strerror(r));
		return 1;
	}
	signal_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
	srv.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (signal_fd < 0 || srv.stop_fd < 0) {
		log_line(LOG_ERR, "signalfd/eventfd: %s", strerror(errno));
		return 1;
	}

	if (listener_open(&listener, argc > optind ? argv[optind] : NULL) < 0)
		return 1;
	srv.executor = prime_executor_new(workers);
	if (!srv.executor) {
		log_line(LOG_ERR, "ft_executor_new: %s", ft_strerror(errno));
		listener_close(&listener);
		return 1;
	}
	if (workers == FT_DEFAULT_WORKERS)
		log_line(LOG_INFO, "listening on %s; worker processes: one per "
			 "CPU; backend: %s", listener.path, ft_get_backend());
	else
		log_line(LOG_INFO, "listening on %s; worker processes: %d; "
			 "backend: %s", listener.path, workers, ft_get_backend());

	r = accept_until_signal(&srv, listener.fd, signal_fd);
	if (r > 0)
		log_line(LOG_INFO, "SIG%s: stopping", sigabbrev_np(r));
	else
		log_line(LOG_ERR, "accept loop: %s; stopping", strerror(-r));
	listener_close(&listener);
	sessions_stop(&srv);
	int err = ft_executor_free(srv.executor);
	if (err) {
		log_line(LOG_ERR, "ft_executor_free: %s", ft_strerror(err));
		r = -1;
	}
	close(srv.stop_fd);
	close(signal_fd);
	log_line(LOG_INFO, "stopped");
	return r > 0 ? 0 : 1;
}
