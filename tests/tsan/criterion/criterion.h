/*
 * The part of Criterion's API the unit tests use, for the ThreadSanitizer
 * build only: Criterion cannot start under TSan (its inheritable arena
 * cannot be mapped: Snaipe/Criterion#274), so there this header stands in
 * for it and gives each test program its own main().  Each test runs in a
 * child process of its own, as under Criterion, with its .init function
 * and its .timeout; the last line has Criterion's synthesis format, which
 * tests/summary.sh reads.
 */
#ifndef FT_TSAN_CRITERION_SHIM_H
#define FT_TSAN_CRITERION_SHIM_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

struct ft_shim_test {
	const char *suite, *name;
	void (*fn)(void);
	void (*init)(void);
	double timeout;
	struct ft_shim_test *next;
};

static struct ft_shim_test *ft_shim_tests, **ft_shim_tail = &ft_shim_tests;

static inline void ft_shim_register(struct ft_shim_test *t)
{
	*ft_shim_tail = t;
	ft_shim_tail = &t->next;
}

#define Test(s_, n_, ...)                                                     \
	static void s_##_##n_##_fn(void);                                     \
	static struct ft_shim_test s_##_##n_##_desc = {                       \
		.suite = #s_, .name = #n_, .fn = s_##_##n_##_fn, __VA_ARGS__  \
	};                                                                    \
	__attribute__((constructor)) static void s_##_##n_##_reg(void)        \
	{                                                                     \
		ft_shim_register(&s_##_##n_##_desc);                          \
	}                                                                     \
	static void s_##_##n_##_fn(void)

__attribute__((format(printf, 4, 5), noreturn))
static inline void ft_shim_fail(const char *file, int line, const char *expr,
				const char *fmt, ...)
{
	fprintf(stderr, "[----] %s:%d: Assertion Failed\n[----]   ", file, line);
	if (*fmt) {
		va_list ap;
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	} else {
		fputs(expr, stderr);
	}
	fputc('\n', stderr);
	fflush(NULL);
	_exit(1);
}

/* The message is optional: "" glues to the caller's format, if any (an
 * empty one is what the format check should let pass). */
#pragma GCC diagnostic ignored "-Wformat-zero-length"
#define ft_shim_assert(cond, expr, ...)                                       \
	do {                                                                  \
		if (!(cond))                                                  \
			ft_shim_fail(__FILE__, __LINE__, expr, "" __VA_ARGS__); \
	} while (0)
#define cr_assert(c, ...) ft_shim_assert((c), #c, __VA_ARGS__)
#define cr_assert_not(c, ...) ft_shim_assert(!(c), "!(" #c ")", __VA_ARGS__)
#define cr_assert_eq(a, b, ...) ft_shim_assert((a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) ft_shim_assert((a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) ft_shim_assert((a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) ft_shim_assert((a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) ft_shim_assert((a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) ft_shim_assert((a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_null(p, ...) ft_shim_assert((p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) ft_shim_assert((p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) \
	ft_shim_assert(strcmp((a), (b)) == 0, #a " eq " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) \
	ft_shim_assert(strcmp((a), (b)) != 0, #a " ne " #b, __VA_ARGS__)
#define cr_log_info(...) \
	(fprintf(stderr, "[----] "), fprintf(stderr, __VA_ARGS__), \
	 fputc('\n', stderr))
/* In a test's own body only: the shim runs tests as plain functions. */
#define cr_skip_test(...) \
	do { \
		cr_log_info(__VA_ARGS__); \
		return; \
	} while (0)

static inline double ft_shim_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 0 passed, 1 failed, 2 crashed or timed out. */
static inline int ft_shim_run(const struct ft_shim_test *t)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		if (t->init)
			t->init();
		t->fn();
		fflush(NULL);
		exit(0);
	}
	double end = ft_shim_now() + (t->timeout > 0 ? t->timeout : 60);
	int status;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (ft_shim_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr, "[----] %s::%s: timed out\n", t->suite, t->name);
			return 2;
		}
		usleep(10000);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 0 ? 0 : 1;
	fprintf(stderr, "[----] %s::%s: killed by signal %d\n", t->suite,
		t->name, WTERMSIG(status));
	return 2;
}

int main(void)
{
	int tested = 0, counts[3] = { 0, 0, 0 };
	for (const struct ft_shim_test *t = ft_shim_tests; t; t = t->next) {
		int r = ft_shim_run(t);
		fprintf(stderr, "[%s] %s::%s\n", r == 0 ? "PASS" : "FAIL",
			t->suite, t->name);
		counts[r]++;
		tested++;
	}
	fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | "
		"Failing: %d | Crashing: %d \n", tested, counts[0], counts[1],
		counts[2]);
	return counts[1] || counts[2];
}

#endif
