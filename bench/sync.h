/* SPDX-License-Identifier: MIT */
/* What the sync topic's files (sync.c, pingpong.c) share. */
#ifndef BENCH_SYNC_H
#define BENCH_SYNC_H

#include <pthread.h>

#include "harness.h"

/* Initialise a PTHREAD_PROCESS_SHARED mutex / condvar, or fail(). */
void init_mutex(pthread_mutex_t *m);
void init_cond(pthread_cond_t *c);

/* fail() unless a pthread call returned 0 / an ft_ call returned 0. */
void check_pt(int r, const char *what);
void check_ft(int r, const char *what);

/* pingpong.c: round trips between the main worker and its partner. */
extern const struct pair_ops events_ops;    /* two ft_event_t */
extern const struct pair_ops pipes_ops;     /* two pipes */
extern const struct pair_ops cond_ours_ops; /* ft_condition_t + ft_lock_t */
extern const struct pair_ops cond_base_ops; /* pthread_cond + mutex */

#endif
