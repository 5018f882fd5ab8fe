/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "arena.h"
#include "atomic.h"
#include "freethreading.h"
#include "lockword.h"

#define MIN_CLASS 6  /* 64-byte blocks */
#define MAX_CLASS 48
#define HDR_SIZE FT__ARENA_HDR_SIZE
#define CHECK_MAGIC FT__CHECK_MAGIC
#define block ft__block

struct arena_hdr {
	uint32_t lock;                /* owner word guarding the fields below */
	uint32_t seq[FT__SEQ_COUNT];
	uint64_t size;
	uint64_t bump;                /* first uncarved byte; release-published */
	uint64_t free_head[MAX_CLASS + 1]; /* offsets of free blocks, 0 = none */
	void *root;
};

char *ft__arena_base;
uint64_t *ft__arena_bump;
static struct arena_hdr *hdr;
#define base ft__arena_base

int ft__arena_init(size_t size)
{
	if (size < FT__ARENA_MIN_SIZE)
		size = FT__ARENA_MIN_SIZE;
	size = (size + 4095) & ~(size_t)4095;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	hdr = p;
	hdr->size = size;
	hdr->bump = HDR_SIZE;
	ft__arena_bump = &hdr->bump;
	/* Last: the inline check treats a NULL base as "no arena". */
	ft__store_release(&base, (char *)p);
	return 0;
}

static struct block *block_at(uint64_t off)
{
	return (struct block *)(base + off);
}

static unsigned class_for(size_t size)
{
	size_t need = size + sizeof(struct block);
	unsigned cls = MIN_CLASS;
	while (cls <= MAX_CLASS && ((size_t)1 << cls) < need)
		cls++;
	return cls;
}

static void arena_lock(void)
{
	/* A holder that died mid-operation left the free lists consistent:
	 * each step below is one word store, so at worst a block leaks.
	 * Taking the lock with EOWNERDEAD therefore needs no repair. */
	(void)ft__lockword_acquire_spin(&hdr->lock, ft__tid());
}

static void arena_unlock(void)
{
	ft__lockword_release(&hdr->lock);
}

void *ft__arena_alloc(size_t size)
{
	if (size > hdr->size)
		return NULL;
	unsigned cls = class_for(size);
	if (cls > MAX_CLASS)
		return NULL;
	uint64_t bsize = (uint64_t)1 << cls;
	struct block *b = NULL;
	bool reused = false;

	arena_lock();
	uint64_t off = hdr->free_head[cls];
	if (off) {
		b = block_at(off);
		hdr->free_head[cls] = b->next_free;
		reused = true;
	} else if (hdr->bump + bsize <= hdr->size) {
		off = hdr->bump;
		b = block_at(off);
		b->cls = cls;
		b->check = off ^ CHECK_MAGIC;
		b->tag = FT__TAG_RESERVED;
		/* Release pairs with the acquire in walkers and checks: a
		 * block below bump has its header written. */
		ft__store_release(&hdr->bump, off + bsize);
	}
	if (b)
		ft__store_relaxed(&b->tag, (uint32_t)FT__TAG_RESERVED);
	arena_unlock();
	if (!b)
		return NULL;
	/* Never-carved memory is still zero: don't touch (commit) it. */
	if (reused)
		memset(b + 1, 0, bsize - sizeof(*b));
	return b + 1;
}

void ft__arena_publish(void *obj, uint32_t tag)
{
	struct block *b = (struct block *)obj - 1;
	ft__store_release(&b->tag, tag);
}

static struct block *find_block(const void *obj)
{
	if (!base)
		return NULL;
	uintptr_t p = (uintptr_t)obj;
	uintptr_t lo = (uintptr_t)base + HDR_SIZE + sizeof(struct block);
	if (p < lo || p >= (uintptr_t)base + ft__load_acquire(&hdr->bump))
		return NULL;
	uint64_t off = p - (uintptr_t)base - sizeof(struct block);
	if (off & 15)
		return NULL;
	struct block *b = block_at(off);
	if (b->check != (off ^ CHECK_MAGIC))
		return NULL;
	return b;
}

int ft__arena_free(void *obj, uint32_t tag)
{
	if (!obj)
		return -EINVAL;
	struct block *b = find_block(obj);
	uint32_t expected = tag;
	/* Only one of two racing frees can move the tag off @tag. */
	if (!b || !ft__cas_acq_rel(&b->tag, &expected, (uint32_t)FT__TAG_FREE))
		return -EBADF;
	uint64_t off = (uint64_t)((char *)b - base);
	arena_lock();
	b->next_free = hdr->free_head[b->cls];
	hdr->free_head[b->cls] = off;
	arena_unlock();
	return 0;
}

void *ft__arena_next(void *prev, uint32_t *tag)
{
	uint64_t end = ft__load_acquire(&hdr->bump);
	uint64_t off = HDR_SIZE;
	if (prev) {
		struct block *pb = (struct block *)prev - 1;
		off = (uint64_t)((char *)pb - base) + ((uint64_t)1 << pb->cls);
	}
	if (off >= end)
		return NULL;
	struct block *b = block_at(off);
	*tag = ft__load_acquire(&b->tag);
	return b + 1;
}

uint32_t *ft__arena_lockword(void)
{
	return &hdr->lock;
}

uint32_t ft__arena_seq_next(int which)
{
	return ft__fetch_add_relaxed(&hdr->seq[which], 1u) + 1;
}

void **ft__arena_root(void)
{
	return &hdr->root;
}

size_t ft__arena_size(void)
{
	return hdr ? hdr->size : 0;
}

size_t ft__arena_used(void)
{
	return hdr ? ft__load_acquire(&hdr->bump) : 0;
}
