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
#define SLAB_MAX_CLASS 16 /* 64 KiB: the largest small block */
#define SLAB_MAX ((uint64_t)256 << 10)
#define SLAB_MIN ((uint64_t)16 << 10)
#define SPLIT_FROM SLAB_MIN   /* a rest at least this big is split off */
#define PAGE ((uint64_t)4096)
#define HDR_SIZE FT__ARENA_HDR_SIZE
#define CHECK_MAGIC FT__CHECK_MAGIC
#define block ft__block

struct arena_hdr {
	uint32_t lock;                /* owner word guarding the fields below */
	uint32_t seq[FT__SEQ_COUNT];
	uint64_t size;
	uint64_t bump;                /* first uncarved byte; release-published */
	uint64_t first;               /* the first block, after the owner table */
	uint64_t slab;                /* bytes of a slab: 1/64 of the arena,
					 16 to 256 KiB */
	uint64_t partial[SLAB_MAX_CLASS + 1]; /* slabs with room, per class */
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
	hdr->slab = size / 64 < SLAB_MIN ? SLAB_MIN
		  : size / 64 > SLAB_MAX ? SLAB_MAX
					 : (size / 64) & ~(PAGE - 1);
	ft__arena_limit = size - sizeof(struct block);
	/* Last: the inline check treats a NULL base as "no arena". */
	ft__store_release(&base, (char *)p);
	return 0;
}

static struct block *block_at(uint64_t off)
{
	return (struct block *)(base + off);
}

/*
 * Blocks.  A *large* block (a request of more than 64 KiB with its
 * header) is sized to the page, lives on the large free list when free,
 * is taken best fit and split.  *Small* blocks (64 B to 64 KiB, powers of
 * two) are carved from *slabs*: large blocks of 1/64 of the arena (16 to 256
 * KiB, or room for two blocks of a big class), tagged SLAB, each serving
 * one class.  A slab whose blocks are all free goes back to
 * the large list, so memory freed as small blocks of one size serves any
 * size later.
 *
 * Invariants:
 * 1. Top-level blocks (large ones, slabs) tile [first, bump): each
 *    header's size (whole pages, at least one) is the step to the next.
 *    They change only under the arena lock, and so do the walks
 *    (ft__arena_next), which therefore always stand on a header.
 *    Lock-free readers (handle checks, find_block) rely only on the
 *    check field: a block that stops being one has it cleared (5).
 * 2. A small block's header names its slab (in .size) and its class; a
 *    slab's blocks below its `carved` are the ones a walker visits.  A
 *    slab's region stays one top-level block until it is freed whole.
 * 3. Every list and tiling step is one store, under the arena lock, made
 *    in an order where a holder killed between two of them leaks a
 *    block (tagged FREE, on no list) and breaks nothing: taking the lock
 *    with EOWNERDEAD needs no repair.  Counts (`used`) can only err high
 *    that way (a slab kept), or low for the block the dying allocator
 *    was taking (nobody holds it).
 * 4. Freed large blocks (slabs included) give their pages back to the
 *    kernel (MADV_REMOVE: the memfd's pages themselves), all but the one
 *    holding the header; PUNCHED in .size says all of those read zero,
 *    so reuse need not touch (commit) them.
 * 5. No two listed free blocks are neighbours: a freed block absorbs a
 *    free block after it and is absorbed by one before it (the absorbed
 *    header's check is cleared, then the tiling steps over it, then its
 *    page is given back), and a free block that ends at bump lowers bump
 *    instead (pages past its header given back first, its header page
 *    after).  So after a burst the arena is one free block or none, and
 *    the memory above bump reads zero but for the first page of what was
 *    last returned, which carve zeroes.
 */
#define PUNCHED 1u            /* in a large block's .size */
#define SIZE_MASK (~(uint64_t)63)

struct slab {             /* at the slab block's payload */
	uint32_t cls;
	uint32_t used;        /* blocks handed out */
	uint64_t free;        /* a free block (offset), 0 none; linked by next_free */
	uint64_t carved;      /* offset of the first block never carved */
	uint64_t end;         /* offset of the slab's end */
	uint64_t next;        /* the next slab of the class with room (offset) */
	uint32_t listed;      /* on its class's list of slabs with room */
	uint32_t pad0;
	uint64_t zero_from;   /* never-carved memory from here on reads zero */
	uint32_t pad[2];
};
#define SLAB_HDR sizeof(struct slab)
_Static_assert(SLAB_HDR % 16 == 0, "blocks after a slab header stay aligned");

static uint64_t offset_of(const void *p)
{
	return (uint64_t)((const char *)p - base);
}

static uint64_t block_size(const struct block *b)
{
	return b->size & SIZE_MASK;
}

