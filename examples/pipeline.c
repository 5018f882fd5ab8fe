/*
 * A bounded pipeline that survives a crash.  Producers put numbers on a
 * work queue of 8 slots; stage-2 workers take them, square them and put
 * the results on a result queue.  Everyone starts together at a barrier.
 * One stage-2 worker, "crasher", always runs as a process (so its crash
 * cannot take the program down, whatever the backend) and dies of
 * SIGSEGV after a few items.  Main notices with ft_worker_wait, sets a
 * stop flag (guarded by a condition over an RLock, so it also wakes the
 * producers sleeping on it), shuts both queues down so that every worker
 * blocked in a put or a get returns -ESHUTDOWN, and joins the rest.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <freethreading.h>

#define NPRODUCERS 2
#define NSTAGE2 3        /* the last of them is the crasher */
#define NWORKERS (NPRODUCERS + NSTAGE2)
#define CRASH_AFTER 5    /* items the crasher handles before it dies */
#define PACE 0.001       /* seconds between two items of a producer */
#define WORK_US 2000     /* microseconds of "work" per item in stage 2 */
#define PATIENCE 30.0    /* seconds main waits before it gives up */

struct result {
	long long item, square;
};

static bool *stop;             /* in the arena; guarded by cond */
static ft_condition_t *cond;   /* over an RLock */
static ft_barrier_t *start;
static ft_queue_t *work;       /* producers -> stage 2, 8 slots */
static ft_queue_t *results;    /* stage 2 -> main */

/* Report a failed call and end the calling worker (the program, in main). */
static void die(const char *what, int err)
{
	fprintf(stderr, "pipeline: %s: %s\n", what, ft_strerror(err));
	ft_worker_exit(1);
}

static void lock(void)
{
	/* -EOWNERDEAD: a holder died; a lone bool cannot be torn, go on. */
	int err = ft_condition_acquire(cond, PATIENCE);

	if (err && err != -EOWNERDEAD)
		die("ft_condition_acquire", err);
}

static void unlock(void)
{
	int err = ft_condition_release(cond);

	if (err)
		die("ft_condition_release", err);
}

/* Sleep up to @pause seconds, or until told to stop; true if told. */
static bool stopping(double pause)
{
	bool told;

	lock();
	if (!*stop && pause > 0) {
		int err = ft_condition_wait(cond, pause);

		if (err && err != -ETIMEDOUT && err != -EOWNERDEAD)
			die("ft_condition_wait", err);
	}
	told = *stop;
	unlock();
	return told;
}

static void start_together(void)
{
	int err = ft_barrier_wait(start, FT_FOREVER);

	if (err < 0)
		die("ft_barrier_wait", err);
}

static int producer(void *arg)
{
	long long item = (intptr_t)arg * 1000000;

	start_together();
	while (!stopping(PACE)) {
		int err = ft_queue_put(work, &item, sizeof(item), FT_FOREVER);

		if (err == -ESHUTDOWN) /* stopping: nobody takes work now */
			break;
		if (err)
			die("ft_queue_put", err);
		item++;
	}
	return 0;
}

static int stage2(void *arg)
{
	int crash_after = (int)(intptr_t)arg, done = 0;

	if (crash_after) {
		/* No core file for the crash to come, and the default action
		 * (a sanitizer's SIGSEGV handler would report and exit 1). */
		struct rlimit none = { 0, 0 };

		if (setrlimit(RLIMIT_CORE, &none))
			die("setrlimit", errno);
		signal(SIGSEGV, SIG_DFL);
	}
	start_together();
	while (!stopping(0)) {
		struct result r;
		size_t len;
		int err = ft_queue_get(work, &r.item, sizeof(r.item), &len,
				       FT_FOREVER);

		if (err == -ESHUTDOWN) /* shut down and empty */
			break;
		if (err)
			die("ft_queue_get", err);
		usleep(WORK_US);
		r.square = r.item * r.item;
		err = ft_queue_put(results, &r, sizeof(r), FT_FOREVER);
		if (err == -ESHUTDOWN)
			break;
		if (err)
			die("ft_queue_put", err);
		if (++done == crash_after)
			raise(SIGSEGV);
	}
	return 0;
}

