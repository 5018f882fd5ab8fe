/* SPDX-License-Identifier: MIT */
/*
 * The libfreethreading benchmark: every case runs our call and its
 * plain-Linux baseline in the same process, and reports the ratio against
 * a goal.  Speed requirements live here, never in the unit tests.
 *
 * Usage: bench [--json] [--filter SUBSTRING] [--quick] [--time SECONDS]
 *              [--reps N] [--list]
 *
 * The backend is FREETHREADING_BACKEND's, as for any program; cases that
 * need a given worker kind force it with FT_WORKER_THREAD/FT_WORKER_PROCESS
 * so that they run, and compare the same thing, under either backend.
 *
 * Method, per case: each side runs once as a warm-up, then its iteration
 * count is calibrated so that one timed run takes about --time seconds
 * (0.3 by default).  The sides are then timed --reps times (5), interleaved
 * ours/baseline/baseline/ours/..., the first side alternating, and the
 * median of each side is reported.  Any failing call aborts the run: a
 * number is only printed for work that was done.
 *
 * Adding a case: write two struct side (setup/run/teardown; only run is
 * required) and one line in cases[].  run(ctx, n) does n operations and
 * returns 0 or a negative errno (after fail(), if it wants to say more).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <freethreading.h>

#define MAX_REPS 99

/* ---------------------------------------------------------------- harness */

/* What a case reports per side; the ratio is always ours / baseline. */
enum metric {
	NS_PER_OP, /* latency: lower is better, goal is usually "<=" */
	OPS_PER_S, /* throughput: higher is better, goal is usually ">=" */
};

enum goal_dir {
	AT_MOST,  /* met when ratio <= goal */
	AT_LEAST, /* met when ratio >= goal */
};

struct side {
	int (*setup)(void **ctx);       /* optional */
	int (*run)(void *ctx, uint64_t n);
	void (*teardown)(void *ctx);    /* optional */
};

struct bench_case {
	const char *name;
	const char *baseline_name; /* what the baseline is, for the reader */
	struct side ours, baseline;
	enum metric metric;
	enum goal_dir dir;
	double goal;
};

struct result {
	const struct bench_case *c;
	uint64_t iters[2];         /* [0] ours, [1] baseline */
	double ns[2][MAX_REPS];    /* ns per op, per repetition */
	double median[2];          /* in the case's metric */
	double ratio;
	double spread;             /* widest (max-min)/median of the sides */
	bool met;
};

static const char *current_case = "";
static const char *current_side = "";

static _Noreturn void fail(const char *what, int err)
{
	fflush(stdout);
	if (*current_side)
		fprintf(stderr, "bench: %s [%s]: ", current_case, current_side);
	else
		fprintf(stderr, "bench: ");
	fprintf(stderr, "%s failed: %s\n", what, ft_strerror(err));
	exit(2);
}

static _Noreturn void fail_msg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "bench: %s [%s]: ", current_case, current_side);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static double now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		fail("clock_gettime", -errno);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns per op of one timed run of @n operations. */
static double time_run(const struct side *s, void *ctx, uint64_t n)
{
	double t0 = now_ns();
	int r = s->run(ctx, n);
	double t1 = now_ns();

	if (r < 0)
		fail("run", r);
	return (t1 - t0) / (double)n;
}

