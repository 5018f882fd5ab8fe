/*
 * libFuzzer harness: each input is a program of calls on a few handles of
 * every primitive and queue kind, with sizes, counts and timeouts taken
 * from the input, and handles that may be live, freed (stale) or forged
 * (pointers into the middle of objects, into the arena's header, onto the
 * stack).  Whatever the input, a call must return a documented code and
 * never crash, hang or leak (ASan, UBSan, LeakSanitizer watch).
 *
 * One thread, so nothing may wait: every timeout is 0, a passed deadline,
 * NaN or a few microseconds.  Build and run: make check-fuzz.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "freethreading.h"

#define SLOTS 4

enum kind { LOCK, RLOCK, SEM, EVENT, COND, BARRIER, QUEUE, SQUEUE, SHARED,
	    KINDS };

struct input {
	const uint8_t *p;
	size_t n;
};

static unsigned byte(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint32_t word(struct input *in)
{
	uint32_t v = byte(in);
	v |= (uint32_t)byte(in) << 8;
	v |= (uint32_t)byte(in) << 16;
	return v | (uint32_t)byte(in) << 24;
}

static double timeout(struct input *in)
{
	static const double t[] = { 0, -0.5, -1e-9, -1.0000001, 1e-6, 2e-6,
				    -1e300, -INFINITY };
	unsigned b = byte(in);
	if (b == 0xff)
		return NAN;
	return t[b % (sizeof(t) / sizeof(t[0]))];
}

static int ignore(int r)
{
	/* Every code is fine as long as it is one: negative errnos, or a
	 * count / flag / index.  Sanitizers judge the rest. */
	return r;
}

struct world {
	void *h[KINDS][SLOTS];     /* live or stale (freed) handles */
	void *stale[KINDS][SLOTS];
	unsigned char stack_junk[64];
};

/* A handle for a call: live, stale, NULL, or forged near a real one. */
static void *pick(struct world *w, struct input *in, enum kind k)
{
	unsigned b = byte(in), s = b % SLOTS;
	switch (b >> 5) {
	case 0: case 1: case 2: case 3:
		return w->h[k][s];
	case 4:
		return w->stale[k][s];
	case 5:
		return NULL;
	case 6: {
		/* Inside or just around some object: offsets that are not a
		 * block start, blocks of another type, the arena header. */
		char *base = w->h[byte(in) % KINDS][s];
		if (!base)
			return w->stack_junk;
		return base + (int32_t)word(in) % 8192;
	}
	default:
		return w->stack_junk + byte(in) % 32;
	}
}

static int drop(enum kind k, void *p);

static void make(struct world *w, enum kind k, unsigned s, struct input *in)
{
	void *p = NULL;
	if (w->h[k][s] && drop(k, w->h[k][s]) == 0)
		w->h[k][s] = NULL;
	unsigned v = byte(in);
	switch (k) {
	case LOCK: p = ft_lock_new(); break;
	case RLOCK: p = ft_rlock_new(); break;
	case SEM: p = v & 1 ? ft_bounded_semaphore_new((int)(v >> 1) - 8)
			    : ft_semaphore_new((int)(v >> 1) - 8); break;
	case EVENT: p = ft_event_new(); break;
	case COND: p = ft_condition_new(v & 1 ? pick(w, in, LOCK)
					      : v & 2 ? pick(w, in, RLOCK) : NULL);
		break;
	case BARRIER: p = ft_barrier_new(v % 4, NULL, NULL, timeout(in)); break;
	case QUEUE: p = ft_queue_new((int)(int8_t)byte(in)); break;
	case SQUEUE: p = ft_simple_queue_new(); break;
	case SHARED: p = ft_shared_alloc(1 + word(in) % 100000); break;
	default: break;
	}
	if (p)
		w->h[k][s] = p;
}

static int drop(enum kind k, void *p)
{
	switch (k) {
	case LOCK: return ft_lock_free(p);
	case RLOCK: return ft_rlock_free(p);
	case SEM: return ft_semaphore_free(p);
	case EVENT: return ft_event_free(p);
	case COND: return ft_condition_free(p);
	case BARRIER: return ft_barrier_free(p);
	case QUEUE: return ft_queue_free(p);
	case SQUEUE: return ft_simple_queue_free(p);
	case SHARED: return ft_shared_free(p);
	default: return -EINVAL;
	}
}

