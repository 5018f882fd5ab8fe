/* SPDX-License-Identifier: MIT */
/* Walking the arena through the table of object types (type.h). */
#include "arena/arena.h"
#include "arena/type.h"

/* The linker collects every FT__TYPE into this section and names its
 * bounds.  Weak: a static link without any registering file has no
 * section, and no objects to walk either. */
extern const struct ft__type __start_ft__types[] __attribute__((weak));
extern const struct ft__type __stop_ft__types[] __attribute__((weak));

static const struct ft__type *type_of(uint32_t tag)
{
	for (const struct ft__type *t = __start_ft__types; t < __stop_ft__types;
	     t++)
		if (t->tag == tag)
			return t;
	return NULL;
}

/* Walk the arena once, calling each object's repair hook. */
void ft__types_repair(void)
{
	uint32_t tag, last_tag = 0;
	const struct ft__type *t = NULL;

	for (void *p = ft__arena_next(NULL, &tag); p; p = ft__arena_next(p, &tag)) {
		if (tag != last_tag) {    /* objects of a kind come in runs */
			t = type_of(tag);
			last_tag = tag;
		}
		if (t && t->repair)
			t->repair(p);
	}
}
