/* Runtime set-up: configuration, environment, introspection, errors. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "helpers.h"

Test(runtime, backend_follows_environment, .timeout = FT_TEST_TIMEOUT)
{
	const char *env = getenv("FREETHREADING_BACKEND");
	const char *want = env && *env ? env : "threading";
	cr_assert_str_eq(ft_get_backend(), want);
}

Test(runtime, info_reports_choices, .timeout = FT_TEST_TIMEOUT)
{
	struct ft_runtime_info info;

	cr_assert_eq(ft_runtime_info(NULL), -EINVAL);
	cr_assert_eq(ft_runtime_info(&info), 0);
	cr_assert_str_eq(info.backend, ft_get_backend());
	cr_assert(!strcmp(info.wait, "uring") || !strcmp(info.wait, "futex2") ||
		  !strcmp(info.wait, "futex"), "wait = %s", info.wait);
	const char *forced = getenv("FREETHREADING_WAIT");
	if (forced && *forced)
		cr_assert_str_eq(info.wait, forced);
	cr_assert_not_null(info.spawn_thread);
	cr_assert_not_null(info.spawn_process);
	cr_assert_geq(info.arena_size, (size_t)1 << 20);
	cr_assert_gt(info.arena_used, 0);
	cr_assert_leq(info.arena_used, info.arena_size);
}

Test(runtime, init_after_first_use_is_ealready, .timeout = FT_TEST_TIMEOUT)
{
	cr_assert_not_null(ft_get_backend());
	cr_assert_eq(ft_init(NULL), -EALREADY);
}

Test(runtime, init_rejects_bad_config_and_can_retry, .timeout = FT_TEST_TIMEOUT)
{
	struct ft_config bad = { .backend = 42 };
	struct ft_config bad_wait = { .wait = -1 };
	struct ft_config good = { .arena_size = 4 << 20 };
	struct ft_runtime_info info;

	unsetenv("FREETHREADING_ARENA_SIZE");
	cr_assert_eq(ft_init(&bad), -EINVAL);
	cr_assert_eq(ft_init(&bad_wait), -EINVAL);
	cr_assert_eq(ft_init(&good), 0);
	cr_assert_eq(ft_runtime_info(&info), 0);
	cr_assert_eq(info.arena_size, (size_t)4 << 20);
	cr_assert_eq(ft_init(&good), -EALREADY);
}

Test(runtime, config_backend_used_without_environment, .timeout = FT_TEST_TIMEOUT)
{
	struct ft_config cfg = { .backend = FT_BACKEND_MULTIPROCESSING };

	unsetenv("FREETHREADING_BACKEND");
	cr_assert_eq(ft_init(&cfg), 0);
	cr_assert_str_eq(ft_get_backend(), "multiprocessing");
	cr_assert_str_eq(ft_worker_name(ft_current_worker()), "MainProcess");
}

Test(runtime, environment_wins_over_config, .timeout = FT_TEST_TIMEOUT)
{
	struct ft_config cfg = { .backend = FT_BACKEND_MULTIPROCESSING,
				 .arena_size = 8 << 20 };
	struct ft_runtime_info info;

	setenv("FREETHREADING_BACKEND", "threading", 1);
	setenv("FREETHREADING_ARENA_SIZE", "2M", 1);
	cr_assert_eq(ft_init(&cfg), 0);
	cr_assert_str_eq(ft_get_backend(), "threading");
	cr_assert_eq(ft_runtime_info(&info), 0);
	cr_assert_eq(info.arena_size, (size_t)2 << 20);
}

Test(runtime, bad_environment_fails_every_call, .timeout = FT_TEST_TIMEOUT)
{
	struct ft_runtime_info info;

	setenv("FREETHREADING_BACKEND", "fibers", 1);
	errno = 0;
	cr_assert_null(ft_worker_new("w", (ft_target_fn)abort, NULL, 0));
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(ft_runtime_info(&info), -EINVAL);
	cr_assert_eq(ft_active_count(), -EINVAL);
}

Test(runtime, bad_arena_size_in_environment, .timeout = FT_TEST_TIMEOUT)
{
	setenv("FREETHREADING_ARENA_SIZE", "12Q", 1);
	cr_assert_eq(ft_init(NULL), -EINVAL);
	cr_assert_eq(ft_init(NULL), -EINVAL, "a failed set-up sticks");
}

static void noop(void *arg)
{
	(void)arg;
}

Test(runtime, arena_exhaustion_is_enomem_and_recoverable, .timeout = FT_TEST_TIMEOUT)
{
	struct ft_config cfg = { .arena_size = 1 << 20 };
	ft_worker_t *last = NULL;
	int made = 0;

	unsetenv("FREETHREADING_ARENA_SIZE");
	cr_assert_eq(ft_init(&cfg), 0);
	for (;;) {
		errno = 0;
		ft_worker_t *w = ft_worker_new(NULL, noop, NULL, 0);
		if (!w)
			break;
		last = w;
		made++;
	}
	cr_assert_eq(errno, ENOMEM);
	cr_assert_gt(made, 100, "a 1 MiB arena holds more than %d records", made);
	/* Nothing made so far is lost, and freeing makes room again. */
	cr_assert_str_eq(ft_worker_name(last), ft_worker_name(last));
	cr_assert_eq(ft_worker_free(last), 0);
	cr_assert_not_null(ft_worker_new("again", noop, NULL, 0));
}

