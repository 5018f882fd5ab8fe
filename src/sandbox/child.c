/* SPDX-License-Identifier: MIT */
/*
 * A sandboxed worker's own side, from its fork to its end: shed every
 * shared mapping and descriptor (S2), run the initializer, install the
 * filter, say ready, then serve the proxy's requests until it closes the
 * channel.  Nothing here touches the arena: it is unmapped first.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

/* Exit statuses of a child that could not set itself up (seen by the
 * proxy as an end before "ready"). */
#define EXIT_SETUP 70

/* A whole read from the channel: the count read, short only at end of
 * file (the proxy is done with us) or on an error. */
static size_t read_all(void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(FT__SANDBOX_CHAN_FD, (char *)buf + got,
				 len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* write, not send: the filter allows write on the channel.  A proxy
 * gone first ends us by SIGPIPE, as it should. */
static size_t write_all(const void *buf, size_t len)
{
	size_t put = 0;
	while (put < len) {
		ssize_t r = write(FT__SANDBOX_CHAN_FD, (const char *)buf + put,
				  len - put);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		put += (size_t)r;
	}
	return put;
}

/* The channel at FT__SANDBOX_CHAN_FD, nothing above it open (no channel,
 * @chan < 0: nothing above stderr). */
static int keep_only_channel(int chan)
{
	if (chan < 0) {
		if (syscall(SYS_close_range, 3, ~0u, 0) == 0)
			return 0;
	} else if (chan != FT__SANDBOX_CHAN_FD) {
		if (dup2(chan, FT__SANDBOX_CHAN_FD) < 0)
			return -errno;
		close(chan);
	}
	if (syscall(SYS_close_range, FT__SANDBOX_CHAN_FD + 1, ~0u, 0) == 0)
		return 0;
	/* Before Linux 5.9: close what the limit allows. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	for (rlim_t fd = chan < 0 ? 3 : FT__SANDBOX_CHAN_FD + 1;
	     fd < rl.rlim_cur; fd++)
		close((int)fd);
	return 0;
}

/* A line of /proc/self/maps: "lo-hi perms ...": whether it parses, and
 * its range and fourth permission letter ('s' for shared). */
static bool parse_map_line(const char *p, unsigned long *lo, unsigned long *hi,
			   char *kind)
{
	unsigned long v[2] = { 0, 0 };
	for (int i = 0; i < 2; i++) {
		int digits = 0;
		for (;; p++, digits++) {
			int d = *p >= '0' && *p <= '9'   ? *p - '0'
				: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
							 : -1;
			if (d < 0)
				break;
			v[i] = v[i] << 4 | (unsigned long)d;
		}
		if (!digits || *p++ != (i == 0 ? '-' : ' '))
			return false;
	}
	for (int i = 0; i < 4; i++)
		if (!p[i])
			return false;
	*lo = v[0];
	*hi = v[1];
	*kind = p[3];
	return true;
}

/*
 * Unmap every shared mapping (the arena, io_uring rings, the program's
 * own): -errno, or how many were found.  Nothing here allocates (see
 * policy.c): the map is read through a buffer on the stack, line by line,
 * and what a munmap changes under the reading is caught by the next pass.
 */
static long unmap_shared_once(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[4096];
	size_t len = 0;
	long found = 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			found = -errno;
			break;
		}
		len += (size_t)r;
		buf[len] = '\0';
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			unsigned long lo, hi;
			char kind;
			if (parse_map_line(line, &lo, &hi, &kind) && kind == 's') {
				found++;
				munmap((void *)lo, hi - lo);
			}
			line = nl + 1;
		}
		len -= (size_t)(line - buf);
		memmove(buf, line, len);
		if (r == 0 || len == sizeof(buf) - 1)
			break;  /* the end (or a line longer than a page) */
	}
	close(fd);
	return found;
}

static int unmap_shared(void)
{
	for (int pass = 0; pass < 8; pass++) {
		long r = unmap_shared_once();
		if (r <= 0)
			return (int)r;
	}
	return -EBUSY;  /* shared mappings that will not go */
}

/* Default dispositions and an empty mask: the program's handlers are
 * its own, not a worker's. */
static void plain_signals(void)
{
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int ft__sandbox_enter(struct ft_sandbox *sb, int chan,
		      const struct ft_pool_options *o)
{
	plain_signals();
	int r = keep_only_channel(chan);
	if (r == 0)
		r = unmap_shared();
	/* No core file of a copy of the program's memory, and no ptrace
	 * attach by anyone but root. */
	if (r == 0 && prctl(PR_SET_DUMPABLE, 0) < 0)
		r = -errno;
	/* The program's own code, trusted: before the filter. */
	if (r == 0 && o && o->initializer)
		r = o->initializer(o->initarg);
	if (r == 0)
		r = ft__sandbox_filter_load(sb);
	return r < 0 ? r : 0;
}

/* A buffer of at least @len bytes, from mmap: nothing in the child
 * allocates through malloc (policy.c says why). */
static bool grow(char **buf, size_t *cap, size_t len)
{
	if (*buf)
		munmap(*buf, *cap);
	*buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*buf == MAP_FAILED) {
		*buf = NULL;
		*cap = 0;
		return false;
	}
	*cap = len;
	return true;
}

/* Run each request until the proxy closes the channel. */
static _Noreturn void serve(void)
{
	char *in = NULL, *out = NULL;
	size_t in_cap = 0, out_cap = 0;
	for (;;) {
		struct ft__sandbox_req q;
		if (read_all(&q, sizeof(q)) != sizeof(q))
			_exit(0);  /* the proxy is done with us */
		size_t in_len = q.n * q.in_size, out_len = q.n * q.out_size;
		if (in_len > in_cap && !grow(&in, &in_cap, in_len))
			_exit(EXIT_SETUP);  /* the task fails -ESRCH */
		if (out_len > out_cap && !grow(&out, &out_cap, out_len))
			_exit(EXIT_SETUP);
		/* Outputs start zeroed, as everywhere: nothing of an earlier
		 * task's result shows through a partial write. */
		memset(out, 0, out_len);
		if (read_all(in, in_len) != in_len)
			_exit(0);
		ft_task_fn fn = (ft_task_fn)(uintptr_t)q.fn;
		struct ft__sandbox_resp a = { FT__SANDBOX_MAGIC, q.seq, 0, 0 };
		for (uint64_t k = 0; k < q.n; k++) {
			a.code = fn(in + k * q.in_size, out + k * q.out_size);
			if (a.code != 0) {
				a.failed_at = (uint32_t)k;
				break;
			}
		}
		if (write_all(&a, sizeof(a)) != sizeof(a) ||
		    write_all(out, out_len) != out_len)
			_exit(0);
	}
}

_Noreturn void ft__sandbox_child(struct ft_sandbox *sb, int chan,
				 pid_t parent, const struct ft_pool_options *o)
{
	/* Output still buffered is the parent's to write, not ours. */
	__fpurge(stdout);
	__fpurge(stderr);
	/* Die with the proxy thread that forked us (and so with the
	 * program); checked after arming, in case it already died. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(EXIT_SETUP);
	int r = ft__sandbox_enter(sb, chan, o);
	struct ft__sandbox_resp ready = { FT__SANDBOX_MAGIC, 0, r, 0 };
	if (write_all(&ready, sizeof(ready)) != sizeof(ready) || r < 0)
		_exit(EXIT_SETUP);
	serve();
}
