/* SPDX-License-Identifier: MIT */
/* The owner table (owner.h): taking, ending and judging owner ids. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/stat.h>

#include "base/atomic.h"
#include "base/sys.h"
#include "lockword/owner.h"
#include "wait/wait.h"

#define TABLE_HDR 128u
#define MAX_SLOTS 65536u

struct table_hdr {
	uint32_t cursor; /* round robin (4) */
	uint32_t pad[15];
	/* (5): a count in bits 1..31, bit 0 set while someone sleeps on it.
	 * A line of its own: sleepers mark it, bumps are rare. */
	uint32_t deaths;
};
#define DEATHS_SLEEPERS 1u

static struct table_hdr *table;
static struct ft__owner_slot *slots;
static uint32_t nslots;

FT__TLS uint32_t ft__owner_cache;
FT__TLS unsigned ft__owner_holds;
/* This process's slot, taken on first use (0: none yet). */
static uint32_t process_id;
static pthread_key_t end_key;
static pthread_once_t end_once = PTHREAD_ONCE_INIT;

/* This process's PID namespace (the inode of /proc/self/ns/pid), 0 if
 * /proc cannot tell; cached (UINT32_MAX: not yet), reset in a child. */
static uint32_t pidns_cache = UINT32_MAX;
static uint32_t own_pidns(void)
{
	uint32_t ns = ft__load_relaxed(&pidns_cache);
	if (ns == UINT32_MAX) {
		struct stat st;
		ns = stat("/proc/self/ns/pid", &st) == 0 ? (uint32_t)st.st_ino : 0;
		ft__store_relaxed(&pidns_cache, ns);
	}
	return ns;
}

static uint32_t gen_of(uint32_t v)
{
	return v & FT__OWNER_GEN_MASK;
}

static uint32_t state_of(uint32_t v)
{
	return v & FT__OWNER_STATE;
}

size_t ft__owners_table_size(size_t arena_size)
{
	size_t n = arena_size >> 10;
	if (n < 256)
		n = 256;
	if (n > MAX_SLOTS)
		n = MAX_SLOTS;
	return (TABLE_HDR + n * sizeof(struct ft__owner_slot) + 4095) & ~(size_t)4095;
}

void ft__owners_attach(void *mem, size_t bytes)
{
	size_t n = (bytes - TABLE_HDR) / sizeof(struct ft__owner_slot);
	table = mem;
	slots = (struct ft__owner_slot *)((char *)mem + TABLE_HDR);
	nslots = n > MAX_SLOTS ? MAX_SLOTS : (uint32_t)n;
	/* Slot 0 is the anonymous owner: live for good. */
	slots[0].word = gen_of(FT__OWNER_ANON) | FT__OWNER_LIVE;
}

/* Slot word @v no longer holds owner @id's generation live or dead: the
 * owner ended (owner.h, 1). */
static bool ended(uint32_t v, uint32_t id)
{
	return gen_of(v) != gen_of(id) || state_of(v) == FT__OWNER_FREE ||
	       state_of(v) == FT__OWNER_RESERVED;
}

static struct ft__owner_slot *slot_of(uint32_t id)
{
	uint32_t idx = id & FT__OWNER_IDX_MASK;
	return idx < nslots ? &slots[idx] : NULL;
}

/* Whether a LIVE thread slot's process has ended (its slot freed or taken
 * again): the thread is gone and its slot may be taken (1). */
static bool orphaned(const struct ft__owner_slot *s)
{
	if (!s->process)
		return false;
	const struct ft__owner_slot *p = slot_of(s->process);
	return ended(ft__load_acquire(&p->word), s->process);
}

static uint32_t take_slot(int32_t pid, int32_t tid_or_ns, uint32_t process,
			  uint32_t flags)
{
	if (!slots || nslots < 2)
		return 0;
	for (uint32_t tries = 0; tries < nslots; tries++) {
		uint32_t idx = ft__fetch_add_relaxed(&table->cursor, 1u) %
				       (nslots - 1) + 1;
		struct ft__owner_slot *s = &slots[idx];
		/* Acquire: a LIVE slot's fields are read by orphaned(). */
		uint32_t v = ft__load_acquire(&s->word);
		if (state_of(v) != FT__OWNER_FREE &&
		    !(state_of(v) == FT__OWNER_LIVE && orphaned(s)))
			continue;
		uint32_t gen = (gen_of(v) + (1u << FT__OWNER_GEN_SHIFT)) &
			       FT__OWNER_GEN_MASK;
		if (!ft__cas_acq_rel(&s->word, &v, gen | FT__OWNER_RESERVED))
			continue;
		s->pid = pid;
		s->tid = tid_or_ns;
		s->process = process;
		/* Release: whoever sees LIVE sees the fields. */
		ft__store_release(&s->word, gen | flags | FT__OWNER_LIVE);
		return gen | idx;
	}
	return 0;
}

/* Move @id's slot from LIVE to @to (same generation); false if it was
 * not LIVE in that generation. */
static bool end_slot(uint32_t id, uint32_t to)
{
	struct ft__owner_slot *s = slot_of(id);
	if (!s || id == FT__OWNER_ANON)
		return false;
	uint32_t v = ft__load_relaxed(&s->word);
	do {
		if (gen_of(v) != gen_of(id) || state_of(v) != FT__OWNER_LIVE)
			return false;
	} while (!ft__cas_acq_rel(&s->word, &v, gen_of(v) | to));
	return true;
}

/* (5): after an end is visible in its slot, wake the sleepers to judge
 * their holders again.  Seq_cst with the sleepers' marking CAS: either
 * the bump sees the mark and wakes, or the marker reads the bumped value
 * (and judges after the end). */
