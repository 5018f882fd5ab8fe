/* SPDX-License-Identifier: MIT */
/*
 * What sanitizer builds need.  A process worker is forked from a process
 * whose other threads may be inside the allocator at that moment.  GCC
 * 12's LeakSanitizer does not take its allocator locks around fork, so
 * its leak check at exit() in such a child waits for ever on a lock that
 * was copied held (a target that calls exit() hung the sanitizer suite
 * about one run in three).  Process workers therefore skip the exit-time
 * leak check; the main process keeps it.  LeakSanitizer asks this hook,
 * if the program defines it, just before it checks.
 */
#include <stdbool.h>

#include "worker/worker.h"

ft_worker_t *ft__process_record;

#ifdef __SANITIZE_ADDRESS__
int __lsan_is_turned_off(void) __attribute__((visibility("default")));

int __lsan_is_turned_off(void)
{
	return ft__process_record != NULL;
}
#endif
