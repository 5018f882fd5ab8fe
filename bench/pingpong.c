/* SPDX-License-Identifier: MIT */
/*
 * Ping-pong cases: one round trip is the main worker handing the turn to
 * its partner and getting it back, through two Events (against two
 * pipes) or a Condition (against a process-shared condvar + mutex).
 */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <unistd.h>

#include <freethreading.h>

#include "sync.h"

/* ------------------------------------------------- event / pipe ping-pong */

struct pingpong {
	ft_event_t *ping, *pong;
	int to_partner[2], to_main[2]; /* pipes: [0] read end, [1] write */
};

static int events_init(void *st)
{
	struct pingpong *p = st;
	if (!(p->ping = ft_event_new()) || !(p->pong = ft_event_new()))
		fail("ft_event_new", -errno);
	return 0;
}

static void events_fini(void *st)
{
	struct pingpong *p = st;
	check_ft(ft_event_free(p->ping), "ft_event_free");
	check_ft(ft_event_free(p->pong), "ft_event_free");
}

static int events_reset(void *st)
{
	struct pingpong *p = st;
	check_ft(ft_event_clear(p->ping), "ft_event_clear");
	check_ft(ft_event_clear(p->pong), "ft_event_clear");
	return 0;
}

/* A round trip: set ping, wait for pong, clear it.  The partner clears
 * ping before it sets pong, so no set is lost to a late clear. */
static int events_main(void *st, uint64_t n)
{
	struct pingpong *p = st;
	for (uint64_t i = 0; i < n; i++) {
		check_ft(ft_event_set(p->ping), "ft_event_set");
		check_ft(ft_event_wait(p->pong, FT_FOREVER), "ft_event_wait");
		check_ft(ft_event_clear(p->pong), "ft_event_clear");
	}
	return 0;
}

static int events_partner(void *st, uint64_t n)
{
	struct pingpong *p = st;
	for (uint64_t i = 0; i < n; i++) {
		check_ft(ft_event_wait(p->ping, FT_FOREVER), "ft_event_wait");
		check_ft(ft_event_clear(p->ping), "ft_event_clear");
		check_ft(ft_event_set(p->pong), "ft_event_set");
	}
	return 0;
}

static int pipes_init(void *st)
{
	struct pingpong *p = st;
	if (pipe(p->to_partner) != 0 || pipe(p->to_main) != 0)
		fail("pipe", -errno);
	return 0;
}

static void pipes_fini(void *st)
{
	struct pingpong *p = st;
	for (int i = 0; i < 2; i++)
		if (close(p->to_partner[i]) != 0 || close(p->to_main[i]) != 0)
			fail("close", -errno);
}

static void put_byte(int fd)
{
	char b = 1;
	ssize_t r = write(fd, &b, 1);
	if (r != 1)
		fail("write(pipe)", r < 0 ? -errno : -EIO);
}

static void get_byte(int fd)
{
	char b;
	ssize_t r = read(fd, &b, 1);
	if (r != 1)
		fail("read(pipe)", r < 0 ? -errno : -EIO);
}

static int pipes_main(void *st, uint64_t n)
{
	struct pingpong *p = st;
	for (uint64_t i = 0; i < n; i++) {
		put_byte(p->to_partner[1]);
		get_byte(p->to_main[0]);
	}
	return 0;
}

static int pipes_partner(void *st, uint64_t n)
{
	struct pingpong *p = st;
	for (uint64_t i = 0; i < n; i++) {
		get_byte(p->to_partner[0]);
		put_byte(p->to_main[1]);
	}
	return 0;
}

const struct pair_ops events_ops = {
	.state_size = sizeof(struct pingpong),
	.init = events_init, .fini = events_fini, .reset = events_reset,
	.main_loop = events_main, .partner_loop = events_partner,
};

const struct pair_ops pipes_ops = {
	.state_size = sizeof(struct pingpong),
	.init = pipes_init, .fini = pipes_fini,
	.main_loop = pipes_main, .partner_loop = pipes_partner,
};

/* ------------------------------------------------- condition ping-pong */

