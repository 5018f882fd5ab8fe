/* SPDX-License-Identifier: MIT */
/* Two-worker cases: the partner's life around each timed run (harness.h). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdalign.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <freethreading.h>

#include "harness.h"

/* Seconds a partner may take to start (or be joined) before we give up. */
#define START_TIMEOUT_S 30.0

struct pair {
	uint32_t ready;         /* partner -> main: waiting at the start */
	uint32_t go;            /* main -> partner: start the loop */
	uint32_t done;          /* partner -> main: loop finished */
	enum pair_kind kind;
	const struct pair_ops *ops;
	uint64_t n_total;       /* operations of this run */
	uint64_t n_partner;     /* the partner's share */
	size_t map_size;
	ft_worker_t *w;         /* the partner, by kind */
	pthread_t th;
	pid_t pid;
	cpu_set_t main_mask;    /* the main thread's, restored after a run */
	alignas(64) unsigned char state[];
};

static enum pin pin_mode = PIN_NONE;
static int pin_cpu[2]; /* main's, partner's */
static char pin_desc[96];

const char *pair_placement(enum pin mode)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		fail("sched_getaffinity", -errno);
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			pin_cpu[n++] = c;
	if (mode == PIN_SPLIT && n < 2)
		mode = PIN_NONE;
	if (mode == PIN_SAME)
		pin_cpu[1] = pin_cpu[0];
	pin_mode = mode;
	if (mode == PIN_NONE)
		snprintf(pin_desc, sizeof(pin_desc), "not pinned");
	else
		snprintf(pin_desc, sizeof(pin_desc),
			 "main worker on CPU %d, partner on CPU %d",
			 pin_cpu[0], pin_cpu[1]);
	return pin_desc;
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		fail("sched_setaffinity", -errno);
}

static void partner_body(struct pair *p)
{
	if (pin_mode != PIN_NONE)
		pin_self(pin_cpu[1]);
	flag_set(&p->ready);
	flag_wait(&p->go, 0, "start flag");
	int r = p->ops->partner_loop(p->state, p->n_partner);
	if (r < 0)
		fail("partner loop", r);
	flag_set(&p->done);
}

static void ft_entry(void *arg)
{
	partner_body(arg);
}

static void *pthread_entry(void *arg)
{
	partner_body(arg);
	return NULL;
}

int pair_setup(const void *arg, void **ctx)
{
	const struct pair_arg *a = arg;
	size_t size = sizeof(struct pair) + a->ops->state_size;
	struct pair *p = shared_map(size);

	p->map_size = size;
	p->kind = a->kind;
	p->ops = a->ops;
	if (p->ops->init) {
		int r = p->ops->init(p->state);
		if (r < 0)
			return r;
	}
	*ctx = p;
	return 0;
}

static void start_ft(struct pair *p, unsigned flags)
{
	p->w = ft_worker_new("bench-partner", ft_entry, p, flags);
	if (!p->w)
		fail("ft_worker_new", -errno);
	int r = ft_worker_start(p->w);
	if (r < 0)
		fail("ft_worker_start", r);
}

int pair_before(void *ctx, uint64_t n)
{
	struct pair *p = ctx;
	int r;

	p->ready = p->go = p->done = 0;
	p->n_total = n;
	p->n_partner = p->ops->split ? n / 2 : n;
	if (p->ops->reset && (r = p->ops->reset(p->state)) < 0)
		return r;
	if (pin_mode != PIN_NONE) {
		if (sched_getaffinity(0, sizeof(p->main_mask), &p->main_mask))
			fail("sched_getaffinity", -errno);
		pin_self(pin_cpu[0]);
	}
	switch (p->kind) {
	case PAIR_FT_THREAD:
		start_ft(p, FT_WORKER_THREAD);
		break;
	case PAIR_FT_PROCESS:
		start_ft(p, FT_WORKER_PROCESS);
		break;
	case PAIR_PTHREAD:
		r = pthread_create(&p->th, NULL, pthread_entry, p);
		if (r != 0)
			fail("pthread_create", -r);
		break;
	case PAIR_FORK: {
		fflush(stdout); /* nothing printed twice */
		/* Not straight into p->pid: *p is shared memory, and the
		 * child's 0 could land after the parent's pid. */
		pid_t pid = fork();
		if (pid < 0)
			fail("fork", -errno);
		if (pid == 0) {
			/* Die with the main process, as process workers do. */
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
				fail("prctl(PR_SET_PDEATHSIG)", -errno);
			partner_body(p);
			_exit(0);
		}
		p->pid = pid;
		break;
	}
	}
	flag_wait(&p->ready, START_TIMEOUT_S, "partner start");
	return 0;
}

int pair_run(void *ctx, uint64_t n)
{
	struct pair *p = ctx;

	flag_set(&p->go);
	int r = p->ops->main_loop(p->state, n - (p->ops->split ? n / 2 : 0));
	if (r < 0)
		return r;
	flag_wait(&p->done, 0, "partner loop");
	return 0;
}

int pair_after(void *ctx)
{
	struct pair *p = ctx;
	int r, code;

	switch (p->kind) {
	case PAIR_FT_THREAD:
	case PAIR_FT_PROCESS:
		r = ft_worker_join(p->w, START_TIMEOUT_S);
		if (r < 0)
			fail("ft_worker_join", r);
		r = ft_worker_exitcode(p->w, &code);
		if (r < 0)
			fail("ft_worker_exitcode", r);
		if (code != 0)
			fail_msg("partner worker ended with %d, not 0", code);
		r = ft_worker_free(p->w);
		if (r < 0)
			fail("ft_worker_free", r);
		break;
	case PAIR_PTHREAD:
		r = pthread_join(p->th, NULL);
		if (r != 0)
			fail("pthread_join", -r);
		break;
	case PAIR_FORK: {
		pid_t w;
		while ((w = waitpid(p->pid, &code, 0)) < 0 && errno == EINTR)
			;
		if (w < 0)
			fail("waitpid", -errno);
		if (!WIFEXITED(code) || WEXITSTATUS(code) != 0)
			fail_msg("partner child ended with status %#x", code);
		break;
	}
	}
	if (pin_mode != PIN_NONE &&
	    sched_setaffinity(0, sizeof(p->main_mask), &p->main_mask) != 0)
		fail("sched_setaffinity", -errno);
	if (p->ops->check)
		return p->ops->check(p->state, p->n_total);
	return 0;
}

void pair_teardown(void *ctx)
{
	struct pair *p = ctx;

	if (p->ops->fini)
		p->ops->fini(p->state);
	shared_unmap(p, p->map_size);
}