static void call(struct world *w, struct input *in)
{
	enum kind k = (enum kind)(byte(in) % KINDS);
	unsigned op = byte(in) % 8, s = byte(in) % SLOTS;
	static unsigned char buf[70000];
	size_t len = 0;
	void *out = NULL;
	void *h = pick(w, in, k);

	if (op == 0) {
		make(w, k, s, in);
		return;
	}
	if (op == 1) {
		/* Free; the pointer stays as a stale handle. */
		if (h && drop(k, h) == 0) {
			for (unsigned i = 0; i < SLOTS; i++)
				if (w->h[k][i] == h)
					w->h[k][i] = NULL;
			w->stale[k][s] = h;
		}
		return;
	}
	double t = timeout(in);
	size_t size = word(in) % sizeof(buf);
	switch (k) {
	case LOCK:
		ignore(op & 1 ? ft_lock_acquire(h, t) : ft_lock_release(h));
		ignore(ft_lock_locked(h));
		break;
	case RLOCK:
		ignore(op & 1 ? ft_rlock_acquire(h, t) : ft_rlock_release(h));
		ignore(ft_rlock_locked(h));
		break;
	case SEM:
		ignore(op & 1 ? ft_semaphore_acquire(h, t)
			      : ft_semaphore_release(h, (int)(int8_t)byte(in)));
		ignore(ft_semaphore_value(h));
		break;
	case EVENT:
		ignore(op == 2 ? ft_event_set(h) : op == 3 ? ft_event_clear(h)
			       : ft_event_wait(h, t));
		ignore(ft_event_is_set(h));
		break;
	case COND:
		ignore(op == 2 ? ft_condition_acquire(h, t)
		       : op == 3 ? ft_condition_release(h)
		       : op == 4 ? ft_condition_wait(h, t)
		       : op == 5 ? ft_condition_notify(h, (int)(int8_t)byte(in))
				 : ft_condition_notify_all(h));
		break;
	case BARRIER:
		ignore(op == 2 ? ft_barrier_reset(h) : op == 3 ? ft_barrier_abort(h)
			       : ft_barrier_wait(h, t));
		ignore(ft_barrier_parties(h));
		ignore(ft_barrier_n_waiting(h));
		ignore(ft_barrier_broken(h));
		break;
	case QUEUE:
		if (op == 2)
			ignore(ft_queue_put(h, buf, size, t));
		else if (op == 3)
			ignore(ft_queue_get(h, byte(in) & 1 ? buf : NULL, size,
					    byte(in) & 1 ? &len : NULL, t));
		else if (op == 4) {
			if (ft_queue_get_alloc(h, &out, &len, t) == 0)
				free(out);
		} else if (op == 5)
			ignore(ft_queue_task_done(h));
		else
			ignore(ft_queue_join(h, t));
		ignore(ft_queue_qsize(h));
		ignore(ft_queue_empty(h));
		ignore(ft_queue_full(h));
		break;
	case SQUEUE:
		ignore(op & 1 ? ft_simple_queue_put(h, buf, size)
			      : ft_simple_queue_get(h, buf, size, &len, t));
		ignore(ft_simple_queue_empty(h));
		break;
	case SHARED:
		if (h == w->h[k][s] && h)
			memset(h, (int)op, 1); /* live shared memory is ours */
		break;
	default:
		break;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Small, so that running out of arena is explored too. */
	struct ft_config cfg = { .arena_size = 8 << 20 };
	return ft_init(&cfg) == 0 ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct world w;
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < 200 && in.n; i++)
		call(&w, &in);
	/* Leave nothing behind for the next input.  Conditions first: they
	 * may own an RLock of their own. */
	static const enum kind order[] = { COND, BARRIER, QUEUE, SQUEUE, SEM,
					   EVENT, LOCK, RLOCK, SHARED };
	for (unsigned s = 0; s < SLOTS; s++) {
		if (w.h[LOCK][s])
			ft_lock_release(w.h[LOCK][s]);
		while (w.h[RLOCK][s] && ft_rlock_release(w.h[RLOCK][s]) == 0)
			;
	}
	for (size_t i = 0; i < KINDS; i++)
		for (unsigned s = 0; s < SLOTS; s++)
			if (w.h[order[i]][s])
				drop(order[i], w.h[order[i]][s]);
	return 0;
}
