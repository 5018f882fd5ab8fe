/* Stress: many workers, many rounds, one driver (stress/driver.h) bound to
 * each primitive by its adapter (stress/<primitive>.h). */
#include <errno.h>

#include "helpers.h"
#include "stress/driver.h"
#include "stress/barrier.h"
#include "stress/condition.h"
#include "stress/lock.h"
#include "stress/rlock.h"
#include "stress/semaphore.h"

#define WORKERS 4

Test(sync_stress, lock_counter_exact, .timeout = FT_TEST_TIMEOUT)
{
	stress_drive(&stress_lock, WORKERS, 300000);
}

Test(sync_stress, rlock_counter_exact, .timeout = FT_TEST_TIMEOUT)
{
	stress_drive(&stress_rlock, WORKERS, 300000);
}

Test(sync_stress, semaphore_at_most_k_holders, .timeout = FT_TEST_TIMEOUT)
{
	stress_drive(&stress_semaphore, WORKERS, 300000);
}

Test(sync_stress, barrier_generations_consistent, .timeout = FT_TEST_TIMEOUT)
{
	stress_drive(&stress_barrier, WORKERS, 2000);
}

Test(sync_stress, condition_producer_consumer_conserves,
     .timeout = FT_TEST_TIMEOUT)
{
	stress_drive(&stress_condition, WORKERS, 50000);
}
