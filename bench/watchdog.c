/* SPDX-License-Identifier: MIT */
/*
 * What the watchdog says before it stops a timed run that took far too
 * long: whether the run's tasks are stuck asleep (a lost wake-up, a
 * deadlock) or still burn CPU (a slow path, a spinning livelock).  A
 * "hang" seen on a machine we cannot reach is only worth a report that
 * tells the two apart.
 *
 * For every thread of this process and of each child process (process
 * workers, fork()ed baselines), it prints the state, the system call the
 * thread is in (/proc/.../syscall: 202 futex, 426 io_uring_enter, 449
 * futex_waitv on x86-64), the kernel function it sleeps in (wchan), and
 * the CPU time it used over SAMPLE_S seconds; then a verdict.
 *
 * Runs in the SIGALRM handler, so only async-signal-safe calls: open,
 * read, close, write, getdents64, nanosleep; no stdio, no malloc.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define SAMPLE_S 2
#define MAX_TASKS 256

struct task {
	int pid, tid;
	uint64_t ticks;   /* utime + stime, first look */
};

static struct task tasks[MAX_TASKS];
static int n_tasks;

/* ---------------------------------------------------- signal-safe output */

struct out {
	char buf[512];
	size_t len;
};

static void put_str(struct out *o, const char *s)
{
	while (*s && o->len < sizeof(o->buf) - 1)
		o->buf[o->len++] = *s++;
}

static void put_num(struct out *o, uint64_t v)
{
	char d[24];
	int n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < (int)sizeof(d));
	while (n && o->len < sizeof(o->buf) - 1)
		o->buf[o->len++] = d[--n];
}

