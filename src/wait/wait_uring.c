/* SPDX-License-Identifier: MIT */
/*
 * io_uring futex ops (kernel 6.7+).  liburing 2.3 predates them, so the
 * opcodes are spelled here and checked with the ring's opcode probe.
 *
 * One small ring per thread, made on the thread's first wait.  Each wait
 * is synchronous: submit, then reap every CQE it produced, so no request
 * is ever left in flight when the thread forks or exits.  A forked child
 * inherits every thread's ring (their fds and mappings, shared with the
 * parent's rings): it drops them all at once (atfork handler), or a
 * process worker would hold one fd per thread that ever slept in its
 * parent, keeping those rings alive.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <liburing.h>

#include "base/atomic.h"
#include "base/sys.h"
#include "wait/wait.h"

#define OP_FUTEX_WAIT 51
#define OP_FUTEX_WAKE 52
#define OP_FUTEX_WAITV 53

#define UD_FUTEX 1
#define UD_TIMEOUT 2

/* A thread's ring, on the list of every thread's ring. */
struct ring_node {
	struct io_uring ring;
	struct ring_node *prev, *next;
};

static __thread struct ring_node my_node;
static FT__TLS int ring_ready; /* 1 ready, -1 could not be made */
static pthread_key_t ring_key;
static pthread_mutex_t rings_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ring_node *rings;  /* under rings_mu */

static void ring_destroy(void *unused)
{
	(void)unused;
	if (ring_ready == 1) {
		pthread_mutex_lock(&rings_mu);
		if (my_node.prev)
			my_node.prev->next = my_node.next;
		else
			rings = my_node.next;
		if (my_node.next)
			my_node.next->prev = my_node.prev;
		pthread_mutex_unlock(&rings_mu);
		io_uring_queue_exit(&my_node.ring);
	}
	ring_ready = 0;
}

static void rings_lock(void)
{
	pthread_mutex_lock(&rings_mu);
}

static void rings_unlock(void)
{
	pthread_mutex_unlock(&rings_mu);
}

/* In the child: unmap and close every inherited ring (this only touches
 * the child's fd table and mappings; the parent's rings go on). */
static void rings_forget_in_child(void)
{
	for (struct ring_node *n = rings; n; n = n->next)
		io_uring_queue_exit(&n->ring);
	rings = NULL;
	ring_ready = 0;
	pthread_mutex_init(&rings_mu, NULL);
}

static void ring_key_init(void)
{
	pthread_key_create(&ring_key, ring_destroy);
	pthread_atfork(rings_lock, rings_unlock, rings_forget_in_child);
}

static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static struct io_uring *my_ring(void)
{
	if (ring_ready == 1)
		return &my_node.ring;
	if (ring_ready < 0)
		return NULL;
	pthread_once(&key_once, ring_key_init);
	if (io_uring_queue_init(8, &my_node.ring, 0) < 0) {
		ring_ready = -1;
		return NULL;
	}
	pthread_mutex_lock(&rings_mu);
	my_node.prev = NULL;
	my_node.next = rings;
	if (rings)
		rings->prev = &my_node;
	rings = &my_node;
	pthread_mutex_unlock(&rings_mu);
	ring_ready = 1;
	/* Any non-NULL value makes the destructor run at thread exit. */
	pthread_setspecific(ring_key, &my_node);
	return &my_node.ring;
}

static void prep_futex(struct io_uring_sqe *sqe, unsigned op, void *addr,
		       uint64_t val, unsigned len)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = (uint8_t)op;
	/* futex2 flags go in fd: a 32-bit word, shared (no FUTEX2_PRIVATE). */
	sqe->fd = op == OP_FUTEX_WAITV ? 0 : FUTEX2_SIZE_U32;
	sqe->addr = (uint64_t)(uintptr_t)addr;
	sqe->off = val;
	sqe->len = len;
	sqe->addr3 = op == OP_FUTEX_WAITV ? 0 : FUTEX_BITSET_MATCH_ANY;
	sqe->user_data = UD_FUTEX;
}

/*
 * Submit the prepared futex SQE (plus a linked absolute timeout when @abs)
 * and return the futex op's result.  A link always yields two CQEs: the
 * futex result and the timeout's (-ETIME or -ECANCELED); both are reaped.
 */
static int submit_and_reap(struct io_uring *r, struct io_uring_sqe *sqe,
			   const struct timespec *abs)
{
	struct __kernel_timespec ts;
	unsigned expect = 1;

	if (abs) {
		sqe->flags |= IOSQE_IO_LINK;
		ts.tv_sec = abs->tv_sec;
		ts.tv_nsec = abs->tv_nsec;
		struct io_uring_sqe *t = io_uring_get_sqe(r);
		if (!t)
			return -EBUSY; /* cannot happen: every wait reaps all */
		io_uring_prep_link_timeout(t, &ts, IORING_TIMEOUT_ABS);
		t->user_data = UD_TIMEOUT;
		expect = 2;
	}
	int ret;
	do
		ret = io_uring_submit_and_wait(r, expect);
	while (ret == -EINTR || ret == -EAGAIN || ret == -EBUSY);
	if (ret < 0)
		return ret;

	int res = 0;
	for (unsigned got = 0; got < expect;) {
		struct io_uring_cqe *cqe;
		ret = io_uring_wait_cqe(r, &cqe);
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			return ret;
		if (cqe->user_data == UD_FUTEX)
			res = cqe->res;
		io_uring_cqe_seen(r, cqe);
		got++;
	}
	return res;
}