/* Iterations for one timed run of about @target_ns; also warms up. */
static uint64_t calibrate(const struct side *s, void *ctx, double target_ns)
{
	uint64_t n = 1;

	time_run(s, ctx, 1); /* warm-up: first-touch, lazy binding, caches */
	for (;;) {
		double per = time_run(s, ctx, n);
		double total = per * (double)n;

		if (total >= target_ns / 4 || n >= (UINT64_C(1) << 40)) {
			double want = target_ns / (per > 0 ? per : 1);
			return want < 1 ? 1 : (uint64_t)want;
		}
		/* Grow fast while runs are too short to time well. */
		n *= total < target_ns / 100 ? 10 : 2;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_of(const double *v, int k, double *spread)
{
	double s[MAX_REPS];

	memcpy(s, v, sizeof(double) * (size_t)k);
	qsort(s, (size_t)k, sizeof(double), cmp_double);
	double m = k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
	*spread = m > 0 ? (s[k - 1] - s[0]) / m : 0;
	return m;
}

static void run_case(const struct bench_case *c, struct result *res,
		     double target_s, int reps)
{
	const struct side *sides[2] = { &c->ours, &c->baseline };
	static const char *side_names[2] = { "ours", "baseline" };
	void *ctx[2] = { NULL, NULL };

	memset(res, 0, sizeof(*res));
	res->c = c;
	current_case = c->name;
	for (int i = 0; i < 2; i++) {
		current_side = side_names[i];
		if (sides[i]->setup) {
			int r = sides[i]->setup(&ctx[i]);
			if (r < 0)
				fail("setup", r);
		}
		res->iters[i] = calibrate(sides[i], ctx[i], target_s * 1e9);
	}
	for (int k = 0; k < reps; k++) {
		for (int j = 0; j < 2; j++) {
			int i = (k + j) % 2; /* ours first on even reps */
			current_side = side_names[i];
			res->ns[i][k] = time_run(sides[i], ctx[i], res->iters[i]);
		}
	}
	for (int i = 0; i < 2; i++) {
		current_side = side_names[i];
		if (sides[i]->teardown)
			sides[i]->teardown(ctx[i]);
	}

	double sp[2];
	for (int i = 0; i < 2; i++) {
		double m = median_of(res->ns[i], reps, &sp[i]);
		res->median[i] = c->metric == OPS_PER_S ? 1e9 / m : m;
	}
	res->spread = sp[0] > sp[1] ? sp[0] : sp[1];
	res->ratio = res->median[0] / res->median[1];
	res->met = c->dir == AT_MOST ? res->ratio <= c->goal
				     : res->ratio >= c->goal;
	current_case = "";
	current_side = "";
}

/* ---------------------------------------------------------------- cases */

static void noop(void *arg)
{
	(void)arg;
}

static void *noop_pthread(void *arg)
{
	return arg;
}

/* ours: new + start + join + free, of a worker of the given kind. */
static int spawn_join(uint64_t n, unsigned flags)
{
	for (uint64_t i = 0; i < n; i++) {
		ft_worker_t *w = ft_worker_new(NULL, noop, NULL, flags);
		if (!w)
			fail("ft_worker_new", -errno);
		int r = ft_worker_start(w);
		if (r < 0)
			fail("ft_worker_start", r);
		r = ft_worker_join(w, FT_FOREVER);
		if (r < 0)
			fail("ft_worker_join", r);
		int code;
		r = ft_worker_exitcode(w, &code);
		if (r < 0)
			fail("ft_worker_exitcode", r);
		if (code != 0)
			fail_msg("worker ended with %d, not 0", code);
		r = ft_worker_free(w);
		if (r < 0)
			fail("ft_worker_free", r);
	}
	return 0;
}

static int ours_spawn_thread(void *ctx, uint64_t n)
{
	(void)ctx;
	return spawn_join(n, FT_WORKER_THREAD);
}

static int ours_spawn_process(void *ctx, uint64_t n)
{
	(void)ctx;
	return spawn_join(n, FT_WORKER_PROCESS);
}

static int base_spawn_thread(void *ctx, uint64_t n)
{
	(void)ctx;
	for (uint64_t i = 0; i < n; i++) {
		pthread_t t;
		int r = pthread_create(&t, NULL, noop_pthread, NULL);
		if (r != 0)
			fail("pthread_create", -r);
		r = pthread_join(t, NULL);
		if (r != 0)
			fail("pthread_join", -r);
	}
	return 0;
}

static int base_spawn_process(void *ctx, uint64_t n)
{
	(void)ctx;
	for (uint64_t i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			fail("fork", -errno);
		if (pid == 0)
			_exit(0);
		int st;
		pid_t r;
		while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
			;
		if (r < 0)
			fail("waitpid", -errno);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("child ended with status %#x", st);
	}
	return 0;
}

static const struct bench_case cases[] = {
	{
		.name = "spawn+join thread",
		.baseline_name = "pthread_create + pthread_join",
		.ours = { .run = ours_spawn_thread },
		.baseline = { .run = base_spawn_thread },
		.metric = NS_PER_OP, .dir = AT_MOST, .goal = 1.1,
	},
	{
		.name = "spawn+join process",
		.baseline_name = "fork + _exit + waitpid",
		.ours = { .run = ours_spawn_process },
		.baseline = { .run = base_spawn_process },
		.metric = NS_PER_OP, .dir = AT_MOST, .goal = 1.0,
	},
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* ---------------------------------------------------------------- output */

static const char *metric_unit(enum metric m)
{
	return m == OPS_PER_S ? "ops/s" : "ns/op";
}

static const char *dir_op(enum goal_dir d)
{
	return d == AT_MOST ? "<=" : ">=";
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

struct env {
	struct ft_runtime_info info;
	long cpus;
	struct utsname uts;
	double target_s;
	int reps;
};

static void print_table(const struct env *e, const struct result *res, int n)
{
	printf("libfreethreading bench: backend %s, wait %s, %ld CPUs, "
	       "Linux %s %s\n", e->info.backend, e->info.wait, e->cpus,
	       e->uts.release, e->uts.machine);
	printf("spawn: thread %s; process %s\n", e->info.spawn_thread,
	       e->info.spawn_process);
	printf("median of %d interleaved runs of ~%.2g s per side; "
	       "ratio = ours / baseline\n\n", e->reps, e->target_s);
	printf("%-22s %13s %13s %6s %7s %7s %5s  %s\n", "case", "ours",
	       "baseline", "unit", "ratio", "goal", "met", "spread");
	for (int i = 0; i < n; i++) {
		const struct result *r = &res[i];
		char goal[16];
		snprintf(goal, sizeof(goal), "%s%.2f", dir_op(r->c->dir),
			 r->c->goal);
		printf("%-22s %13.0f %13.0f %6s %7.3f %7s %5s  %4.1f%%\n",
		       r->c->name, r->median[0], r->median[1],
		       metric_unit(r->c->metric), r->ratio, goal,
		       r->met ? "yes" : "NO", r->spread * 100);
	}
}

static void print_json(const struct env *e, const struct result *res, int n)
{
	printf("{\"backend\":");
	json_str(e->info.backend);
	printf(",\"wait\":");
	json_str(e->info.wait);
	printf(",\"spawn_thread\":");
	json_str(e->info.spawn_thread);
	printf(",\"spawn_process\":");
	json_str(e->info.spawn_process);
	printf(",\"cpus\":%ld,\"kernel\":", e->cpus);
	json_str(e->uts.release);
	printf(",\"machine\":");
	json_str(e->uts.machine);
	printf(",\"reps\":%d,\"target_s\":%g,\"cases\":[", e->reps,
	       e->target_s);
	for (int i = 0; i < n; i++) {
		const struct result *r = &res[i];
		printf("%s{\"name\":", i ? "," : "");
		json_str(r->c->name);
		printf(",\"baseline_desc\":");
		json_str(r->c->baseline_name);
		printf(",\"unit\":\"%s\",\"ours\":%.1f,\"baseline\":%.1f,"
		       "\"ratio\":%.4f,\"goal_dir\":\"%s\",\"goal\":%g,"
		       "\"met\":%s,\"spread\":%.4f,\"iters\":{\"ours\":%" PRIu64
		       ",\"baseline\":%" PRIu64 "},\"samples_ns_per_op\":{",
		       metric_unit(r->c->metric), r->median[0], r->median[1],
		       r->ratio, dir_op(r->c->dir), r->c->goal,
		       r->met ? "true" : "false", r->spread, r->iters[0],
		       r->iters[1]);
		for (int s = 0; s < 2; s++) {
			printf("%s\"%s\":[", s ? "," : "",
			       s ? "baseline" : "ours");
			for (int k = 0; k < e->reps; k++)
				printf("%s%.1f", k ? "," : "", r->ns[s][k]);
			putchar(']');
		}
		printf("}}");
	}
	printf("]}\n");
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [--json] [--filter SUBSTRING] [--quick] "
		"[--time SECONDS] [--reps N] [--list]\n"
		"  --json         one JSON object instead of the table\n"
		"  --filter S     only cases whose name contains S\n"
		"  --quick        short runs (smoke test): --time 0.02 --reps 3\n"
		"  --time S       seconds per timed run of one side (0.3)\n"
		"  --reps N       timed runs per side, median reported (5)\n"
		"  --list         print the case names and exit\n"
		"backend: FREETHREADING_BACKEND=threading|multiprocessing\n",
		prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "filter", required_argument, NULL, 'f' },
		{ "quick", no_argument, NULL, 'q' },
		{ "time", required_argument, NULL, 't' },
		{ "reps", required_argument, NULL, 'r' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct env e = { .target_s = 0.3, .reps = 5 };
	const char *filter = NULL;
	bool json = false, list = false, quick = false;
	bool time_set = false, reps_set = false;
	int opt;
	char *end;

	while ((opt = getopt_long(argc, argv, "jf:qt:r:lh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'f':
			filter = optarg;
			break;
		case 'q':
			quick = true;
			break;
		case 't':
			e.target_s = strtod(optarg, &end);
			if (*end || !(e.target_s > 0) || e.target_s > 3600) {
				fprintf(stderr, "bench: bad --time %s\n", optarg);
				return 2;
			}
			time_set = true;
			break;
		case 'r':
			e.reps = (int)strtol(optarg, &end, 10);
			if (*end || e.reps < 1 || e.reps > MAX_REPS) {
				fprintf(stderr, "bench: --reps must be 1..%d\n",
					MAX_REPS);
				return 2;
			}
			reps_set = true;
			break;
		case 'l':
			list = true;
			break;
		case 'h':
			usage(stdout, "bench");
			return 0;
		default:
			usage(stderr, "bench");
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr, "bench");
		return 2;
	}
	if (quick) {
		if (!time_set)
			e.target_s = 0.02;
		if (!reps_set)
			e.reps = 3;
	}
	if (list) {
		for (size_t i = 0; i < N_CASES; i++)
			printf("%s\n", cases[i].name);
		return 0;
	}

	/* Initialise now, so a bad FREETHREADING_BACKEND stops us here. */
	int r = ft_init(NULL);
	if (r < 0 && r != -EALREADY)
		fail("ft_init", r);
	r = ft_runtime_info(&e.info);
	if (r < 0)
		fail("ft_runtime_info", r);
	e.cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (uname(&e.uts) != 0)
		fail("uname", -errno);

	struct result res[N_CASES];
	int n = 0;
	for (size_t i = 0; i < N_CASES; i++) {
		if (filter && !strstr(cases[i].name, filter))
			continue;
		run_case(&cases[i], &res[n++], e.target_s, e.reps);
	}
	if (n == 0) {
		fprintf(stderr, "bench: no case matches '%s' (see --list)\n",
			filter);
		return 2;
	}
	if (json)
		print_json(&e, res, n);
	else
		print_table(&e, res, n);
	return 0;
}
