/* SPDX-License-Identifier: MIT */
/*
 * The table of object types.  Each file that defines a kind of arena
 * object registers what the runtime must do with objects of that kind
 * when a worker ends or dies (FT__TYPE, a linker section: no central list
 * to edit when a kind is added).  The arena walks then go through the
 * table instead of each carrying its own switch over tags.
 */
#ifndef FT_TYPE_H
#define FT_TYPE_H

#include <stdint.h>

struct ft__type {
	uint32_t tag;  /* FT__TAG_* (arena.h) */
	/* A process died (its reaper calls this on every object of the
	 * type): free what dead owners held, wake whom they left waiting.
	 * NULL: nothing to do. */
	void (*repair)(void *obj);
};

#define FT__TYPE(var)                                                        \
	static const struct ft__type var                                     \
		__attribute__((used, section("ft__types"), aligned(8)))

/* Call each registered type's repair hook on every object of the arena. */
void ft__types_repair(void);

#endif
