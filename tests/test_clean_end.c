/* SPDX-License-Identifier: MIT */
/*
 * Which ends of a process worker make its reaper walk the arena
 * (src/worker/repair.c).  One that took an owner word and then ended
 * through its target's return or exit() as its only thread notes a clean
 * end (W_CLEAN_END, src/worker/exit.c): what it left held, its takers
 * judge themselves, so no walk (a walk of an arena of 1M objects cost
 * 17 ms per such worker: bench/spawn.c).  One that ends with another
 * thread still running, or through _exit(), notes nothing and is walked
 * after.  Linked with the internal library to read the record's flags.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"
#include "worker/worker.h"

enum how { RETURN, EXIT, UNDERSCORE_EXIT, THREAD_LEFT };

static void *block(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void end_after_a_lock(void *arg)
{
	enum how how = (enum how)(uintptr_t)arg;
	ft_lock_t *l = ft_lock_new();
	if (!l || ft_lock_acquire(l, FT_FOREVER) != 0)
		_exit(90);
	ft_lock_release(l);
	pthread_t t;
	switch (how) {
	case RETURN:
		return;
	case EXIT:
		exit(3);
	case UNDERSCORE_EXIT:
		_exit(4);
	case THREAD_LEFT:
		/* A thread that still exists at the end, as one inside
		 * a call of ours would. */
		if (pthread_create(&t, NULL, block, NULL) != 0)
			_exit(91);
		return;
	}
}

static uint32_t end_flags(enum how how, int want_code)
{
	ft_worker_t *w = ft_worker_new(NULL, end_after_a_lock,
				       (void *)(uintptr_t)how, FT_WORKER_PROCESS);
	cr_assert_not_null(w);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
	int code = -1;
	cr_assert_eq(ft_worker_exitcode(w, &code), 0);
	cr_assert_eq(code, want_code);
	uint32_t flags = __atomic_load_n(&w->flags, __ATOMIC_ACQUIRE);
	cr_assert(flags & W_MAY_OWN, "it took a Lock: its end may need repair");
	cr_assert_eq(ft_worker_free(w), 0);
	return flags;
}

Test(clean_end, return_alone_is_clean, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	cr_assert(end_flags(RETURN, 0) & W_CLEAN_END);
}

Test(clean_end, exit_alone_is_clean, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	cr_assert(end_flags(EXIT, 3) & W_CLEAN_END);
}

Test(clean_end, underscore_exit_is_walked, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	cr_assert_not(end_flags(UNDERSCORE_EXIT, 4) & W_CLEAN_END);
}

Test(clean_end, thread_left_running_is_walked, .timeout = FT_TEST_TIMEOUT)
{
	ft_test_needs_processes();
	cr_assert_not(end_flags(THREAD_LEFT, 0) & W_CLEAN_END);
}
