/* The shared arena: allocation, handle checks, walking, sharing between
 * workers, exhaustion, and a holder of its lock dying. */
#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "helpers.h"
#include "arena/arena.h"
#include "lockword/lockword.h"

#define TAG_A FT__TAG_SHARED

static void setup(void)
{
	cr_assert_not_null(ft_get_backend()); /* sets up the arena */
}

Test(arena, alloc_is_zeroed_checked_and_distinct, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	unsigned char *a = ft__arena_alloc(100);
	unsigned char *b = ft__arena_alloc(100);

	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert_neq(a, b);
	cr_assert_eq((uintptr_t)a % 16, 0);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(a[i], 0);
	cr_assert_eq(ft__arena_check(a, TAG_A), -EBADF, "unpublished");
	ft__arena_publish(a, TAG_A);
	cr_assert_eq(ft__arena_check(a, TAG_A), 0);
	cr_assert_eq(ft__arena_check(a, FT__TAG_WORKER), -EBADF);
	cr_assert_eq(ft__arena_check(NULL, TAG_A), -EINVAL);
	cr_assert_eq(ft__arena_check(a + 16, TAG_A), -EBADF, "interior");
	cr_assert_eq(ft__arena_check(a + 1, TAG_A), -EBADF, "misaligned");
	int local;
	cr_assert_eq(ft__arena_check(&local, TAG_A), -EBADF, "not arena");
}

Test(arena, free_retires_and_reuses_zeroed, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	unsigned char *a = ft__arena_alloc(200);
	ft__arena_publish(a, TAG_A);
	memset(a, 0xab, 200);
	cr_assert_eq(ft__arena_free(a, TAG_A), 0);
	cr_assert_eq(ft__arena_check(a, TAG_A), -EBADF);
	cr_assert_eq(ft__arena_free(a, TAG_A), -EBADF, "double free");
	cr_assert_eq(ft__arena_free(NULL, TAG_A), -EINVAL);

	unsigned char *b = ft__arena_alloc(200);
	cr_assert_eq(b, a, "same size class reuses the freed block");
	for (int i = 0; i < 200; i++)
		cr_assert_eq(b[i], 0);
}

Test(arena, walk_finds_published_objects, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	void *objs[5];
	for (int i = 0; i < 5; i++) {
		objs[i] = ft__arena_alloc(64 << i);
		ft__arena_publish(objs[i], TAG_A);
	}
	ft__arena_free(objs[2], TAG_A);

	int found[5] = { 0 };
	uint32_t tag;
	for (void *p = ft__arena_next(NULL, &tag); p; p = ft__arena_next(p, &tag))
		for (int i = 0; i < 5; i++)
			if (p == objs[i])
				found[i] = tag == TAG_A ? 1 : -1;
	cr_assert_eq(found[0], 1);
	cr_assert_eq(found[1], 1);
	/* Freed: walked with its FREE tag, or gone with its emptied slab. */
	cr_assert_neq(found[2], 1, "a freed block is walked as live");
	cr_assert_eq(found[3], 1);
	cr_assert_eq(found[4], 1);
}

#define PER_WORKER 500
#define WORKERS 4

struct alloc_report {
	void *ptr[WORKERS][PER_WORKER];
};

static struct alloc_report *report;

static void allocate_many(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < PER_WORKER; i++) {
		int *p = ft__arena_alloc(16 + (size_t)(i % 7) * 40);
		if (!p)
			return;
		p[0] = id;
		p[1] = i;
		ft__arena_publish(p, TAG_A);
		report->ptr[id][i] = p;
	}
}

Test(arena, workers_allocate_concurrently_without_overlap, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_worker_t *w[WORKERS];

	report = ft_test_shared(sizeof(*report));
	for (int i = 0; i < WORKERS; i++) {
		w[i] = ft_worker_new(NULL, allocate_many, (void *)(intptr_t)i, 0);
		cr_assert_not_null(w[i]);
	}
	for (int i = 0; i < WORKERS; i++)
		cr_assert_eq(ft_worker_start(w[i]), 0);
	for (int i = 0; i < WORKERS; i++)
		cr_assert_eq(ft_worker_join(w[i], FT_FOREVER), 0);
	/* Every object made by any worker is visible here, intact. */
	for (int id = 0; id < WORKERS; id++)
		for (int i = 0; i < PER_WORKER; i++) {
			int *p = report->ptr[id][i];
			cr_assert_not_null(p, "worker %d alloc %d", id, i);
			cr_assert_eq(ft__arena_check(p, TAG_A), 0);
			cr_assert_eq(p[0], id);
			cr_assert_eq(p[1], i);
		}
}

Test(arena, full_arena_gives_null_and_keeps_what_it_had,
     .timeout = FT_TEST_TIMEOUT)
{
	struct ft_config cfg = { .arena_size = 1 << 20 };
	unsetenv("FREETHREADING_ARENA_SIZE");
	cr_assert_eq(ft_init(&cfg), 0);

	cr_assert_null(ft__arena_alloc((size_t)1 << 21), "larger than the arena");
	int n = 0;
	int *p, *first = NULL;
	while ((p = ft__arena_alloc(1000))) {
		*p = n++;
		if (!first)
			first = p;
	}
	cr_assert_gt(n, 400);
	cr_assert_eq(*first, 0);
	cr_assert_leq(ft__arena_used(), ft__arena_size());
}

