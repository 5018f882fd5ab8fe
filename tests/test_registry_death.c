/* SPDX-License-Identifier: MIT */
/*
 * The worker registry (src/worker/registry.c) when a process dies holding
 * its lock: the supervisor frees the lock, the next holder rebuilds the
 * derived links, and enumeration, spawning and freeing go on.  Linked with
 * the internal library to reach the lock through ft__workers_collect.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "helpers.h"
#include "worker/worker.h"

static int *inside;

/* Runs holding the registry's lock. */
static bool die_here(ft_worker_t *w, void *ctx)
{
	(void)w;
	(void)ctx;
	__atomic_store_n(inside, 1, __ATOMIC_RELEASE);
	raise(SIGKILL);
	return false;
}

static void die_holding_registry_lock(void *arg)
{
	(void)arg;
	ft__workers_collect(NULL, 0, die_here, NULL);
}

static void nothing(void *arg)
{
	(void)arg;
}

static void spawn_and_join_one(void)
{
	ft_worker_t *w = ft_worker_new(NULL, nothing, NULL, 0);
	cr_assert_not_null(w);
	cr_assert_eq(ft_worker_start(w), 0);
	cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
	cr_assert_eq(ft_worker_free(w), 0);
}

/* Detached: the reaper frees the record, which takes the very lock the
 * victim died holding. */
static void holder_killed(bool detached)
{
	ft_test_needs_processes();
	inside = ft_test_shared(sizeof(*inside));
	ft_worker_t *before = ft_worker_new("before", nothing, NULL, 0);
	ft_worker_t *w = ft_worker_new("victim", die_holding_registry_lock,
				       NULL, FT_WORKER_PROCESS);
	ft_worker_t *after = ft_worker_new("after", nothing, NULL, 0);
	cr_assert(before && w && after);
	cr_assert_eq(ft_worker_start(w), 0);
	if (detached) {
		cr_assert_eq(ft_worker_free(w), 0);
		/* Freed by its reaper once the lock is repaired: then only
		 * the main record is running. */
		double end = ft_test_now() + FT_TEST_GUARD_S;
		while (ft_test_now() < end &&
		       (!__atomic_load_n(inside, __ATOMIC_ACQUIRE) ||
			ft_worker_is_alive(w) != -EBADF))
			ft_test_nap();
		cr_assert_eq(ft_worker_is_alive(w), -EBADF, "victim's record not freed");
	} else {
		cr_assert_eq(ft_worker_join(w, FT_FOREVER), 0);
		int code = 0;
		cr_assert_eq(ft_worker_exitcode(w, &code), 0);
		cr_assert_eq(code, -SIGKILL);
		cr_assert_eq(ft_worker_free(w), 0);
	}
	cr_assert_eq(*inside, 1, "the victim died outside the lock");

	/* The list is whole: the records made around the victim's are there,
	 * in order, and it changes again. */
	ft_worker_t *v[4];
	cr_assert_eq(ft_active_count(), 1);
	spawn_and_join_one();
	cr_assert_eq(ft_worker_start(before), 0);
	cr_assert_eq(ft_worker_start(after), 0);
	int n = ft_enumerate(v, 4);
	cr_assert_geq(n, 1);
	cr_assert_eq(v[0], ft_current_worker(), "main first");
	cr_assert_eq(ft_worker_join(before, FT_FOREVER), 0);
	cr_assert_eq(ft_worker_join(after, FT_FOREVER), 0);
	cr_assert_eq(ft_worker_free(after), 0);
	cr_assert_eq(ft_worker_free(before), 0);
	cr_assert_eq(ft_active_count(), 1);
	spawn_and_join_one();
}

Test(registry_death, holder_killed_joined, .timeout = FT_TEST_TIMEOUT)
{
	holder_killed(false);
}

Test(registry_death, holder_killed_detached, .timeout = FT_TEST_TIMEOUT)
{
	holder_killed(true);
}
