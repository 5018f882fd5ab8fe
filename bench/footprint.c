/* SPDX-License-Identifier: MIT */
/*
 * Memory, not time: what a queue holding 64 MiB of messages costs the
 * arena, and what stays resident once it is drained (issue 10, item 3).
 * For 8-byte, 64-byte and 4 KiB messages, one unbounded Queue is filled
 * with 64 MiB of payload by one producer (nobody consumes), then drained.
 *
 *   arena/payload   growth of the arena's carved bytes (ft_runtime_info's
 *                   arena_used) over the payload bytes
 *   resident        RssShmem of /proc/self/status (the arena's pages are
 *                   shared memory): before filling (the queue made and
 *                   one message through it), full, and drained
 *
 * Goals: arena/payload <= 1.3 (64 B, 4 KiB), <= 2 (8 B); drained within
 * 10% of before.  Each size runs in a child process of its own, so one
 * size's freed memory does not serve the next.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "freethreading.h"

#define PAYLOAD ((size_t)64 << 20)

static long rss_shmem_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssShmem: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static size_t arena_used(void)
{
	struct ft_runtime_info info;
	if (ft_runtime_info(&info) < 0)
		return 0;
	return info.arena_used;
}

static int measure(size_t msg, double goal)
{
	char *buf = calloc(1, msg);
	if (!buf)
		return 1;
	ft_queue_t *q = ft_queue_new(0);
	if (!q) {
		perror("ft_queue_new");
		return 1;
	}
	size_t len0;
	if (ft_queue_put(q, buf, msg, FT_FOREVER) < 0 ||
	    ft_queue_get(q, buf, msg, &len0, FT_FOREVER) < 0)
		return 1;
	long rss0 = rss_shmem_kib();
	size_t used0 = arena_used();
	size_t n = PAYLOAD / msg;
	for (size_t i = 0; i < n; i++) {
		memcpy(buf, &i, msg < sizeof(i) ? msg : sizeof(i));
		int r = ft_queue_put(q, buf, msg, FT_FOREVER);
		if (r < 0) {
			fprintf(stderr, "put %zu of %zu: %s\n", i, n, strerror(-r));
			return 1;
		}
	}
	size_t used1 = arena_used();
	long rss1 = rss_shmem_kib();
	for (size_t i = 0; i < n; i++) {
		size_t len;
		int r = ft_queue_get(q, buf, msg, &len, FT_FOREVER);
		if (r < 0 || len != msg || memcmp(buf, &i, msg < sizeof(i) ? msg : sizeof(i))) {
			fprintf(stderr, "get %zu: %s\n", i, r < 0 ? strerror(-r) : "wrong message");
			return 1;
		}
	}
	long rss2 = rss_shmem_kib();
	double ratio = (double)(used1 - used0) / (double)(n * msg);
	double drained = rss0 > 0 ? (double)rss2 / (double)rss0 : 0;
	printf("%-8zu %10zu %8.2f %6s %4s %10ld %10ld %10ld %8.2f %6s %4s\n", msg, n,
	       ratio, goal == 2.0 ? "<=2" : "<=1.3", ratio <= goal ? "yes" : "NO",
	       rss0, rss1, rss2, drained, "<=1.10", drained <= 1.10 ? "yes" : "NO");
	fflush(stdout);
	ft_queue_free(q);
	free(buf);
	return 0;
}

int main(void)
{
	static const struct { size_t msg; double goal; } cases[] = {
		{ 8, 2.0 }, { 64, 1.3 }, { 4096, 1.3 },
	};
	/* The arena is made in each child: not here, where they would all
	 * share (and reuse) one. */
	const char *b = getenv("FREETHREADING_BACKEND");
	printf("backend %s, 64 MiB of payload per queue\n", b && *b ? b : "default");
	printf("%-8s %10s %8s %6s %4s %10s %10s %10s %8s %6s %4s\n", "msg B",
	       "messages", "arena/pl", "goal", "met", "rss0 KiB", "full KiB",
	       "drained", "drn/rss0", "goal", "met");
	fflush(stdout);
	int status = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0)
			_exit(measure(cases[i].msg, cases[i].goal));
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			status = 1;
	}
	return status;
}
