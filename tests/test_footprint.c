/* SPDX-License-Identifier: MIT */
/*
 * Memory a burst took comes back: a queue drained after growing its ring
 * goes back to a small ring (src/queue/ring.c, ft__ring_shrink), and the
 * arena gives a freed large block's pages back to the kernel
 * (src/arena/arena.c); refilled, the queue reuses the freed rings instead
 * of carving new ones.  Measured by RssShmem (the arena is shared memory)
 * and ft_runtime_info's arena_used.
 */
#include <stdio.h>
#include <string.h>

#include "helpers.h"

#define BURST ((size_t)16 << 20)
#define MSG 4096

static long rss_shmem_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssShmem: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static size_t arena_used(void)
{
	struct ft_runtime_info info;
	cr_assert_eq(ft_runtime_info(&info), 0);
	return info.arena_used;
}

static void burst(ft_queue_t *q)
{
	static char buf[MSG];
	size_t len;
	for (size_t i = 0; i < BURST / MSG; i++) {
		memcpy(buf, &i, sizeof(i));
		cr_assert_eq(ft_queue_put(q, buf, MSG, FT_FOREVER), 0);
	}
	for (size_t i = 0; i < BURST / MSG; i++) {
		cr_assert_eq(ft_queue_get(q, buf, MSG, &len, FT_FOREVER), 0);
		cr_assert_eq(len, MSG);
		size_t j;
		memcpy(&j, buf, sizeof(j));
		cr_assert_eq(j, i, "message %zu came as %zu", i, j);
	}
}

Test(footprint, drained_queue_gives_its_memory_back, .timeout = FT_TEST_TIMEOUT)
{
	ft_queue_t *q = ft_queue_new(0);
	cr_assert_not_null(q);
	char one[MSG] = { 0 };
	size_t len;
	cr_assert_eq(ft_queue_put(q, one, MSG, 0), 0);
	cr_assert_eq(ft_queue_get(q, one, MSG, &len, 0), 0);
	long before = rss_shmem_kib();

	burst(q);
	long drained = rss_shmem_kib();
	size_t used = arena_used();
	/* 16 MiB went through; a few pages stay (the small ring, the
	 * header page of each freed ring). */
	cr_assert_lt(drained - before, 1024,
		     "%ld KiB still resident after draining (%ld before)",
		     drained - before, before);

	burst(q);
	cr_assert_eq(arena_used(), used, "a second burst carved new rings");
	cr_assert_lt(rss_shmem_kib() - before, 1024);
	cr_assert_eq(ft_queue_free(q), 0);
}
