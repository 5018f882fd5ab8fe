/* SPDX-License-Identifier: MIT */
/*
 * Memory a burst took comes back: a queue drained after growing its ring
 * goes back to a small ring (src/queue/ring.c, ft__ring_shrink), and the
 * arena merges the freed blocks and gives their pages back to the kernel
 * (src/arena/arena.c); refilled, the queue carves no more than the first
 * time.  Measured by RssShmem (the arena is shared memory)
 * and ft_runtime_info's arena_used.
 */
#include <errno.h>
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
	/* 16 MiB went through; the freed rings and segments merged and
	 * went back below the top, header pages too (arena.c, 5): a page or
	 * two may differ.  Was: 300 KiB and more, a page per freed block. */
	cr_assert_leq(drained - before, 16,
		     "%ld KiB still resident after draining (%ld before)",
		     drained - before, before);

	burst(q);
	cr_assert_eq(arena_used(), used, "a second burst left more carved");
	cr_assert_leq(rss_shmem_kib() - before, 16);
	cr_assert_eq(ft_queue_free(q), 0);
}

/* Message i: its length and bytes follow from i alone. */
static size_t msg_len(size_t i)
{
	return (i * 7919) % 6000;
}

static void msg_fill(char *buf, size_t i)
{
	size_t n = msg_len(i);
	for (size_t k = 0; k < n; k++)
		buf[k] = (char)(i * 31 + k);
}

static void put_range(ft_queue_t *q, size_t from, size_t to)
{
	static char buf[6000];
	for (size_t i = from; i < to; i++) {
		msg_fill(buf, i);
		cr_assert_eq(ft_queue_put(q, buf, msg_len(i), FT_FOREVER), 0);
	}
}

static void get_range(ft_queue_t *q, size_t from, size_t to)
{
	static char buf[6000], want[6000];
	for (size_t i = from; i < to; i++) {
		size_t len;
		cr_assert_eq(ft_queue_get(q, buf, sizeof(buf), &len, FT_FOREVER), 0);
		cr_assert_eq(len, msg_len(i), "message %zu: %zu bytes", i, len);
		msg_fill(want, i);
		cr_assert(memcmp(buf, want, len) == 0, "message %zu garbled", i);
	}
}

/* Rings past 1 MiB are made of 1 MiB segments (src/queue/ring.c).  Grow
 * one while its live bytes wrap around, so that growth both moves whole
 * segments and copies the one the tail shares with the head, with
 * records straddling segment ends; every message must come out whole and
 * in order. */
Test(footprint, segmented_ring_grows_around_a_wrap, .timeout = FT_TEST_TIMEOUT)
{
	ft_queue_t *q = ft_queue_new(0);
	cr_assert_not_null(q);
	size_t put = 0, got = 0;
	/* Each round: fill well past the ring, drain most, so the next
	 * fill wraps before it grows. */
	for (int round = 0; round < 6; round++) {
		size_t n = (size_t)700 << round;  /* ~2 MiB, then doubling */
		put_range(q, put, put + n);
		put += n;
		size_t take = n * 3 / 4;
		get_range(q, got, got + take);
		got += take;
	}
	get_range(q, got, put);
	size_t len;
	char c;
	cr_assert_eq(ft_queue_get(q, &c, 1, &len, 0), -EAGAIN);
	cr_assert_eq(ft_queue_free(q), 0);
}