static void flush_line(struct out *o)
{
	o->buf[o->len++] = '\n';
	for (size_t off = 0; off < o->len;) {
		ssize_t w = write(STDERR_FILENO, o->buf + off, o->len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	o->len = 0;
}

/* ------------------------------------------------------------ /proc reads */

static void path_of(char *p, size_t cap, int pid, int tid, const char *leaf)
{
	struct out o = { .len = 0 };

	put_str(&o, "/proc/");
	put_num(&o, (uint64_t)pid);
	if (tid) {
		put_str(&o, "/task/");
		put_num(&o, (uint64_t)tid);
	}
	put_str(&o, "/");
	put_str(&o, leaf);
	o.buf[o.len] = '\0';
	memcpy(p, o.buf, o.len + 1 < cap ? o.len + 1 : cap);
	p[cap - 1] = '\0';
}

/* Read a small /proc file into @buf (NUL-terminated): its length, or -1. */
static ssize_t read_small(int pid, int tid, const char *leaf, char *buf,
			  size_t cap)
{
	char path[96];

	path_of(path, sizeof(path), pid, tid, leaf);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return n;
}

static uint64_t parse_u64(const char **s)
{
	uint64_t v = 0;

	while (**s >= '0' && **s <= '9')
		v = v * 10 + (uint64_t)(*(*s)++ - '0');
	return v;
}

/* From /proc/PID/task/TID/stat: the state letter, the parent pid and
 * utime + stime.  Fields after the command name, which may hold spaces
 * and parentheses, so parsing starts after its last ')'. */
static bool read_stat(int pid, int tid, char *state, int *ppid,
		      uint64_t *ticks)
{
	char buf[1024];

	if (read_small(pid, tid, "stat", buf, sizeof(buf)) < 0)
		return false;
	const char *s = strrchr(buf, ')');
	if (!s || s[1] != ' ')
		return false;
	s += 2;
	*state = *s;
	/* Fields 3.. : state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime. */
	uint64_t f[13] = { 0 };
	for (int i = 0; i < 13 && *s; i++) {
		if (i)
			f[i] = parse_u64(&s);
		while (*s && *s != ' ')
			s++;
		while (*s == ' ')
			s++;
	}
	*ppid = (int)f[1];
	*ticks = f[11] + f[12];
	return true;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Call @fn(pid or tid, arg) for each numeric entry of the directory. */
static void each_number(const char *dir, void (*fn)(int, void *), void *arg)
{
	char buf[4096];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			const char *s = d->d_name;
			if (*s >= '0' && *s <= '9')
				fn((int)parse_u64(&s), arg);
			off += d->d_reclen;
		}
	}
	close(fd);
}

static void add_task(int tid, void *arg)
{
	int pid = *(int *)arg;
	char state;
	int ppid;
	uint64_t ticks;

	if (n_tasks < MAX_TASKS && read_stat(pid, tid, &state, &ppid, &ticks))
		tasks[n_tasks++] = (struct task){ pid, tid, ticks };
}

static void add_process(int pid)
{
	char dir[64];

	path_of(dir, sizeof(dir), pid, 0, "task");
	each_number(dir, add_task, &pid);
}

static void add_if_child(int pid, void *arg)
{
	char state;
	int ppid;
	uint64_t ticks;

	if (read_stat(pid, 0, &state, &ppid, &ticks) && ppid == *(int *)arg)
		add_process(pid);
}

/* -------------------------------------------------------------- the report */

void watchdog_report(const char *case_name, const char *side,
		     unsigned seconds)
{
	struct out o = { .len = 0 };
	int me = getpid();

	put_str(&o, "bench: ");
	put_str(&o, case_name);
	put_str(&o, " [");
	put_str(&o, side);
	put_str(&o, "]: a timed run took far too long (over ");
	put_num(&o, seconds);
	put_str(&o, " s); its threads, sampled over ");
	put_num(&o, SAMPLE_S);
	put_str(&o, " s:");
	flush_line(&o);

	n_tasks = 0;
	add_process(me);
	each_number("/proc", add_if_child, &me);
	struct timespec nap = { .tv_sec = SAMPLE_S };
	while (nanosleep(&nap, &nap) != 0)
		;

	uint64_t busy = 0;
	int running = 0;
	for (int i = 0; i < n_tasks; i++) {
		struct task *t = &tasks[i];
		char state = '?', sc[128] = "?", wchan[64] = "?";
		int ppid;
		uint64_t ticks = t->ticks;
		if (!read_stat(t->pid, t->tid, &state, &ppid, &ticks))
			state = 'X'; /* gone meanwhile */
		read_small(t->pid, t->tid, "syscall", sc, sizeof(sc));
		read_small(t->pid, t->tid, "wchan", wchan, sizeof(wchan));
		char *space = strchr(sc, ' ');
		if (space)
			*space = '\0'; /* the number only, not the arguments */
		uint64_t used = ticks - t->ticks;
		/* The main thread is in this handler, reading /proc. */
		bool reporter = t->tid == me;
		if (!reporter) {
			busy += used;
			running += state == 'R';
		}
		put_str(&o, "  pid ");
		put_num(&o, (uint64_t)t->pid);
		put_str(&o, " tid ");
		put_num(&o, (uint64_t)t->tid);
		put_str(&o, reporter ? " (main, reporting)" : "");
		put_str(&o, " state ");
		o.buf[o.len++] = state;
		put_str(&o, " syscall ");
		put_str(&o, sc);
		put_str(&o, " wchan ");
		put_str(&o, wchan);
		put_str(&o, " cpu ticks ");
		put_num(&o, used);
		flush_line(&o);
	}
	if (busy == 0 && running == 0)
		put_str(&o, "bench: verdict: every thread asleep, no CPU "
			    "used: a deadlock (a lost wake-up?)");
	else {
		put_str(&o, "bench: verdict: ");
		put_num(&o, busy);
		put_str(&o, " CPU ticks used, ");
		put_num(&o, (uint64_t)running);
		put_str(&o, " threads running: still working (slow or "
			    "spinning), not asleep for good");
	}
	flush_line(&o);
}
