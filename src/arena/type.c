/* SPDX-License-Identifier: MIT */
/* Walking the arena through the table of object types (type.h). */
#include "arena/arena.h"
#include "arena/type.h"

/* The linker collects every FT__TYPE into this section and names its
 * bounds. */
extern const struct ft__type __start_ft__types[];
extern const struct ft__type __stop_ft__types[];

static const struct ft__type *type_of(uint32_t tag)
{
	for (const struct ft__type *t = __start_ft__types; t < __stop_ft__types;
	     t++)
		if (t->tag == tag)
			return t;
	return NULL;
}

typedef void call_fn(const struct ft__type *t, void *obj, uint32_t tid);

/* Walk the arena once, calling @call for each object of a known type. */
static void walk(call_fn *call, uint32_t tid)
{
	uint32_t tag, last_tag = 0;
	const struct ft__type *t = NULL;

	for (void *p = ft__arena_next(NULL, &tag); p; p = ft__arena_next(p, &tag)) {
		if (tag != last_tag) {    /* objects of a kind come in runs */
			t = type_of(tag);
			last_tag = tag;
		}
		if (t)
			call(t, p, tid);
	}
}

static void call_repair(const struct ft__type *t, void *obj, uint32_t tid)
{
	(void)tid;
	if (t->repair)
		t->repair(obj);
}

static void call_owner_ended(const struct ft__type *t, void *obj, uint32_t tid)
{
	if (t->owner_ended)
		t->owner_ended(obj, tid);
}

void ft__types_repair(void)
{
	walk(call_repair, 0);
}

void ft__types_owner_ended(uint32_t tid)
{
	walk(call_owner_ended, tid);
}
