/*
 * datapool.h - the contract of a datapool plugin.
 *
 * A datapool hands one row to each journey iteration. Besides the built-in
 * pools (inline rows, integer ranges, CSV files), a module can provide one:
 * the scenario names a `const mite_datapool_plugin` object,
 *
 *     datapool = { plugin = "users.so:user_pool"; count = 1000; };
 *
 * and every other setting of the block reaches `open` in `args` (see
 * mite_arg in <mite/mite.h>). The pool runs in the controller: none of its
 * callbacks yields or may block for long, and they are called from one
 * thread only.
 *
 *     static int next(void *st, mite_row_out *out, char *err, size_t errlen) {
 *         int *n = st;
 *         char buf[32];
 *         if (*n >= 100) return 0;          // exhausted
 *         snprintf(buf, sizeof buf, "user%d", (*n)++);
 *         return mite_row_out_add(out, buf); // 1 on success
 *     }
 *     MITE_EXPORT const mite_datapool_plugin users = {
 *         .abi_version = MITE_ABI_VERSION, .size = sizeof(mite_datapool_plugin),
 *         .open = open_fn, .next = next, .close = close_fn,
 *     };
 */
#ifndef MITE_DATAPOOL_H
#define MITE_DATAPOOL_H

#include <mite/mite.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where `next` writes one row: call mite_row_out_add once per value. */
typedef struct mite_row_out mite_row_out;

/* A module that provides a datapool carries MITE_MODULE like any other. */

typedef struct mite_datapool_plugin {
	uint32_t abi_version; /* MITE_ABI_VERSION */
	uint32_t size; /* sizeof(mite_datapool_plugin) */
	/* Column names, NULL-terminated, or NULL for unnamed columns. */
	const char *const *columns;
	/* Creates the pool's state from the block's settings. On failure returns
	 * NULL and writes a one-line reason into err (errlen bytes). */
	void *(*open)(const char *const *args, char *err, size_t errlen);
	/* Produces the next row into `out`. Returns 1 when it produced a row, 0
	 * when the pool is exhausted, -1 on error (with a reason in err). */
	int (*next)(void *state, mite_row_out *out, char *err, size_t errlen);
	/* Releases the state. */
	void (*close)(void *state);
	void *spare[4];
} mite_datapool_plugin;

/* Appends a value (copied) to the row being produced. Returns 1, or
 * MITE_ENOMEM. Does not yield. */
static inline int mite_row_out_add(mite_row_out *out, const char *value)
{
	return mite__api->row_out_add(out, value);
}

#ifdef __cplusplus
}
#endif

#endif /* MITE_DATAPOOL_H */
