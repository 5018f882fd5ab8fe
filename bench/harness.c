/* SPDX-License-Identifier: MIT */
/*
 * The libfreethreading benchmark: every case runs our call and its
 * plain-Linux baseline in the same process, and reports the ratio against
 * a goal.  Speed requirements live here, never in the unit tests.
 *
 * Usage: bench [--json] [--filter SUBSTRING] [--quick] [--time SECONDS]
 *              [--reps N] [--pin split|same|none] [--list]
 *
 * The backend is FREETHREADING_BACKEND's, as for any program; cases that
 * need a given worker kind force it with FT_WORKER_THREAD/FT_WORKER_PROCESS
 * so that they run, and compare the same thing, under either backend.
 *
 * Method, per case: each side runs once as a warm-up, then its iteration
 * count is calibrated so that one timed run takes about --time seconds
 * (0.3 by default).  The sides are then timed --reps times (5), interleaved
 * (the first side rotating from one rep to the next), and the median of
 * each side is reported.  A case has two sides (ours, baseline) or more
 * (ours and baseline, each with thread and with process workers), and one
 * row per pair of sides compared.  Any failing call aborts the run: a
 * number is only printed for work that was done.
 *
 * This file: the timing, the output and main(); the cases are in spawn.c
 * and sync.c (pair.c runs the two-worker ones).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <freethreading.h>

#include "harness.h"

/* ---------------------------------------------------------------- helpers */

static pid_t main_pid;
static const char *current_case = "";
static const char *current_side = "";

static void say_where(void)
{
	if (*current_side)
		fprintf(stderr, "bench: %s [%s]: ", current_case, current_side);
	else
		fprintf(stderr, "bench: ");
}

/* Leave with status 2.  _exit: a helper worker may be running, and the
 * library's exit handler would join it; process workers die with us
 * (PR_SET_PDEATHSIG).  A helper process tells the main one to stop. */
static _Noreturn void die(void)
{
	if (getpid() != main_pid) {
		fflush(stderr);
		kill(main_pid, SIGUSR1);
		_exit(2);
	}
	fflush(stdout);
	fflush(stderr);
	_exit(2);
}

_Noreturn void fail(const char *what, int err)
{
	if (getpid() == main_pid)
		fflush(stdout);
	say_where();
	fprintf(stderr, "%s failed: %s\n", what, ft_strerror(err));
	die();
}

_Noreturn void fail_msg(const char *fmt, ...)
{
	va_list ap;

	if (getpid() == main_pid)
		fflush(stdout);
	say_where();
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	die();
}

static void on_helper_failed(int sig)
{
	(void)sig;
	_exit(2); /* the helper printed why */
}

static unsigned watchdog_s;

/* A timed run that hangs: say whether its workers sleep or still run
 * (watchdog.c), then stop; process workers die with us. */
static void on_watchdog(int sig)
{
	(void)sig;
	watchdog_report(current_case, current_side, watchdog_s);
	_exit(2);
}

void *shared_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fail("mmap(MAP_SHARED)", -errno);
	return p;
}

void shared_unmap(void *p, size_t size)
{
	if (p && munmap(p, size) != 0)
		fail("munmap", -errno);
}

void flag_set(uint32_t *f)
{
	__atomic_store_n(f, 1, __ATOMIC_RELEASE);
	if (syscall(SYS_futex, f, FUTEX_WAKE, INT_MAX, NULL, NULL, 0) < 0)
		fail("futex(FUTEX_WAKE)", -errno);
}

void flag_wait(uint32_t *f, double timeout_s, const char *what)
{
	struct timespec slice = { .tv_sec = 0, .tv_nsec = 100000000 };
	double waited = 0;

	while (!__atomic_load_n(f, __ATOMIC_ACQUIRE)) {
		long r = syscall(SYS_futex, f, FUTEX_WAIT, 0,
				 timeout_s > 0 ? &slice : NULL, NULL, 0);
		if (r < 0 && errno != EAGAIN && errno != EINTR &&
		    errno != ETIMEDOUT)
			fail("futex(FUTEX_WAIT)", -errno);
		if (r < 0 && errno == ETIMEDOUT && (waited += 0.1) > timeout_s)
			fail_msg("%s: no sign after %.0f s", what, timeout_s);
	}
}

/* ---------------------------------------------------------------- timing */

struct case_result {
	const struct bench_case *c;
	uint64_t iters[MAX_SIDES];
	double ns[MAX_SIDES][MAX_REPS]; /* ns per op, per repetition */
	double median_ns[MAX_SIDES];
	double spread[MAX_SIDES];       /* (max-min)/median over the reps */
};

struct row_result {
	const struct case_result *cr;
	const struct row *row;
	double value[2];            /* medians of sides a, b in row's metric */
	double ratio;
	double spread;              /* the wider of the two sides' */
	bool met;
};

static double target_ns;

