/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "arena/arena.h"
#include "base/atomic.h"
#include "freethreading.h"
#include "lockword/lockword.h"

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
	uint64_t first;               /* the first block, after the owner table */
	uint64_t free_head[MAX_CLASS + 1]; /* offsets of free blocks, 0 = none */
	uint64_t large_free;          /* free large blocks, any sizes */
	void *root;
};

char *ft__arena_base;
uint64_t ft__arena_limit;
static struct arena_hdr *hdr;
#define base ft__arena_base

/*
 * Shared memory that is not charged as committed memory: a memfd's pages
 * are file pages, so strict overcommit (vm.overcommit_memory=2) charges
 * nothing up front, where an anonymous MAP_SHARED mapping is charged in
 * full even with MAP_NORESERVE.  Anonymous where memfd_create is refused
 * (seccomp, old kernels), or where RLIMIT_FSIZE would not let the file
 * grow (ftruncate past it raises SIGXFSZ).  The fd is closed at once: the
 * mapping keeps the file, and an fd the program might close and reuse is
 * nothing to keep.
 */
static void *map_shared(size_t size)
{
	struct rlimit fsize;
	bool file_ok = getrlimit(RLIMIT_FSIZE, &fsize) != 0 ||
		       fsize.rlim_cur == RLIM_INFINITY ||
		       (uint64_t)fsize.rlim_cur >= size;
	int fd = file_ok ? memfd_create("freethreading-arena", MFD_CLOEXEC) : -1;
	if (fd >= 0) {
		void *p = MAP_FAILED;
		if (ftruncate(fd, (off_t)size) == 0)
			p = mmap(NULL, size, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_NORESERVE, fd, 0);
		close(fd);
		if (p != MAP_FAILED)
			return p;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Bytes of address space this process maps now (/proc/self/statm). */
static uint64_t mapped_now(void)
{
	char buf[64];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoull(buf, NULL, 10) * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* valgrind puts its preload objects in the client's LD_PRELOAD. */
static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "/vgpreload_");
}

/*
 * The default size.  Address space is cheap and pages are used only as
 * objects need them, so reserve what RAM could hold (a queue then holds
 * what memory holds).  Under RLIMIT_AS, take at most a quarter of what the
 * limit leaves, so the program keeps room for its own mappings and thread
 * stacks.  Under valgrind, 64 MiB: memcheck's leak check reads every
 * mapped byte, and a read of a shared page that was never written
 * allocates it (a RAM-sized arena took minutes and gigabytes per process).
 */
#define VALGRIND_SIZE ((uint64_t)64 << 20)
static size_t default_size(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint64_t want = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize
					       : (uint64_t)1 << 30;
	if (want > SIZE_MAX / 4)
		want = SIZE_MAX / 4;  /* 32-bit address spaces */
	if (under_valgrind() && want > VALGRIND_SIZE)
		want = VALGRIND_SIZE;
	struct rlimit as;
	if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
		uint64_t used = mapped_now();
		uint64_t left = as.rlim_cur > used ? as.rlim_cur - used : 0;
		if (want > left / 4)
			want = left / 4;
	}
	return want < FT__ARENA_FLOOR ? FT__ARENA_FLOOR : (size_t)want;
}

int ft__arena_init(size_t size)
{
	bool named = size != 0;
	if (!named)
		size = default_size();
	if (size < FT__ARENA_MIN_SIZE)
		size = FT__ARENA_MIN_SIZE;
	size = (size + 4095) & ~(size_t)4095;
	void *p = map_shared(size);
	/* A default that does not fit halves down to the floor; a size the
	 * program named is taken or refused. */
	while (!p && !named && size / 2 >= FT__ARENA_FLOOR) {
		size /= 2;
		p = map_shared(size);
	}
	if (!p)
		return -ENOMEM;
	hdr = p;
	hdr->size = size;
	/* The owner table (lockword/owner.h) lives between the header and
	 * the first block. */
	size_t owners = ft__owners_table_size(size);
	ft__owners_attach((char *)p + HDR_SIZE, owners);
	hdr->first = hdr->bump = HDR_SIZE + owners;
	ft__arena_limit = size - sizeof(struct block);
	/* Last: the inline check treats a NULL base as "no arena". */
	ft__store_release(&base, (char *)p);
	return 0;
}

static struct block *block_at(uint64_t off)
{
	return (struct block *)(base + off);
}

/* Freed blocks this large give their pages back to the kernel. */
#define PUNCH_FROM ((uint64_t)64 << 10)
/* In block.size: the pages past the header's were given back, and read
 * as zeros. */
#define PUNCHED 1u
#define SIZE_MASK (~(uint64_t)63)
/* Blocks of 256 KiB and more are "large": sized to the page, not to a
 * power of two, and split when reused (below). */
#define LARGE_FROM ((uint64_t)256 << 10)
#define PAGE ((uint64_t)4096)

static uint64_t block_size(const struct block *b)
{
	return b->size & SIZE_MASK;
}

/* Give the pages of a free block back, but the one holding its header
 * (the free list and walkers read it).  MADV_REMOVE frees the memfd's (or
 * shmem's) pages themselves, not just this mapping of them; a later
 * touch brings zero pages.  Before the block goes on a free list: nobody
 * else can have it. */