static struct slab *slab_at(uint64_t blk_off)
{
	return (struct slab *)(block_at(blk_off) + 1);
}

/* Give the pages of [@off, @off + @len) back to the kernel; true when
 * they read zero now.  Large blocks are page-aligned: the owner table
 * before the first is whole pages, and so is every large block's size. */
static bool punch(uint64_t off, uint64_t len)
{
	return len == 0 || madvise(base + off, len, MADV_REMOVE) == 0;
}

/* Give back the pages of a free large block but its header's (4).  Its
 * freer's alone: on no list yet. */
static void give_back(struct block *b)
{
	uint64_t bsize = block_size(b);
	if (!(b->size & PUNCHED) && punch(offset_of(b) + PAGE, bsize - PAGE))
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
	/* Every list step is one store (3): taking the lock with
	 * EOWNERDEAD needs no repair. */
	(void)ft__lockword_acquire_spin(&hdr->lock, ft__owner());
}

static void arena_unlock(void)
{
	ft__lockword_release(&hdr->lock);
}

/* Carve @bsize bytes at the bump offset (arena lock held), or NULL. */
static struct block *carve(uint64_t bsize)
{
	if (hdr->bump + bsize > hdr->size)
		return NULL;
	uint64_t off = hdr->bump;
	struct block *b = block_at(off);
	/* The first page may hold what a block returned to the top left
	 * there, if its giver died before giving the page back (5). */
	memset(b, 0, PAGE);
	b->cls = 0;
	b->size = bsize;
	b->check = off ^ CHECK_MAGIC;
	b->tag = FT__TAG_RESERVED;
	/* Release pairs with the acquire in walkers and checks: a block
	 * below bump has its header written. */
	ft__store_release(&hdr->bump, off + bsize);
	return b;
}

/* The smallest free large block of at least @bsize (best fit: a ring
 * that grows again finds the one it left), split if the rest is big
 * enough (1) (arena lock held). */
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
	if (!best)
		return NULL;
	uint64_t off = *best;
	struct block *b = block_at(off);
	*best = b->next_free;
	if (have - bsize >= SPLIT_FROM) {
		uint64_t roff = off + bsize;
		struct block *r = block_at(roff);
		r->cls = 0;
		r->tag = FT__TAG_FREE;
		r->check = roff ^ CHECK_MAGIC;
		/* Pages past the rest's header page were given back with
		 * the block, if it was. */
		r->size = (have - bsize) | (b->size & PUNCHED);
		ft__store_release(&b->size, bsize | (b->size & PUNCHED));
		r->next_free = hdr->large_free;
		hdr->large_free = roff;
	}
	return b;
}

/* A large block of @bsize bytes, tagged RESERVED, payload zeroed as far
 * as it was ever touched (arena lock held for the list, released for the
 * memset by the caller: see large_zero). */
static struct block *large_take(uint64_t bsize, bool *reused)
{
	struct block *b = take_large(bsize);
	*reused = b != NULL;
	if (!b)
		b = carve(bsize);
	if (b)
		ft__store_relaxed(&b->tag, (uint32_t)FT__TAG_RESERVED);
	return b;
}

/* Zero what a reused large block's payload may hold: never-carved memory
 * is zero, and so are pages given back (4): don't touch (commit) them. */
static void large_zero(struct block *b, uint64_t limit)
{
	uint64_t dirty = block_size(b) - sizeof(*b);
	if (b->size & PUNCHED) {
		uintptr_t lo = ((uintptr_t)(b + 1) + PAGE - 1) & ~(PAGE - 1);
		if (lo - (uintptr_t)(b + 1) < dirty)
			dirty = lo - (uintptr_t)(b + 1);
		b->size &= SIZE_MASK;
	}
	memset(b + 1, 0, dirty < limit ? dirty : limit);
}

/* A new slab for class @cls, on its class's list (arena lock held): the
 * arena's slab size, or room for two blocks of a large class.  Sizes are
 * whole pages, like every large block's (.size keeps flags in its low
 * bits). */
static struct slab *slab_new(unsigned cls)
{
	bool reused;
	uint64_t two = 2 * ((uint64_t)1 << cls) + SLAB_HDR + sizeof(struct block);
	uint64_t bytes = (two + PAGE - 1) & ~(PAGE - 1);
	if (bytes < hdr->slab)
		bytes = hdr->slab;
	struct block *b = large_take(bytes, &reused);
	if (!b)
		return NULL;
	uint64_t boff = offset_of(b);
	struct slab *s = slab_at(boff);
	/* What reads zero: all of a carved block, all but the first page
	 * of one given back (4); each block is zeroed as it is handed out,
	 * up to there, so untouched pages stay uncommitted. */
	uint64_t zero_from = !reused ? offset_of(s) + SLAB_HDR
			   : b->size & PUNCHED ? boff + PAGE
					      : boff + block_size(b);
	/* Only the slab's own header needs zeros here. */
	if (reused)
		large_zero(b, SLAB_HDR);
	s->cls = cls;
	s->used = 0;
	s->free = 0;
	s->carved = offset_of(s) + SLAB_HDR;
	s->end = boff + block_size(b);
	s->zero_from = zero_from;
	s->next = hdr->partial[cls];
	s->listed = 1;
	/* Release: walkers read the slab's fields once they see the tag. */
	ft__store_release(&b->tag, (uint32_t)FT__TAG_SLAB);
	hdr->partial[cls] = boff;
	return s;
}