static double now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		fail("clock_gettime", -errno);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns per op of one timed run of @n operations; before/after untimed. */
static double time_run(const struct side *s, void *ctx, uint64_t n)
{
	int r;

	alarm(watchdog_s);
	if (s->before && (r = s->before(ctx, n)) < 0)
		fail("before", r);
	double t0 = now_ns();
	r = s->run(ctx, n);
	double t1 = now_ns();
	if (r < 0)
		fail("run", r);
	if (s->after && (r = s->after(ctx)) < 0)
		fail("after", r);
	alarm(0);
	return (t1 - t0) / (double)n;
}

/* Iterations for one timed run of about target_ns; also warms up. */
static uint64_t calibrate(const struct side *s, void *ctx)
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

static void run_case(const struct bench_case *c, struct case_result *res,
		     int reps)
{
	void *ctx[MAX_SIDES] = { NULL };
	int ns = c->n_sides;

	memset(res, 0, sizeof(*res));
	res->c = c;
	current_case = c->name;
	for (int i = 0; i < ns; i++) {
		const struct side *s = &c->sides[i];
		current_side = s->label;
		if (s->setup) {
			int r = s->setup(s->arg, &ctx[i]);
			if (r < 0)
				fail("setup", r);
		}
		res->iters[i] = calibrate(s, ctx[i]);
	}
	/* Rep k runs the sides in order k, k+1, ...: each side goes first
	 * in turn (two sides: a b, b a, a b, ...). */
	for (int k = 0; k < reps; k++) {
		for (int j = 0; j < ns; j++) {
			int i = (k + j) % ns;
			current_side = c->sides[i].label;
			res->ns[i][k] = time_run(&c->sides[i], ctx[i],
						 res->iters[i]);
		}
	}
	for (int i = 0; i < ns; i++) {
		current_side = c->sides[i].label;
		if (c->sides[i].teardown)
			c->sides[i].teardown(ctx[i]);
		res->median_ns[i] = median_of(res->ns[i], reps, &res->spread[i]);
	}
	current_case = "";
	current_side = "";
}

static void make_row(const struct case_result *cr, const struct row *rw,
		     struct row_result *out)
{
	int sd[2] = { rw->a, rw->b };

	out->cr = cr;
	out->row = rw;
	out->spread = 0;
	for (int s = 0; s < 2; s++) {
		double m = cr->median_ns[sd[s]];
		out->value[s] = rw->metric == OPS_PER_S ? 1e9 / m : m;
		if (cr->spread[sd[s]] > out->spread)
			out->spread = cr->spread[sd[s]];
	}
	out->ratio = out->value[0] / out->value[1];
	out->met = rw->dir == AT_MOST ? out->ratio <= rw->goal
				      : out->ratio >= rw->goal;
}

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
	const char *placement;
};

static void print_table(const struct env *e, const struct row_result *res,
			int n)
{
	printf("libfreethreading bench: backend %s, wait %s, %ld CPUs, "
	       "Linux %s %s\n", e->info.backend, e->info.wait, e->cpus,
	       e->uts.release, e->uts.machine);
	printf("spawn: thread %s; process %s\n", e->info.spawn_thread,
	       e->info.spawn_process);
	printf("two-worker cases: %s\n", e->placement);
	printf("median of %d interleaved runs of ~%.2g s per side; "
	       "ratio = ours / baseline\n\n", e->reps, e->target_s);
	printf("%-36s %13s %13s %6s %7s %7s %5s  %s\n", "case", "ours",
	       "baseline", "unit", "ratio", "goal", "met", "spread");
	for (int i = 0; i < n; i++) {
		const struct row_result *r = &res[i];
		char goal[16];
		snprintf(goal, sizeof(goal), "%s%.2f", dir_op(r->row->dir),
			 r->row->goal);
		/* Small latencies get a decimal: 6 ns vs 20 ns needs it. */
		int prec = r->value[0] < 100 || r->value[1] < 100;
		printf("%-36s %13.*f %13.*f %6s %7.3f %7s %5s  %4.1f%%\n",
		       r->row->name, prec, r->value[0], prec, r->value[1],
		       metric_unit(r->row->metric), r->ratio, goal,
		       r->met ? "yes" : "NO", r->spread * 100);
	}
}