/* A cancelled request is a timeout only if there was a deadline: a wait
 * without one never reports -ETIMEDOUT (the kernel also cancels requests
 * when a ring goes away), it is then a spurious wake-up. */
static int map_wait_result(int res, const struct timespec *abs)
{
	if (res >= 0)
		return res;
	if (res == -EAGAIN)
		return -EAGAIN;
	if (abs && (res == -ECANCELED || res == -ETIME || res == -ETIMEDOUT))
		return -ETIMEDOUT;
	return 0; /* EINTR and the like: the caller rechecks */
}

static int uring_wait(uint32_t *word, uint32_t val, const struct timespec *abs)
{
	struct io_uring *r = my_ring();

	if (!r)
		return ft__wait_futex_ops.wait(word, val, abs);
	struct io_uring_sqe *sqe = io_uring_get_sqe(r);
	if (!sqe)
		return ft__wait_futex_ops.wait(word, val, abs);
	prep_futex(sqe, OP_FUTEX_WAIT, word, val, 0);
	int res = map_wait_result(submit_and_reap(r, sqe, abs), abs);
	return res > 0 ? 0 : res;
}

static int uring_waitv(const struct ft__wait_word *v, unsigned n,
		       const struct timespec *abs)
{
	struct ft__futex_waitv fv[FT__WAITV_MAX];
	struct io_uring *r = my_ring();

	if (n == 0 || n > FT__WAITV_MAX)
		return -EINVAL;
	if (!r)
		return ft__wait_futex_ops.waitv(v, n, abs);
	for (unsigned i = 0; i < n; i++)
		fv[i] = (struct ft__futex_waitv){
			.val = v[i].val,
			.uaddr = (uint64_t)(uintptr_t)v[i].word,
			.flags = FUTEX2_SIZE_U32,
		};
	struct io_uring_sqe *sqe = io_uring_get_sqe(r);
	if (!sqe)
		return ft__wait_futex_ops.waitv(v, n, abs);
	prep_futex(sqe, OP_FUTEX_WAITV, fv, 0, n);
	return map_wait_result(submit_and_reap(r, sqe, abs), abs);
}

static int uring_wake(uint32_t *word, int n)
{
	/* A wake is one syscall either way; making a ring for it would cost
	 * a thread that never sleeps (a worker ending) some 30 us.  Shared
	 * futex keys are the same for both paths, so sleepers in rings are
	 * reached by FUTEX_WAKE too. */
	if (ring_ready != 1)
		return ft__wait_futex_ops.wake(word, n);
	struct io_uring *r = &my_node.ring;
	struct io_uring_sqe *sqe = io_uring_get_sqe(r);
	if (!sqe)
		return ft__wait_futex_ops.wake(word, n);
	prep_futex(sqe, OP_FUTEX_WAKE, word, (uint64_t)n, 0);
	int res = submit_and_reap(r, sqe, NULL);
	return res < 0 ? 0 : res;
}

static bool usable;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

static void probe(void)
{
	struct io_uring r;
	uint32_t word = 1;

	/* EPERM (io_uring_disabled, seccomp) and ENOSYS both land here. */
	if (io_uring_queue_init(4, &r, 0) < 0)
		return;
	struct io_uring_probe *p = io_uring_get_probe_ring(&r);
	if (p && io_uring_opcode_supported(p, OP_FUTEX_WAIT) &&
	    io_uring_opcode_supported(p, OP_FUTEX_WAKE) &&
	    io_uring_opcode_supported(p, OP_FUTEX_WAITV)) {
		/* Listed is not proven: a mismatching wait must fail with
		 * EAGAIN and a wake of nobody must succeed. */
		struct io_uring_sqe *sqe = io_uring_get_sqe(&r);
		int w = -EINVAL;
		if (sqe) {
			prep_futex(sqe, OP_FUTEX_WAIT, &word, 0, 0);
			w = submit_and_reap(&r, sqe, NULL);
		}
		sqe = io_uring_get_sqe(&r);
		if (sqe) {
			prep_futex(sqe, OP_FUTEX_WAKE, &word, 1, 0);
			usable = w == -EAGAIN && submit_and_reap(&r, sqe, NULL) == 0;
		}
	}
	if (p)
		io_uring_free_probe(p);
	io_uring_queue_exit(&r);
}

bool ft__wait_uring_usable(void)
{
	pthread_once(&probe_once, probe);
	return usable;
}

const struct ft__wait_ops ft__wait_uring_ops = {
	.name = "uring",
	.wait = uring_wait,
	.waitv = uring_waitv,
	.wake = uring_wake,
};