/* Take @s's block off its class's list (arena lock held). */
static void slab_unlist(struct slab *s, uint64_t boff)
{
	for (uint64_t *link = &hdr->partial[s->cls]; *link;
	     link = &slab_at(*link)->next)
		if (*link == boff) {
			*link = s->next;
			break;
		}
	s->listed = 0;
}

static void *small_alloc(unsigned cls)
{
	uint64_t stride = (uint64_t)1 << cls;
	arena_lock();
	uint64_t boff = hdr->partial[cls];
	struct slab *s = boff ? slab_at(boff) : slab_new(cls);
	if (!s) {
		arena_unlock();
		return NULL;
	}
	boff = offset_of(s) - sizeof(struct block);
	struct block *b;
	uint64_t dirty = stride - sizeof(*b);
	if (s->free) {
		b = block_at(s->free);
		s->free = b->next_free;
	} else {
		uint64_t off = s->carved;
		b = block_at(off);
		b->cls = cls;
		b->size = boff;       /* its slab (2) */
		b->check = off ^ CHECK_MAGIC;
		b->tag = FT__TAG_RESERVED;
		/* Release: a walker reads only blocks below carved. */
		ft__store_release(&s->carved, off + stride);
		uint64_t payload = off + sizeof(*b);
		dirty = s->zero_from <= payload ? 0
		      : s->zero_from - payload < dirty ? s->zero_from - payload
						       : dirty;
	}
	ft__store_relaxed(&b->tag, (uint32_t)FT__TAG_RESERVED);
	s->used++;
	if (!s->free && s->carved + stride > s->end)
		slab_unlist(s, boff);      /* full */
	arena_unlock();
	memset(b + 1, 0, dirty);
	return b + 1;
}

