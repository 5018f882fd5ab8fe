/*
 * Shared state under an RLock.  Counters live in memory from
 * ft_shared_alloc, so every worker sees the same ones, thread or process.
 * Each increment takes the RLock, then calls a helper that takes it
 * again: an RLock lets its owner do that.
 *
 * On the side, counter-1 makes a Lock of its own, takes it and sends the
 * handle to counter-2 through a queue: handles live in the shared arena,
 * so one made by any worker, at any time, is valid in all of them.  A
 * Lock has no owner, so counter-2 may release the Lock counter-1 took.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <freethreading.h>

#define NWORKERS 4
#define ITERS 10000
#define PATIENCE 30.0 /* seconds anyone waits before it gives up */

struct counters {
	long total;
	long per_worker[NWORKERS];
	bool handed_over_held;  /* counter-2 found counter-1's Lock held */
	bool got_it_back;       /* counter-1 took it again once released */
};

static struct counters *shared; /* guarded by guard */
static ft_rlock_t *guard;
static ft_queue_t *handoff;     /* carries one ft_lock_t * */

/* Report a failed call and end the calling worker (the program, in main). */
static void die(const char *what, int err)
{
	fprintf(stderr, "shared_state: %s: %s\n", what, ft_strerror(err));
	ft_worker_exit(1);
}

static void take(void)
{
	int err = ft_rlock_acquire(guard, PATIENCE);

	if (err)
		die("ft_rlock_acquire", err);
}

static void give(void)
{
	int err = ft_rlock_release(guard);

	if (err)
		die("ft_rlock_release", err);
}

/* Called with guard held: taking it again only counts one level more. */
static void bump_total(void)
{
	take();
	shared->total++;
	give();
}

static void add_one(int id)
{
	take();
	shared->per_worker[id]++;
	bump_total();
	give();
}

/* counter-1: make a Lock, take it, and send it to counter-2. */
static void hand_over(void)
{
	ft_lock_t *lock = ft_lock_new();
	int err;

	if (!lock)
		die("ft_lock_new", errno);
	if ((err = ft_lock_acquire(lock, PATIENCE)))
		die("ft_lock_acquire", err);
	/* The message is the handle itself: the pointer's value. */
	if ((err = ft_queue_put(handoff, &lock, sizeof(lock), PATIENCE)))
		die("ft_queue_put", err);
	/* Held by us until counter-2 releases it: this waits for that. */
	if ((err = ft_lock_acquire(lock, PATIENCE)))
		die("ft_lock_acquire", err);
	take();
	shared->got_it_back = true;
	give();
	if ((err = ft_lock_release(lock)) || (err = ft_lock_free(lock)))
		die("ft_lock_release/free", err);
}

/* counter-2: receive counter-1's Lock, still held, and release it. */
static void take_over(void)
{
	ft_lock_t *lock;
	size_t len;
	int err, held;

	err = ft_queue_get(handoff, &lock, sizeof(lock), &len, PATIENCE);
	if (err || len != sizeof(lock))
		die("ft_queue_get", err ? err : -EMSGSIZE);
	if ((held = ft_lock_locked(lock)) < 0)
		die("ft_lock_locked", held);
	take();
	shared->handed_over_held = held;
	give();
	if ((err = ft_lock_release(lock)))
		die("ft_lock_release", err);
}

static int counter(void *arg)
{
	int id = (int)(intptr_t)arg;

	if (id == 0)
		hand_over();
	else if (id == 1)
		take_over();
	for (int i = 0; i < ITERS; i++)
		add_one(id);
	return 0;
}

int main(void)
{
	ft_worker_t *workers[NWORKERS];
	int err, code, status = 0;

	shared = ft_shared_alloc(sizeof(*shared));
	if (!shared)
		die("ft_shared_alloc", errno);
	if (!(guard = ft_rlock_new()))
		die("ft_rlock_new", errno);
	if (!(handoff = ft_queue_new(1)))
		die("ft_queue_new", errno);

	for (int i = 0; i < NWORKERS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "counter-%d", i + 1);
		workers[i] = ft_worker_new(name, counter, (void *)(intptr_t)i,
					   0);
		if (!workers[i])
			die("ft_worker_new", errno);
		if ((err = ft_worker_start(workers[i])))
			die("ft_worker_start", err);
	}
	for (int i = 0; i < NWORKERS; i++) {
		if ((err = ft_worker_join(workers[i], PATIENCE)))
			die("ft_worker_join", err);
		if ((err = ft_worker_exitcode(workers[i], &code)))
			die("ft_worker_exitcode", err);
		if (code != 0) {
			fprintf(stderr, "shared_state: %s failed (%d)\n",
				ft_worker_name(workers[i]), code);
			return 1;
		}
		if ((err = ft_worker_free(workers[i])))
			die("ft_worker_free", err);
	}

	/* Every worker has ended: no lock needed to read the counters. */
	printf("%d workers x %d increments, each under an RLock taken twice\n",
	       NWORKERS, ITERS);
	for (int i = 0; i < NWORKERS; i++) {
		printf("  counter-%d: %ld\n", i + 1, shared->per_worker[i]);
		if (shared->per_worker[i] != ITERS)
			status = 1;
	}
	printf("total: %ld (expected %d)\n", shared->total, NWORKERS * ITERS);
	if (shared->total != NWORKERS * ITERS)
		status = 1;
	if (shared->handed_over_held && shared->got_it_back)
		printf("counter-1's Lock reached counter-2 held, "
		       "and counter-2 released it\n");
	else
		status = 1;
	if (status)
		fprintf(stderr, "shared_state: the shared state is wrong\n");

	if ((err = ft_queue_free(handoff)) || (err = ft_rlock_free(guard)) ||
	    (err = ft_shared_free(shared)))
		die("free", err);
	return status;
}