/* turn 1: the partner's move; 0: the main worker's.  Each side holds the
 * lock for its whole loop except while it waits. */
struct condpp {
	ft_lock_t *lock;
	ft_condition_t *cond;
	alignas(64) pthread_mutex_t m;
	alignas(64) pthread_cond_t cv;
	alignas(64) int turn;
};

static int cond_init_ours(void *st)
{
	struct condpp *c = st;
	if (!(c->lock = ft_lock_new()))
		fail("ft_lock_new", -errno);
	if (!(c->cond = ft_condition_new(c->lock)))
		fail("ft_condition_new", -errno);
	return 0;
}

static void cond_fini_ours(void *st)
{
	struct condpp *c = st;
	check_ft(ft_condition_free(c->cond), "ft_condition_free");
	check_ft(ft_lock_free(c->lock), "ft_lock_free");
}

static int cond_init_base(void *st)
{
	struct condpp *c = st;
	init_mutex(&c->m);
	init_cond(&c->cv);
	return 0;
}

static void cond_fini_base(void *st)
{
	struct condpp *c = st;
	check_pt(pthread_cond_destroy(&c->cv), "pthread_cond_destroy");
	check_pt(pthread_mutex_destroy(&c->m), "pthread_mutex_destroy");
}

static int cond_reset(void *st)
{
	((struct condpp *)st)->turn = 0;
	return 0;
}

static int cond_ours_loop(struct condpp *c, uint64_t n, int mine, int next)
{
	check_ft(ft_condition_acquire(c->cond, FT_FOREVER),
		 "ft_condition_acquire");
	for (uint64_t i = 0; i < n; i++) {
		if (mine == 0) { /* main: start the round */
			c->turn = next;
			check_ft(ft_condition_notify(c->cond, 1),
				 "ft_condition_notify");
		}
		while (c->turn != mine)
			check_ft(ft_condition_wait(c->cond, FT_FOREVER),
				 "ft_condition_wait");
		if (mine == 1) { /* partner: answer */
			c->turn = next;
			check_ft(ft_condition_notify(c->cond, 1),
				 "ft_condition_notify");
		}
	}
	check_ft(ft_condition_release(c->cond), "ft_condition_release");
	return 0;
}

static int cond_base_loop(struct condpp *c, uint64_t n, int mine, int next)
{
	check_pt(pthread_mutex_lock(&c->m), "pthread_mutex_lock");
	for (uint64_t i = 0; i < n; i++) {
		if (mine == 0) {
			c->turn = next;
			check_pt(pthread_cond_signal(&c->cv),
				 "pthread_cond_signal");
		}
		while (c->turn != mine)
			check_pt(pthread_cond_wait(&c->cv, &c->m),
				 "pthread_cond_wait");
		if (mine == 1) {
			c->turn = next;
			check_pt(pthread_cond_signal(&c->cv),
				 "pthread_cond_signal");
		}
	}
	check_pt(pthread_mutex_unlock(&c->m), "pthread_mutex_unlock");
	return 0;
}

static int cond_ours_main(void *st, uint64_t n)
{
	return cond_ours_loop(st, n, 0, 1);
}

static int cond_ours_partner(void *st, uint64_t n)
{
	return cond_ours_loop(st, n, 1, 0);
}

static int cond_base_main(void *st, uint64_t n)
{
	return cond_base_loop(st, n, 0, 1);
}

static int cond_base_partner(void *st, uint64_t n)
{
	return cond_base_loop(st, n, 1, 0);
}

const struct pair_ops cond_ours_ops = {
	.state_size = sizeof(struct condpp),
	.init = cond_init_ours, .fini = cond_fini_ours, .reset = cond_reset,
	.main_loop = cond_ours_main, .partner_loop = cond_ours_partner,
};

const struct pair_ops cond_base_ops = {
	.state_size = sizeof(struct condpp),
	.init = cond_init_base, .fini = cond_fini_base, .reset = cond_reset,
	.main_loop = cond_base_main, .partner_loop = cond_base_partner,
};