static void print_json(const struct env *e, const struct row_result *res,
		       int n)
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
	printf(",\"placement\":");
	json_str(e->placement);
	printf(",\"reps\":%d,\"target_s\":%g,\"cases\":[", e->reps,
	       e->target_s);
	for (int i = 0; i < n; i++) {
		const struct row_result *r = &res[i];
		const struct case_result *cr = r->cr;
		int sd[2] = { r->row->a, r->row->b };
		printf("%s{\"name\":", i ? "," : "");
		json_str(r->row->name);
		printf(",\"baseline_desc\":");
		json_str(r->row->baseline_name);
		printf(",\"sides\":{\"ours\":");
		json_str(cr->c->sides[sd[0]].label);
		printf(",\"baseline\":");
		json_str(cr->c->sides[sd[1]].label);
		printf("},\"unit\":\"%s\",\"ours\":%.1f,\"baseline\":%.1f,"
		       "\"ratio\":%.4f,\"goal_dir\":\"%s\",\"goal\":%g,"
		       "\"met\":%s,\"spread\":%.4f,\"iters\":{\"ours\":%" PRIu64
		       ",\"baseline\":%" PRIu64 "},\"samples_ns_per_op\":{",
		       metric_unit(r->row->metric), r->value[0], r->value[1],
		       r->ratio, dir_op(r->row->dir), r->row->goal,
		       r->met ? "true" : "false", r->spread, cr->iters[sd[0]],
		       cr->iters[sd[1]]);
		for (int s = 0; s < 2; s++) {
			printf("%s\"%s\":[", s ? "," : "",
			       s ? "baseline" : "ours");
			for (int k = 0; k < e->reps; k++)
				printf("%s%.1f", k ? "," : "",
				       cr->ns[sd[s]][k]);
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
		"[--time SECONDS] [--reps N] [--pin split|same|none] [--list]\n"
		"  --json         one JSON object instead of the table\n"
		"  --filter S     only rows whose name contains S\n"
		"  --quick        short runs (smoke test): --time 0.02 --reps 3\n"
		"  --time S       seconds per timed run of one side (0.3)\n"
		"  --reps N       timed runs per side, median reported (5)\n"
		"  --pin P        two-worker cases: split (main and partner on\n"
		"                 two CPUs; default), same (one CPU), none\n"
		"  --list         print the row names and exit\n"
		"backend: FREETHREADING_BACKEND=threading|multiprocessing\n"
		"wait:    FREETHREADING_WAIT=uring|futex2|futex\n",
		prog);
}

struct table {
	const struct bench_case *cases;
	size_t n;
};

static bool row_matches(const struct row *rw, const char *filter)
{
	return !filter || strstr(rw->name, filter);
}

static void install(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	if (sigemptyset(&sa.sa_mask) != 0 || sigaction(sig, &sa, NULL) != 0)
		fail("sigaction", -errno);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "filter", required_argument, NULL, 'f' },
		{ "quick", no_argument, NULL, 'q' },
		{ "time", required_argument, NULL, 't' },
		{ "reps", required_argument, NULL, 'r' },
		{ "pin", required_argument, NULL, 'p' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct table tables[] = {
		{ spawn_cases, n_spawn_cases },
		{ sync_cases, n_sync_cases },
		{ queue_cases, n_queue_cases },
		{ pool_cases, n_pool_cases },
	};
	const size_t n_tables = sizeof(tables) / sizeof(tables[0]);
	struct env e = { .target_s = 0.3, .reps = 5 };
	const char *filter = NULL;
	enum pin pin = PIN_SPLIT;
	bool json = false, list = false, quick = false;
	bool time_set = false, reps_set = false;
	int opt;
	char *end;

	main_pid = getpid();
	while ((opt = getopt_long(argc, argv, "jf:qt:r:p:lh", opts, NULL)) != -1) {
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
		case 'p':
			if (strcmp(optarg, "split") == 0)
				pin = PIN_SPLIT;
			else if (strcmp(optarg, "same") == 0)
				pin = PIN_SAME;
			else if (strcmp(optarg, "none") == 0)
				pin = PIN_NONE;
			else {
				fprintf(stderr, "bench: --pin is split, same "
					"or none\n");
				return 2;
			}
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
		for (size_t t = 0; t < n_tables; t++)
			for (size_t i = 0; i < tables[t].n; i++)
				for (int j = 0; j < tables[t].cases[i].n_rows; j++)
					printf("%s\n",
					       tables[t].cases[i].rows[j].name);
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
	e.placement = pair_placement(pin);
	install(SIGUSR1, on_helper_failed);
	install(SIGALRM, on_watchdog);
	target_ns = e.target_s * 1e9;
	watchdog_s = 60 + (unsigned)(e.target_s * 20);

	size_t n_cases = 0, n_rows = 0;
	for (size_t t = 0; t < n_tables; t++)
		n_cases += tables[t].n;
	n_rows = n_cases * MAX_ROWS;
	struct case_result *cres = calloc(n_cases, sizeof(*cres));
	struct row_result *rres = calloc(n_rows, sizeof(*rres));
	if (!cres || !rres)
		fail("calloc", -ENOMEM);

	int nc = 0, nr = 0;
	for (size_t t = 0; t < n_tables; t++) {
		for (size_t i = 0; i < tables[t].n; i++) {
			const struct bench_case *c = &tables[t].cases[i];
			bool any = false;
			for (int j = 0; j < c->n_rows; j++)
				any |= row_matches(&c->rows[j], filter);
			if (!any)
				continue;
			run_case(c, &cres[nc], e.reps);
			for (int j = 0; j < c->n_rows; j++)
				if (row_matches(&c->rows[j], filter))
					make_row(&cres[nc], &c->rows[j],
						 &rres[nr++]);
			nc++;
		}
	}
	if (nr == 0) {
		fprintf(stderr, "bench: no case matches '%s' (see --list)\n",
			filter);
		return 2;
	}
	if (json)
		print_json(&e, rres, nr);
	else
		print_table(&e, rres, nr);
	free(cres);
	free(rres);
	return 0;
}