static uint32_t *victim_tid;

static void die_holding_arena_lock(void *arg)
{
	(void)arg;
	int r = ft__lockword_acquire(ft__arena_lockword(), ft__tid(), NULL);
	*victim_tid = (r == 0 || r == -EOWNERDEAD) ? ft__tid() : 0;
	raise(SIGKILL);
}

Test(arena, lock_holder_killed_does_not_deadlock_allocation, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	victim_tid = ft_test_shared(sizeof(*victim_tid));
	ft_worker_t *w = ft_worker_new("victim", die_holding_arena_lock, NULL,
				       FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
	int code = 0;
	cr_assert_eq(ft_worker_exitcode(w, &code), 0);
	cr_assert_eq(code, -SIGKILL);
	cr_assert_neq(*victim_tid, 0, "the victim took the lock");
	/* The supervisor reaped it and freed the word it died holding. */
	cr_assert_not_null(ft__arena_alloc(64));
}

Test(arena, detached_lock_holder_killed_is_freed_without_deadlock, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	victim_tid = ft_test_shared(sizeof(*victim_tid));
	ft_worker_t *w = ft_worker_new("victim", die_holding_arena_lock, NULL,
				       FT_WORKER_PROCESS);
	cr_assert_eq(ft_worker_start(w), 0);
	/* Detached: whoever reaps it frees the record, which needs the very
	 * lock the victim dies holding. */
	cr_assert_eq(ft_worker_free(w), 0);
	for (;;) {
		void *p = ft__arena_alloc(64);
		cr_assert_not_null(p);
		uint32_t tag;
		bool gone = true;
		for (void *q = ft__arena_next(NULL, &tag); q; q = ft__arena_next(q, &tag))
			if (q == (void *)w && tag == FT__TAG_WORKER)
				gone = false;
		if (gone)
			break;
		usleep(1000); /* waiting for the supervisor, bounded by .timeout */
	}
	cr_assert_neq(*victim_tid, 0);
}

/* Memory freed as small blocks of one size serves other sizes: slabs
 * whose blocks are all free go back to the large list (arena.c).  Was:
 * a 64 MiB arena filled with 40-byte objects and emptied could not serve
 * one 4 KiB allocation. */
Test(arena, freed_small_blocks_serve_other_sizes, .timeout = FT_TEST_TIMEOUT)
{
	struct ft_config cfg = { .arena_size = 64 << 20 };
	unsetenv("FREETHREADING_ARENA_SIZE");
	cr_assert_eq(ft_init(&cfg), 0);
	size_t cap = (64 << 20) / 64, n = 0;
	void **v = malloc(cap * sizeof(*v));
	cr_assert_not_null(v);
	while (n < cap && (v[n] = ft__arena_alloc(40)))
		ft__arena_publish(v[n++], TAG_A);
	cr_assert_gt(n, cap / 2 * 9 / 10, "only %zu objects fit", n); /* 128 B each */
	cr_assert_null(ft__arena_alloc(4096), "the arena is full");
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(ft__arena_free(v[i], TAG_A), 0);
	free(v);
	void *a = ft__arena_alloc(4096);
	cr_assert_not_null(a, "4 KiB after emptying an arena of small blocks");
	cr_assert_not_null(ft__arena_alloc(100 << 10), "100 KiB too");
	/* And the small size again, as many as before, near enough. */
	size_t again = 0;
	while (ft__arena_alloc(40))
		again++;
	cr_assert_gt(again, n * 9 / 10, "%zu of %zu", again, n);
}

/* Freed neighbours merge (arena.c, 5): a 64 MiB arena filled with 1 MiB
 * blocks, all but the last freed in an order that merges both ways,
 * serves one block of half the arena; with the last freed too, the arena
 * is back at its first carved size.  Was: freed large blocks served only
 * requests no larger than themselves. */
Test(arena, freed_neighbours_serve_one_larger_block, .timeout = FT_TEST_TIMEOUT)
{
	struct ft_config cfg = { .arena_size = 64 << 20 };
	unsetenv("FREETHREADING_ARENA_SIZE");
	cr_assert_eq(ft_init(&cfg), 0);
	size_t used0 = ft__arena_used();
	void *v[64];
	size_t n = 0;
	while (n < 64 && (v[n] = ft__arena_alloc(1 << 20)))
		ft__arena_publish(v[n++], TAG_A);
	cr_assert_gt(n, 50, "only %zu blocks of 1 MiB", n);
	cr_assert_null(ft__arena_alloc(1 << 20), "the arena is full");
	/* Odd ones first (each stays alone), then even ones (each merges
	 * with the free blocks on both sides); the last block stays, so
	 * the run is not at the top. */
	for (size_t i = 1; i < n - 1; i += 2)
		cr_assert_eq(ft__arena_free(v[i], TAG_A), 0);
	for (size_t i = 0; i < n - 1; i += 2)
		cr_assert_eq(ft__arena_free(v[i], TAG_A), 0);
	void *big = ft__arena_alloc(32 << 20);
	cr_assert_not_null(big, "32 MiB from %zu freed neighbours", n - 1);
	ft__arena_publish(big, TAG_A);
	cr_assert_eq(ft__arena_free(big, TAG_A), 0);
	cr_assert_eq(ft__arena_free(v[n - 1], TAG_A), 0);
	cr_assert_eq(ft__arena_used(), used0, "freed memory at the top goes back");
}

/* A walk that stands on an object freed and merged into its neighbour
 * goes on with the object after it. */
Test(arena, walk_goes_on_past_a_block_merged_away, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	void *l[4];
	for (int i = 0; i < 4; i++) {
		l[i] = ft__arena_alloc(100 << 10);
		cr_assert_not_null(l[i]);
		ft__arena_publish(l[i], TAG_A);
	}
	uint32_t tag;
	void *p = ft__arena_next(NULL, &tag);
	while (p && p != l[1])
		p = ft__arena_next(p, &tag);
	cr_assert_eq(p, l[1], "the walk finds the second block");
	/* l[1] goes on the free list, then l[0] absorbs it. */
	cr_assert_eq(ft__arena_free(l[1], TAG_A), 0);
	cr_assert_eq(ft__arena_free(l[0], TAG_A), 0);
	cr_assert_eq(ft__arena_check(l[1], TAG_A), -EBADF);
	p = ft__arena_next(p, &tag);
	cr_assert_eq(p, l[2], "the walk goes on at the block after");
	cr_assert_eq(tag, TAG_A);
}

/* A process killed anywhere inside the allocator breaks nothing (arena.c,
 * 3): a churning process worker is killed at a different point each
 * round while this one churns too; after each, the allocator's
 * invariants hold (ft__arena_verify), a walk ends, and every size can
 * still be had. */
#define CHURN_LIVE 16
static const size_t churn_sizes[] = { 100, 5000, 70 << 10, 300 << 10,
				      1200 << 10 };
static int *churn_rounds;

static void churn_step(void **live, unsigned *seed)
{
	int k = rand_r(seed) % CHURN_LIVE;
	if (live[k]) {
		cr_assert_eq(ft__arena_free(live[k], TAG_A), 0);
		live[k] = NULL;
	} else if ((live[k] = ft__arena_alloc(churn_sizes[rand_r(seed) % 5]))) {
		ft__arena_publish(live[k], TAG_A);
	}
}

static void churn(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	void *live[CHURN_LIVE] = { 0 };
	for (int i = 1;; i++) {
		churn_step(live, &seed);
		__atomic_store_n(churn_rounds, i, __ATOMIC_RELEASE);
	}
}

Test(arena, killed_inside_the_allocator_breaks_nothing, .init = setup,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	churn_rounds = ft_test_shared(sizeof(*churn_rounds));
	void *mine[CHURN_LIVE] = { 0 };
	unsigned seed = 1;
	for (unsigned r = 0; r < 40; r++) {
		__atomic_store_n(churn_rounds, 0, __ATOMIC_RELEASE);
		ft_worker_t *w = ft_worker_new(NULL, churn, (void *)(uintptr_t)(r + 7),
					       FT_WORKER_PROCESS | FT_WORKER_DAEMON);
		cr_assert_not_null(w);
		cr_assert_eq(ft_worker_start(w), 0);
		cr_assert(ft_test_await_int(churn_rounds, 1 + (int)(r * 37 % 200)),
			  "round %u: the churn did not start", r);
		/* Our own steps, concurrent with its, and a varying delay
		 * before the kill. */
		for (unsigned i = 0; i < (r % 8) * 20; i++)
			churn_step(mine, &seed);
		pid_t pid = (pid_t)ft_worker_ident(w);
		cr_assert_gt(pid, 0);
		cr_assert_eq(kill(pid, SIGKILL), 0);
		cr_assert_eq(ft_worker_join(w, 20.0), 0, "round %u", r);
		cr_assert_eq(ft_worker_free(w), 0);
		cr_assert_eq(ft__arena_verify(), 0, "round %u", r);
		uint32_t tag;
		size_t n = 0;
		for (void *p = ft__arena_next(NULL, &tag); p; p = ft__arena_next(p, &tag))
			n++;
		cr_assert_gt(n, 0);
	}
	for (int k = 0; k < CHURN_LIVE; k++)
		if (mine[k])
			cr_assert_eq(ft__arena_free(mine[k], TAG_A), 0);
	cr_assert_eq(ft__arena_verify(), 0);
	for (size_t i = 0; i < sizeof(churn_sizes) / sizeof(churn_sizes[0]); i++)
		cr_assert_not_null(ft__arena_alloc(churn_sizes[i]));
}
