/* SPDX-License-Identifier: MIT */
/*
 * Spawning process workers from a busy multithreaded parent: while two
 * threads hammer malloc/free and printf, hundreds of process workers
 * start, each mallocs, prints one line, raises a signal it handles and
 * returns.  Nothing may deadlock (glibc's fork must leave malloc and stdio
 * usable in the child), no line may be printed twice or lost, and every
 * worker ends with code 0.  Crashing workers are reported with their
 * signal.  Workers report through ft_test_shared() memory only.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "helpers.h"

#define CHILDREN 300
#define BATCH 12
#define HAMMER_LINE_EVERY 64
/* stdout's buffer holds every line the hammers may print, so it is only
 * ever written out by a flush, which stdio's lock keeps at a line's end:
 * a buffer-full write would split a line, and the children's lines would
 * land inside it (that is stdio, not the library under test). */
#define HAMMER_MAX_LINES 100000L
#define STDOUT_BUF ((size_t)8 << 20)

struct shm {
	int result[CHILDREN]; /* 1: handler ran; 2: it did not; 3: no memory */
};

static struct shm *S;

/* ---------------------------------------------------------------- hammers */

struct hammer {
	int id;
	bool print;
	long lines; /* lines printed: "hammer <id> <seq>", seq 0..lines-1 */
	long rounds;
};

static int stop_hammers;

static void hammer_run(struct hammer *h)
{
	void *keep[32] = { NULL };
	uint32_t x = 2463534242u + (uint32_t)h->id;

	while (!__atomic_load_n(&stop_hammers, __ATOMIC_ACQUIRE)) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		unsigned j = x % 32;
		free(keep[j]);
		keep[j] = malloc(16 + x % 8192);
		if (keep[j])
			memset(keep[j], 0xa5, 16);
		if (h->print && h->rounds % HAMMER_LINE_EVERY == 0 &&
		    h->lines < HAMMER_MAX_LINES)
			printf("hammer %d %ld\n", h->id, h->lines++);
		h->rounds++;
	}
	for (unsigned j = 0; j < 32; j++)
		free(keep[j]);
}

static void *hammer_pthread(void *arg)
{
	hammer_run(arg);
	return NULL;
}

static void hammer_worker(void *arg)
{
	hammer_run(arg);
}

/* One plain pthread and one thread worker. */
struct hammers {
	struct hammer h[2];
	pthread_t t;
	ft_worker_t *w;
};