static void bump_deaths(void)
{
	if (!table)
		return;
	uint32_t v = ft__load_relaxed(&table->deaths);
	while (!ft__cas_seq_cst(&table->deaths, &v,
				(v + 2) & ~DEATHS_SLEEPERS))
		;
	if (v & DEATHS_SLEEPERS)
		ft__wake(&table->deaths, INT_MAX);
}

uint32_t *ft__owner_deaths(uint32_t *val)
{
	uint32_t v = ft__load_seq_cst(&table->deaths);
	while (!(v & DEATHS_SLEEPERS) &&
	       !ft__cas_seq_cst(&table->deaths, &v, v | DEATHS_SLEEPERS))
		;
	*val = v | DEATHS_SLEEPERS;
	return &table->deaths;
}

static void end_at_thread_exit(void *unused)
{
	(void)unused;
	ft__owner_thread_end();
}

static void make_end_key(void)
{
	(void)pthread_key_create(&end_key, end_at_thread_exit);
}

uint32_t ft__owner_slow(void)
{
	pid_t pid = getpid();
	uint32_t proc = ft__load_relaxed(&process_id);
	if (!proc) {
		/* Unreported end: checked as (3) says. */
		uint32_t mine = take_slot(pid, (int32_t)own_pidns(), 0, 0);
		uint32_t none = 0;
		if (mine && !ft__cas_acq_rel(&process_id, &none, mine)) {
			end_slot(mine, FT__OWNER_FREE); /* another thread won */
			mine = none;
		}
		proc = mine;
	}
	uint32_t id = proc ? take_slot(pid, (int32_t)ft__sys_gettid(), proc, 0) : 0;
	if (!id)
		id = FT__OWNER_ANON;
	ft__owner_cache = id;
	/* The slot is freed as the thread ends (a worker's own end does it
	 * sooner; then this finds nothing to do). */
	pthread_once(&end_once, make_end_key);
	(void)pthread_setspecific(end_key, (void *)1);
	return id;
}

void ft__owner_thread_end(void)
{
	uint32_t id = ft__owner_cache;
	ft__owner_cache = 0;
	if (id && id != FT__OWNER_ANON && end_slot(id, FT__OWNER_FREE) &&
	    ft__owner_holds)
		bump_deaths();
	ft__owner_holds = 0;
}

uint32_t ft__owner_process_new(void)
{
	return take_slot(0, 0, 0, FT__OWNER_CERTAIN);
}

void ft__owner_process_adopt(uint32_t id)
{
	if (!id)
		return;
	/* CERTAIN: never checked, so neither pid nor namespace is needed
	 * (and the child starts without a system call for them). */
	ft__store_release(&process_id, id);
}

void ft__owner_process_end(uint32_t id, bool died)
{
	if (id && end_slot(id, died ? FT__OWNER_DIED : FT__OWNER_FREE))
		bump_deaths();
}

void ft__owner_process_retire(uint32_t id)
{
	struct ft__owner_slot *s = slot_of(id);
	if (!s || !id)
		return;
	uint32_t v = ft__load_relaxed(&s->word);
	while (gen_of(v) == gen_of(id) && state_of(v) == FT__OWNER_DIED)
		if (ft__cas_acq_rel(&s->word, &v, gen_of(v) | FT__OWNER_FREE))
			break;
}

/* A fallback check (3) found the owner of @s gone: DIED, sleepers told.
 * The slot stays DIED: no repair pass will mark its words. */
static void found_dead(struct ft__owner_slot *s, uint32_t v)
{
	if (ft__cas_acq_rel(&s->word, &v, gen_of(v) | FT__OWNER_DIED))
		bump_deaths();
}

enum ft__fate ft__owner_fate(uint32_t id, bool check)
{
	if (id == FT__OWNER_ANON)
		return FT__OWNER_IS_LIVE;
	struct ft__owner_slot *s = slot_of(id);
	if (!s)
		return FT__OWNER_ENDED;
	uint32_t v = ft__load_acquire(&s->word);
	if (ended(v, id))
		return FT__OWNER_ENDED;
	if (state_of(v) == FT__OWNER_DIED)
		return FT__OWNER_IS_DEAD;

	/* LIVE: the fields are visible (acquire above).  Its process first. */
	struct ft__owner_slot *p = s->process ? slot_of(s->process) : NULL;
	if (p) {
		uint32_t pv = ft__load_acquire(&p->word);
		if (ended(pv, s->process))
			return FT__OWNER_ENDED;
		if (state_of(pv) == FT__OWNER_DIED)
			return FT__OWNER_IS_DEAD;
		if (check && !(pv & FT__OWNER_CERTAIN) && p->pidns &&
		    p->pidns == own_pidns() && !ft__sys_process_alive(p->pid)) {
			found_dead(p, pv);
			return FT__OWNER_IS_DEAD;
		}
	}
	if (check && s->process == ft__load_relaxed(&process_id) &&
	    !ft__sys_thread_alive(s->pid, s->tid)) {
		found_dead(s, v);
		return FT__OWNER_IS_DEAD;
	}
	return FT__OWNER_IS_LIVE;
}

/* A forked child is a new process: its threads and it take new slots (a
 * process worker's child adopts the one its parent took for it). */
static void after_fork_child(void)
{
	ft__owner_cache = 0;
	ft__store_relaxed(&process_id, 0u);
	ft__store_relaxed(&pidns_cache, UINT32_MAX);
}

__attribute__((constructor)) static void register_fork_handler(void)
{
	pthread_atfork(NULL, NULL, after_fork_child);
}
