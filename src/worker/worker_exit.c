/* SPDX-License-Identifier: MIT */
/* ft_worker_exit: one way to end a worker with a code, for both kinds. */
#include <pthread.h>
#include <stdlib.h>

#include "lockword/lockword.h"
#include "worker/worker.h"

FT_API void ft_worker_exit(int code)
{
	ft_worker_t *w = ft_current_worker();

	/* The process worker's own thread: as its target's return. */
	if (w && w == ft__process_record)
		ft__process_exit(code);
	/* A thread worker (of any process). */
	if (w && !(w->flags & (W_MAIN | W_DUMMY)))
		ft__thread_exit(code);
	/* The program's main thread (or a process's, if the runtime could
	 * not give it a record): the program ends. */
	if (!w || (w->flags & W_MAIN) || ft__tid() == (uint32_t)getpid())
		exit(code);
	/* A thread the library did not start: that thread ends (its Dummy
	 * record is freed by its thread-specific destructor). */
	pthread_exit(NULL);
}