void *ft__arena_alloc(size_t size)
{
	if (size > hdr->size)
		return NULL;
	unsigned cls = class_for(size);
	if (cls <= SLAB_MAX_CLASS)
		return small_alloc(cls);
	uint64_t bsize = (size + sizeof(struct block) + PAGE - 1) & ~(PAGE - 1);
	bool reused;
	arena_lock();
	struct block *b = large_take(bsize, &reused);
	arena_unlock();
	if (!b)
		return NULL;
	if (reused)
		large_zero(b, UINT64_MAX);
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

/* The link to the listed free block that starts at @start, or (with
 * @start 0) the one that ends at @end; NULL if none (arena lock held). */
static uint64_t *listed_free(uint64_t start, uint64_t end)
{
	for (uint64_t *link = &hdr->large_free; *link;
	     link = &block_at(*link)->next_free) {
		uint64_t off = *link;
		if (start ? off == start : off + block_size(block_at(off)) == end)
			return link;
	}
	return NULL;
}

/* Free @x, the block right after free @into, becomes part of it (arena
 * lock held; neither on a list).  The order is (5)'s: a holder killed
 * between the steps leaks @into, and nobody reads @x's header again. */
static void absorb(struct block *into, struct block *x)
{
	uint64_t size = block_size(into) + block_size(x);
	bool punched = (into->size & PUNCHED) && (x->size & PUNCHED);
	x->check = 0;
	/* Not PUNCHED until @x's header page reads zero too. */
	ft__store_release(&into->size, size);
	if (punched && punch(offset_of(x), PAGE))
		ft__store_release(&into->size, size | PUNCHED);
}

/* Free @b, on no list, that ends at bump: give it back to the top (arena
 * lock held); false if its pages could not be given back. */
static bool return_to_top(struct block *b)
{
	uint64_t off = offset_of(b);
	if (off + block_size(b) != hdr->bump)
		return false;
	give_back(b);
	if (!(b->size & PUNCHED))
		return false;
	b->check = 0;
	ft__store_release(&hdr->bump, off);
	/* If this fails, carve zeroes the page. */
	(void)punch(off, PAGE);
	return true;
}

/* A large block (or an emptied slab), tagged FREE and on no list, back to
 * the arena: merged with its free neighbours, then returned to the top or
 * listed (5). */
static void large_free(struct block *b)
{
	give_back(b);
	arena_lock();
	uint64_t off = offset_of(b);
	uint64_t *link = listed_free(off + block_size(b), 0);
	if (link) {
		struct block *next = block_at(*link);
		*link = next->next_free;
		absorb(b, next);
	}
	link = listed_free(0, off);
	if (link) {
		/* Off the list while it grows: a holder killed now leaks it. */
		struct block *prev = block_at(*link);
		*link = prev->next_free;
		absorb(prev, b);
		b = prev;
	}
	if (!return_to_top(b)) {
		b->next_free = hdr->large_free;
		hdr->large_free = offset_of(b);
	}
	arena_unlock();
}

static void small_free(struct block *b)
{
	uint64_t boff = b->size;
	struct slab *s = slab_at(boff);
	arena_lock();
	b->next_free = s->free;
	s->free = offset_of(b);
	s->used--;
	if (s->used == 0) {
		/* Empty: the slab goes back as a large block (tagged FREE
		 * before it leaves the lock: nobody takes it meanwhile). */
		if (s->listed)
			slab_unlist(s, boff);
		struct block *sb = block_at(boff);
		ft__store_release(&sb->tag, (uint32_t)FT__TAG_FREE);
		arena_unlock();
		large_free(sb);
		return;
	}
	if (!s->listed) {             /* it has room now */
		s->next = hdr->partial[s->cls];
		hdr->partial[s->cls] = boff;
		s->listed = 1;
	}
	arena_unlock();
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
	if (b->cls)
		small_free(b);
	else
		large_free(b);
	return 0;
}

/* The first object whose header lies past @off, looking from the
 * top-level block at @from (at or before it) on (arena lock held). */
static void *first_past(uint64_t from, uint64_t off, uint32_t *tag)
{
	for (uint64_t o = from; o < hdr->bump; o += block_size(block_at(o))) {
		struct block *b = block_at(o);
		if (b->tag == FT__TAG_SLAB) {
			struct slab *s = slab_at(o);
			uint64_t stride = (uint64_t)1 << s->cls;
			uint64_t first = offset_of(s) + SLAB_HDR;
			uint64_t c = off < first ? first
				   : first + ((off - first) / stride + 1) * stride;
			if (c < s->carved) {
				*tag = block_at(c)->tag;
				return block_at(c) + 1;
			}
		} else if (o > off) {
			*tag = b->tag;
			return b + 1;
		}
	}
	return NULL;
}

/* Is @off the header of a top-level block (arena lock held)?  Blocks
 * absorbed or returned to the top had their check cleared (5). */
static bool top_level(uint64_t off)
{
	return off >= hdr->first && off < hdr->bump && !(off & (PAGE - 1)) &&
	       block_at(off)->check == (off ^ CHECK_MAGIC) &&
	       block_at(off)->cls == 0;
}

void *ft__arena_next(void *prev, uint32_t *tag)
{
	arena_lock();
	uint64_t off = 0, from = hdr->first;
	if (prev) {
		/* Look on from @prev's block, or its slab; if that is gone
		 * (merged, returned, its slab freed), from the first block:
		 * rare, and the walk stays whole. */
		struct block *pb = (struct block *)prev - 1;
		off = offset_of(pb);
		bool small = pb->check == (off ^ CHECK_MAGIC) && pb->cls;
		if (small && top_level(pb->size) && pb->size < off)
			from = pb->size;
		else if (!small && top_level(off))
			from = off;
	}
	void *next = first_past(from, off, tag);
	arena_unlock();
	return next;
}

/* Is @off where a block of the tiling starts (arena lock held)? */
static bool in_tiling(uint64_t off)
{
	uint64_t o = hdr->first;
	while (o < off)
		o += block_size(block_at(o));
	return o == off;
}

int ft__arena_verify(void)
{
	arena_lock();
	int broken = 0;
	uint64_t o = hdr->first, blocks = 0;
	while (!broken && o < hdr->bump) {
		uint64_t size = block_size(block_at(o));
		if (size < PAGE || (size & (PAGE - 1)) || !top_level(o))
			broken = 1;
		o += size;
		blocks++;
	}
	if (!broken && o != hdr->bump)
		broken = 1;
	uint64_t listed = 0;
	for (uint64_t off = hdr->large_free; !broken && off;
	     off = block_at(off)->next_free) {
		struct block *b = block_at(off);
		if (++listed > blocks || !in_tiling(off) ||
		    b->tag != FT__TAG_FREE)
			broken = 3;
		else if (listed_free(off + block_size(b), 0) ||
			 off + block_size(b) == hdr->bump)
			broken = 5;
	}
	arena_unlock();
	return -broken;
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