static void hammers_start(struct hammers *hs, bool print)
{
	__atomic_store_n(&stop_hammers, 0, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		hs->h[i] = (struct hammer){ .id = i, .print = print };
	cr_assert_eq(pthread_create(&hs->t, NULL, hammer_pthread, &hs->h[0]), 0);
	hs->w = ft_worker_new("hammer", hammer_worker, &hs->h[1], FT_WORKER_THREAD);
	cr_assert_not_null(hs->w);
	cr_assert_eq(ft_worker_start(hs->w), 0);
}

static int hammers_stop(struct hammers *hs)
{
	__atomic_store_n(&stop_hammers, 1, __ATOMIC_RELEASE);
	int r = pthread_join(hs->t, NULL) ? -1 : 0;
	int j = ft_worker_join(hs->w, FT_FOREVER);
	ft_worker_free(hs->w);
	return r ? r : j;
}

/* ---------------------------------------------------------------- children */

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static void child_body(void *arg)
{
	int i = (int)(intptr_t)arg;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	char *p = malloc(100 + (size_t)i * 7);
	if (!p) {
		S->result[i] = 3;
		return;
	}
	memset(p, i & 0xff, 100);
	printf("child %d\n", i);
	raise(SIGUSR1);
	free(p);
	S->result[i] = got_usr1 ? 1 : 2;
}

/* ---------------------------------------------------------------- output */

static char *slurp(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	cr_assert_geq(size, 0);
	char *buf = malloc((size_t)size + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(pread(fd, buf, (size_t)size, 0), size);
	buf[size] = '\0';
	return buf;
}

Test(spawn_stress, process_workers_under_malloc_and_stdio_load,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
#if defined(__SANITIZE_ADDRESS__)
	/* What this checks is glibc's malloc and stdio across fork.  Under
	 * ASan malloc is ASan's, and GCC 12's takes no allocator locks
	 * around fork: a child forked while a hammer thread held one hangs
	 * in its first malloc (seen in CI, a backtrace in
	 * SizeClassAllocator64::GetFromAllocator; google/sanitizers#774). */
	cr_skip_test("ASan's allocator is not fork-safe in GCC 12");
#endif
	S = ft_test_shared(sizeof(*S));
	char path[] = "/tmp/ft-test-stress-XXXXXX";
	int tmp = mkstemp(path);
	cr_assert_geq(tmp, 0);
	/* O_APPEND: every process's write lands at the end, whole. */
	int fd = open(path, O_RDWR | O_APPEND);
	cr_assert_geq(fd, 0);
	close(tmp);
	unlink(path);

	(void)ft_get_backend();
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	cr_assert_geq(saved, 0);
	char *stdout_buf = malloc(STDOUT_BUF);
	cr_assert_not_null(stdout_buf);
	cr_assert_geq(dup2(fd, STDOUT_FILENO), 0);
	cr_assert_eq(setvbuf(stdout, stdout_buf, _IOFBF, STDOUT_BUF), 0);

	/* No assertion while stdout is redirected: collect, check after. */
	static int start_rc[CHILDREN], join_rc[CHILDREN], ecode_rc[CHILDREN];
	static int code[CHILDREN];
	struct hammers hs;
	hammers_start(&hs, true);
	for (int b = 0; b < CHILDREN; b += BATCH) {
		ft_worker_t *w[BATCH];
		int n = CHILDREN - b < BATCH ? CHILDREN - b : BATCH;
		for (int i = 0; i < n; i++) {
			w[i] = ft_worker_new(NULL, child_body, (void *)(intptr_t)(b + i),
					     FT_WORKER_PROCESS);
			start_rc[b + i] = w[i] ? ft_worker_start(w[i]) : -errno;
		}
		for (int i = 0; i < n; i++) {
			code[b + i] = 1234;
			if (start_rc[b + i] < 0)
				continue;
			join_rc[b + i] = ft_worker_join(w[i], FT_FOREVER);
			ecode_rc[b + i] = ft_worker_exitcode(w[i], &code[b + i]);
			ft_worker_free(w[i]);
		}
	}
	int hstop = hammers_stop(&hs);
	fflush(stdout);
	cr_assert_geq(dup2(saved, STDOUT_FILENO), 0);
	close(saved);
	/* stdout keeps stdout_buf: it may print again before the exit. */

	cr_assert_eq(hstop, 0);
	for (int i = 0; i < CHILDREN; i++) {
		cr_assert_eq(start_rc[i], 0, "child %d: start %d", i, start_rc[i]);
		cr_assert_eq(join_rc[i], 0, "child %d: join %d", i, join_rc[i]);
		cr_assert_eq(ecode_rc[i], 0, "child %d: exitcode %d", i, ecode_rc[i]);
		cr_assert_eq(code[i], 0, "child %d ended with %d", i, code[i]);
		cr_assert_eq(S->result[i], 1, "child %d: result %d", i, S->result[i]);
	}

	char *buf = slurp(fd);
	close(fd);
	static int child_lines[CHILDREN];
	char *seen[2];
	for (int h = 0; h < 2; h++) {
		seen[h] = calloc((size_t)hs.h[h].lines + 1, 1);
		cr_assert_not_null(seen[h]);
	}
	long other = 0, dup_hammer = 0, bad_hammer = 0;
	char first_other[80] = "";
	for (char *line = buf, *next; *line; line = next) {
		char *nl = strchr(line, '\n');
		if (nl) {
			*nl = '\0';
			next = nl + 1;
		} else {
			next = line + strlen(line);
		}
		int i, h, used = 0;
		long seq;
		if (sscanf(line, "child %d%n", &i, &used) == 1 &&
		    line[used] == '\0' && i >= 0 && i < CHILDREN) {
			child_lines[i]++;
		} else if (sscanf(line, "hammer %d %ld%n", &h, &seq, &used) == 2 &&
			   line[used] == '\0' && (h == 0 || h == 1)) {
			if (seq < 0 || seq >= hs.h[h].lines)
				bad_hammer++;
			else if (seen[h][seq]++)
				dup_hammer++;
		} else {
			if (!other++)
				snprintf(first_other, sizeof(first_other), "%s", line);
		}
	}
	cr_assert_eq(other, 0, "%ld unexpected lines, first: '%s'", other, first_other);
	cr_assert_eq(dup_hammer, 0, "%ld parent lines printed twice", dup_hammer);
	cr_assert_eq(bad_hammer, 0);
	for (int h = 0; h < 2; h++)
		for (long s = 0; s < hs.h[h].lines; s++)
			cr_assert_eq(seen[h][s], 1, "hammer %d line %ld lost", h, s);
	for (int i = 0; i < CHILDREN; i++)
		cr_assert_eq(child_lines[i], 1, "child %d printed %d lines", i,
			     child_lines[i]);
	cr_assert_gt(hs.h[0].lines + hs.h[1].lines, 0, "the hammers printed");
	free(seen[0]);
	free(seen[1]);
	free(buf);
}

/* ---------------------------------------------------------------- crashes */

static int *volatile bad_ptr;

/* The NULL store is the point: a real SIGSEGV, not a sanitizer report. */
__attribute__((no_sanitize("undefined")))
static void crash_body(void *arg)
{
	int i = (int)(intptr_t)arg;
	struct rlimit rl = { 0, 0 };
	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0);
	signal(SIGSEGV, SIG_DFL);
	char *p = malloc(64);
	free(p);
	if (i % 2)
		raise(SIGSEGV);
	*bad_ptr = i;
}

static void quiet_child_body(void *arg)
{
	char *p = malloc(64 + (size_t)(intptr_t)arg);
	free(p);
}

Test(spawn_stress, crashing_process_workers_report_the_signal,
     .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	enum { N = 16 };
	(void)ft_get_backend();
	struct hammers hs;
	hammers_start(&hs, false);
	ft_worker_t *w[N];
	int start_rc[N], join_rc[N], ecode_rc[N], code[N];
	for (int i = 0; i < N; i++) {
		bool crash = i % 4 == 0 || i % 4 == 1;
		w[i] = ft_worker_new(NULL, crash ? crash_body : quiet_child_body,
				     (void *)(intptr_t)i, FT_WORKER_PROCESS);
		start_rc[i] = w[i] ? ft_worker_start(w[i]) : -errno;
	}
	for (int i = 0; i < N; i++) {
		code[i] = 1234;
		/* Alternate the untimed (creator reaps) and timed (supervisor
		 * reaps) join paths. */
		join_rc[i] = ft_worker_join(w[i], i % 2 ? 30.0 : FT_FOREVER);
		ecode_rc[i] = ft_worker_exitcode(w[i], &code[i]);
	}
	cr_assert_eq(hammers_stop(&hs), 0);
	for (int i = 0; i < N; i++) {
		bool crash = i % 4 == 0 || i % 4 == 1;
		cr_assert_eq(start_rc[i], 0, "worker %d: start %d", i, start_rc[i]);
		cr_assert_eq(join_rc[i], 0, "worker %d: join %d", i, join_rc[i]);
		cr_assert_eq(ecode_rc[i], 0);
		cr_assert_eq(code[i], crash ? -SIGSEGV : 0, "worker %d ended with %d",
			     i, code[i]);
		cr_assert_eq(ft_worker_is_alive(w[i]), 0);
		ft_worker_free(w[i]);
	}
	cr_assert_eq(ft_active_children(NULL, 0), 0);
}