Test(runtime, strerror_names_every_table_code, .timeout = FT_TEST_TIMEOUT)
{
	static const int codes[] = {
		ETIMEDOUT, EAGAIN, EINVAL, EPERM, EOVERFLOW, EPIPE,
		ESHUTDOWN, EOPNOTSUPP, ECHILD, EOWNERDEAD, EALREADY, EDEADLK,
		EMSGSIZE, ENOMEM, EBADF, ENAMETOOLONG,
	};
	size_t n = sizeof(codes) / sizeof(codes[0]);

	for (size_t i = 0; i < n; i++) {
		const char *s = ft_strerror(-codes[i]);
		cr_assert_not_null(s);
		cr_assert_str_eq(s, ft_strerror(codes[i]));
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(s, ft_strerror(-codes[j]));
	}
	cr_assert_str_eq(ft_strerror(-ENOENT), strerror(ENOENT));
	cr_assert_not_null(ft_strerror(-99999));
}

/* RLIMIT_AS at what the process maps now plus @room; false where an
 * address-space limit cannot be tested (sanitizers reserve terabytes). */
static bool limit_address_space(uint64_t room)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	(void)room;
	return false;
#else
	/* What the process maps now. */
	unsigned long long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%llu", &pages), 1);
	fclose(f);
	uint64_t mapped = pages * (uint64_t)sysconf(_SC_PAGESIZE);
	struct rlimit r = { mapped + room, RLIM_INFINITY };
	cr_assert_eq(setrlimit(RLIMIT_AS, &r), 0);
	return true;
#endif
}

static void join_one_worker(void)
{
	ft_worker_t *w = ft_worker_new(NULL, noop, NULL, 0);
	cr_assert_not_null(w, "errno %d", errno);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_worker_join(w, 30.0), 0);
	cr_assert_eq(ft_worker_free(w), 0);
}

Test(runtime, default_arena_is_ram_sized_shared_file, .timeout = FT_TEST_TIMEOUT)
{
	struct ft_runtime_info info;
	struct rlimit as;

	unsetenv("FREETHREADING_ARENA_SIZE");
	cr_assert_eq(getrlimit(RLIMIT_AS, &as), 0);
	if (as.rlim_cur != RLIM_INFINITY)
		cr_skip_test("an address-space limit is set");
	cr_assert_eq(ft_init(NULL), 0);
	cr_assert_eq(ft_runtime_info(&info), 0);
	uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) *
		       (uint64_t)sysconf(_SC_PAGESIZE);
	if (ram > SIZE_MAX / 4)
		ram = SIZE_MAX / 4;
	cr_assert_eq(info.arena_size, (ram + 4095) & ~(uint64_t)4095,
		     "arena %zu, RAM %llu", info.arena_size,
		     (unsigned long long)ram);
	/* A memfd: strict overcommit charges nothing up front. */
	char line[512];
	bool memfd = false;
	FILE *maps = fopen("/proc/self/maps", "r");
	cr_assert_not_null(maps);
	while (fgets(line, sizeof(line), maps))
		memfd |= strstr(line, "memfd:freethreading-arena") != NULL;
	fclose(maps);
	cr_assert(memfd, "the arena is not a memfd mapping");
	join_one_worker();
}

Test(runtime, default_arena_fits_under_an_address_space_limit,
     .timeout = FT_TEST_TIMEOUT)
{
	struct ft_runtime_info info;

	unsetenv("FREETHREADING_ARENA_SIZE");
	if (!limit_address_space((uint64_t)1000 << 20))
		cr_skip_test("address-space limits and sanitizers do not mix");
	cr_assert_eq(ft_init(NULL), 0);
	cr_assert_eq(ft_runtime_info(&info), 0);
	cr_assert_leq(info.arena_size, (size_t)250 << 20, "%zu", info.arena_size);
	cr_assert_geq(info.arena_size, (size_t)16 << 20, "%zu", info.arena_size);
	join_one_worker();
}

Test(runtime, an_arena_that_does_not_fit_is_not_final, .timeout = FT_TEST_TIMEOUT)
{
	struct ft_config huge = { .arena_size = (size_t)1 << 30 };
	struct ft_config small = { .arena_size = (size_t)64 << 20 };
	struct ft_runtime_info info;

	unsetenv("FREETHREADING_ARENA_SIZE");
	if (!limit_address_space((uint64_t)200 << 20))
		cr_skip_test("address-space limits and sanitizers do not mix");
	cr_assert_eq(ft_init(&huge), -ENOMEM, "a named size is taken or refused");
	cr_assert_eq(ft_init(&huge), -ENOMEM, "tried again, not remembered");
	cr_assert_eq(ft_init(&small), 0);
	cr_assert_eq(ft_runtime_info(&info), 0);
	cr_assert_eq(info.arena_size, (size_t)64 << 20);
	join_one_worker();
}
