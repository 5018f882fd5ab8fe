/* SPDX-License-Identifier: MIT */
/*
 * The work, and where it runs.  Trial division by 6k +- 1 up to the
 * square root: plain CPU work, about 5 s for the largest 64-bit prime on
 * a 2020s core, 1 s for 10^18 + 3.  It runs in sandboxed worker processes
 * whatever FREETHREADING_BACKEND says: a computation that crashes, or a
 * worker the OOM killer or an operator kills, costs that worker (the
 * executor replaces it), never the server, and its number is tried again.
 */
#include <errno.h>
#include <inttypes.h>
#include <unistd.h>

#include "server.h"

/* A number whose workers keep dying is not the workers' bad luck. */
#define MAX_ATTEMPTS 3

struct query {
	uint64_t n;
};

struct reply {
	uint32_t verdict; /* enum verdict */
};

static enum verdict classify(uint64_t n)
{
	if (n < 2)
		return VERDICT_NEITHER;
	if (n < 4)
		return VERDICT_PRIME;
	if (n % 2 == 0 || n % 3 == 0)
		return VERDICT_COMPOSITE;
	/* d <= n / d is d * d <= n without overflow. */
	for (uint64_t d = 5; d <= n / d; d += 6)
		if (n % d == 0 || n % (d + 2) == 0)
			return VERDICT_COMPOSITE;
	return VERDICT_PRIME;
}

/* The task, in a worker process.  The debug line names the worker, so an
 * operator (or the test) can tell which process works on which number. */
static int test_primality(const void *in, void *out)
{
	const struct query *q = in;
	struct reply *r = out;

	log_line(LOG_DEBUG, "worker %d: testing %" PRIu64, (int)getpid(), q->n);
	r->verdict = classify(q->n);
	return 0;
}

/* Runs first in each worker, replacements included: the journal shows
 * which processes serve, and when one was replaced. */
static int announce_worker(void *arg)
{
	(void)arg;
	log_line(LOG_INFO, "worker %d ready", (int)getpid());
	return 0;
}

/*
 * The one place the executor's options are made.  Each worker is a
 * sandboxed process (ft_sandbox(3)): it keeps no shared memory, and once
 * its initializer has run it can only compute and write to stderr, so a
 * number that found a bug in the work cannot turn it against the server.
 * A refused call kills the worker; its number is tried again.
 */
ft_executor_t *prime_executor_new(int workers)
{
	struct ft_pool_options opt = {
		.initializer = announce_worker,
	};
	ft_sandbox_t *sandbox = ft_sandbox_new(FT_SANDBOX_STRICT,
					       FT_SANDBOX_DENY_KILL);
	ft_executor_t *ex;
	int err;

	if (!sandbox)
		return NULL;
	opt.sandbox = sandbox;
	ex = ft_executor_new(workers, &opt);
	err = errno;
	ft_sandbox_free(sandbox);  /* the executor keeps its own copy */
	errno = err;
	return ex;
}

static int submit(struct prime_job *job, ft_executor_t *ex)
{
	struct query q = { .n = job->n };

	job->attempts++;
	job->future = ft_executor_submit(ex, test_primality, &q, sizeof(q),
					 sizeof(struct reply));
	return job->future ? 0 : -errno;
}

int prime_job_submit(struct prime_job *job, ft_executor_t *ex, uint64_t n)
{
	*job = (struct prime_job){ .n = n };
	return submit(job, ex);
}

bool prime_job_done(const struct prime_job *job)
{
	return ft_future_done(job->future) == 1;
}

void prime_job_abandon(struct prime_job *job)
{
	int err;

	if (!job->future)
		return;
	err = ft_future_free(job->future);
	if (err)
		log_line(LOG_WARNING, "ft_future_free: %s", ft_strerror(err));
	job->future = NULL;
}

int prime_job_finish(struct prime_job *job, ft_executor_t *ex,
		     enum verdict *verdict)
{
	for (;;) {
		struct reply r;
		int err = ft_future_result(job->future, &r, FT_FOREVER);

		prime_job_abandon(job);
		/* A worker's output is checked like any input: a worker
		 * may be broken, or (sandboxed) not trusted at all. */
		if (err == 0 && r.verdict > VERDICT_COMPOSITE)
			err = -EPROTO;
		if (err == 0) {
			*verdict = (enum verdict)r.verdict;
			return 0;
		}
		if (err != -ESRCH || job->attempts >= MAX_ATTEMPTS) {
			log_line(LOG_ERR, "testing %" PRIu64 ": %s", job->n,
				 ft_strerror(err));
			return err;
		}
		log_line(LOG_WARNING, "a worker died testing %" PRIu64
			 "; submitting it again (attempt %u of %d)", job->n,
			 job->attempts + 1, MAX_ATTEMPTS);
		err = submit(job, ex);
		if (err) {
			log_line(LOG_ERR, "testing %" PRIu64 ": %s", job->n,
				 ft_strerror(err));
			return err;
		}
	}
}