static void give_back(struct block *b)
{
	uint64_t bsize = block_size(b);
	uintptr_t lo = ((uintptr_t)(b + 1) + PAGE - 1) & ~(PAGE - 1);
	uintptr_t hi = ((uintptr_t)b + bsize) & ~(PAGE - 1);
	if (hi > lo && madvise((void *)lo, hi - lo, MADV_REMOVE) == 0)
		b->size = bsize | PUNCHED;
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
	(void)ft__lockword_acquire_spin(&hdr->lock, ft__owner());
}

static void arena_unlock(void)
{
	ft__lockword_release(&hdr->lock);
}

/* Carve @bsize bytes at the bump offset (arena lock held), or NULL. */
static struct block *carve(uint64_t bsize, unsigned cls)
{
	if (hdr->bump + bsize > hdr->size)
		return NULL;
	uint64_t off = hdr->bump;
	struct block *b = block_at(off);
	b->cls = cls;
	b->size = bsize;
	b->check = off ^ CHECK_MAGIC;
	b->tag = FT__TAG_RESERVED;
	/* Release pairs with the acquire in walkers and checks: a block
	 * below bump has its header written. */
	ft__store_release(&hdr->bump, off + bsize);
	return b;
}

/*
 * The smallest free large block of at least @bsize (best fit: a ring
 * that grows again finds the one it left), split if the rest is large
 * too (arena lock held).  The split keeps a lock-free walk
 * sound: the rest's header is written, then the block's size shrunk
 * (release), so a walker sees the old size and skips both, or the new
 * one and finds the rest's header.  Large blocks are never merged: a
 * walker may stand on any header it has read.  Each step is one store
 * (the pop, the shrink, the push), so a holder killed among them leaks
 * the rest at worst.
 */
static struct block *take_large(uint64_t bsize)
{
	uint64_t *best = NULL, have = UINT64_MAX;
	for (uint64_t *link = &hdr->large_free; *link;
	     link = &block_at(*link)->next_free) {
		uint64_t sz = block_size(block_at(*link));
		if (sz >= bsize && sz < have) {
			best = link;
			have = sz;
		}
	}
	if (best) {
		uint64_t off = *best;
		struct block *b = block_at(off);
		*best = b->next_free;
		if (have - bsize >= LARGE_FROM) {
			uint64_t roff = off + bsize;
			struct block *r = block_at(roff);
			r->cls = 0;
			r->tag = FT__TAG_FREE;
			r->check = roff ^ CHECK_MAGIC;
			/* Pages past the rest's header page were given back
			 * with the block, if it was. */
			r->size = (have - bsize) | (b->size & PUNCHED);
			ft__store_release(&b->size, bsize | (b->size & PUNCHED));
			r->next_free = hdr->large_free;
			hdr->large_free = roff;
		}
		return b;
	}
	return NULL;
}

void *ft__arena_alloc(size_t size)
{
	if (size > hdr->size)
		return NULL;
	unsigned cls = class_for(size);
	bool large = ((uint64_t)1 << (cls > MAX_CLASS ? MAX_CLASS : cls)) >= LARGE_FROM;
	uint64_t bsize;
	if (large)
		bsize = (size + sizeof(struct block) + PAGE - 1) & ~(PAGE - 1);
	else
		bsize = (uint64_t)1 << cls;
	struct block *b = NULL;

	arena_lock();
	if (large) {
		b = take_large(bsize);
		if (!b)
			b = carve(bsize, 0);
	} else if (hdr->free_head[cls]) {
		b = block_at(hdr->free_head[cls]);
		hdr->free_head[cls] = b->next_free;
	} else {
		b = carve(bsize, cls);
	}
	bool reused = b && b->tag == FT__TAG_FREE;
	if (b)
		ft__store_relaxed(&b->tag, (uint32_t)FT__TAG_RESERVED);
	arena_unlock();
	if (!b)
		return NULL;
	/* Never-carved memory is still zero, and so are pages given back:
	 * don't touch (commit) them. */
	if (reused) {
		uint64_t dirty = block_size(b) - sizeof(*b);
		if (b->size & PUNCHED) {
			uintptr_t lo = ((uintptr_t)(b + 1) + PAGE - 1) & ~(PAGE - 1);
			if (lo - (uintptr_t)(b + 1) < dirty)
				dirty = lo - (uintptr_t)(b + 1);
			b->size &= SIZE_MASK;
		}
		memset(b + 1, 0, dirty);
	}
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
	uintptr_t lo = (uintptr_t)base + hdr->first + sizeof(struct block);
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
	if (block_size(b) >= PUNCH_FROM)
		give_back(b);
	arena_lock();
	uint64_t *head = b->cls ? &hdr->free_head[b->cls] : &hdr->large_free;
	b->next_free = *head;
	*head = off;
	arena_unlock();
	return 0;
}

void *ft__arena_next(void *prev, uint32_t *tag)
{
	uint64_t end = ft__load_acquire(&hdr->bump);
	uint64_t off = hdr->first;
	if (prev) {
		struct block *pb = (struct block *)prev - 1;
		/* Acquire pairs with a split's shrink (take_large). */
		off = (uint64_t)((char *)pb - base) +
		      (ft__load_acquire(&pb->size) & SIZE_MASK);
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