int main(void)
{
	static const char *const names[NWORKERS] = {
		"producer-1", "producer-2", "stage2-1", "stage2-2", "crasher",
	};
	ft_worker_t *workers[NWORKERS];
	bool ended[NWORKERS];
	ft_rlock_t *rlock;
	struct result r;
	size_t len;
	int err, code, joined = 0, bad = 0, status = 0;

	stop = ft_shared_alloc(sizeof(*stop));
	if (!stop)
		die("ft_shared_alloc", errno);
	if (!(rlock = ft_rlock_new()) || !(cond = ft_condition_new(rlock)))
		die("ft_rlock_new/ft_condition_new", errno);
	if (!(start = ft_barrier_new(NWORKERS + 1, NULL, NULL, PATIENCE)))
		die("ft_barrier_new", errno);
	if (!(work = ft_queue_new(8)) || !(results = ft_queue_new(0)))
		die("ft_queue_new", errno);

	for (int i = 0; i < NWORKERS; i++) {
		bool crasher = i == NWORKERS - 1;
		/* Producer number; for stage 2, when to crash (0: never). */
		intptr_t arg = i < NPRODUCERS ? i + 1 :
			       crasher ? CRASH_AFTER : 0;

		workers[i] = ft_worker_new(names[i],
					   i < NPRODUCERS ? producer : stage2,
					   (void *)arg,
					   crasher ? FT_WORKER_PROCESS : 0);
		if (!workers[i])
			die("ft_worker_new", errno);
		if ((err = ft_worker_start(workers[i])))
			die("ft_worker_start", err);
	}
	start_together();
	printf("%d producers and %d stage-2 workers started\n",
	       NPRODUCERS, NSTAGE2);

	/* Until one of them ends with a non-zero code or a signal. */
	err = ft_worker_wait(workers, NWORKERS, FT_FIRST_EXCEPTION, PATIENCE,
			     ended);
	if (err < 0)
		die("ft_worker_wait", err);
	if (err == 0) {
		fprintf(stderr, "pipeline: no crash in %g s\n", PATIENCE);
		status = 1;
	}
	for (int i = 0; i < NWORKERS; i++) {
		if (!ended[i])
			continue;
		if ((err = ft_worker_exitcode(workers[i], &code)))
			die("ft_worker_exitcode", err);
		if (code < 0)
			printf("worker '%s' died: signal %d\n",
			       ft_worker_name(workers[i]), -code);
		else
			printf("worker '%s' ended: exit code %d\n",
			       ft_worker_name(workers[i]), code);
		if (i != NWORKERS - 1 || code != -SIGSEGV) {
			fprintf(stderr, "pipeline: only 'crasher' should die, "
				"of SIGSEGV\n");
			status = 1;
		}
	}

	/* Stop: raise the flag and wake whoever sleeps on it... */
	lock();
	*stop = true;
	if ((err = ft_condition_notify_all(cond)))
		die("ft_condition_notify_all", err);
	unlock();
	/* ...and whoever waits in a put or a get (queued work is dropped). */
	if ((err = ft_queue_shutdown(work, true)) ||
	    (err = ft_queue_shutdown(results, false)))
		die("ft_queue_shutdown", err);
	printf("stop flag set, queues shut down\n");

	for (int i = 0; i < NWORKERS; i++) {
		if ((err = ft_worker_join(workers[i], PATIENCE)))
			die("ft_worker_join", err);
		if ((err = ft_worker_exitcode(workers[i], &code)))
			die("ft_worker_exitcode", err);
		if (i == NWORKERS - 1)
			continue;
		if (code != 0) {
			fprintf(stderr, "pipeline: '%s' failed (%d)\n",
				names[i], code);
			status = 1;
		}
		joined++;
	}

	/* What was done before the stop, until -ESHUTDOWN says no more. */
	while (!(err = ft_queue_get_nowait(results, &r, sizeof(r), &len)))
		if (len != sizeof(r) || r.square != r.item * r.item)
			bad++;
	if (err != -ESHUTDOWN)
		die("ft_queue_get_nowait", err);
	if (bad) {
		fprintf(stderr, "pipeline: %d bad results\n", bad);
		status = 1;
	} else {
		printf("all results correct\n");
	}
	if (status == 0)
		printf("pipeline stopped cleanly: %d workers joined\n", joined);
	else
		fprintf(stderr, "pipeline: stopped, with the errors above\n");

	for (int i = 0; i < NWORKERS; i++)
		if ((err = ft_worker_free(workers[i])))
			die("ft_worker_free", err);
	if ((err = ft_queue_free(work)) || (err = ft_queue_free(results)))
		die("ft_queue_free", err);
	if ((err = ft_barrier_free(start)) || (err = ft_condition_free(cond)) ||
	    (err = ft_rlock_free(rlock)) || (err = ft_shared_free(stop)))
		die("free", err);
	return status;
}
