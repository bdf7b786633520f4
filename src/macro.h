/* Small helpers shared by every module: scope-bound cleanup and ownership moves. */
#pragma once

#include <stdlib.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Return the pointer and clear the variable: the caller now owns it. */
#define TAKE_PTR(p) \
	({ \
		__typeof__(p) _take_tmp = (p); \
		(p) = NULL; \
		_take_tmp; \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define _printf_(a, b) __attribute__((format(printf, a, b)))
