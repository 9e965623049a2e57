/*
 * pool.h - datapools: where each journey iteration's row comes from.
 *
 * Built-in kinds: inline rows, integer ranges, CSV files; and plugins
 * (<mite/datapool.h>). Each pool is one of three modes:
 *   iterable   - each row once; exhaustion ends the journey's load;
 *   recyclable - a row is leased to one iteration at a time and comes back
 *                with pool_checkin when it ends;
 *   single     - one row (the first), handed to every iteration.
 * Pools live in the controller and are used from its one thread.
 */
#ifndef MITE_CONTROLLER_POOL_H
#define MITE_CONTROLLER_POOL_H

#include "core/row.h"
#include <mite/datapool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds beside those on rows (core/row.h); mite-scenario(5), LIMITS.
 * Row ids travel as JSON numbers, exact up to 2^53. Rows a pool keeps in
 * memory - a CSV file is read whole - take at most POOL_MAX_KEPT_BYTES. */
#define POOL_MAX_ROWS (1ull << 53)
#define POOL_MAX_KEPT_BYTES (1024ull * 1024 * 1024)

typedef enum pool_mode { POOL_ITERABLE, POOL_RECYCLABLE, POOL_SINGLE } pool_mode;

typedef struct pool pool;

/* Results of pool_checkout. */
#define POOL_ROW 1 /* *out holds a row */
#define POOL_WAIT 0 /* none free now (recyclable, all leased) */
#define POOL_EXHAUSTED (-1) /* no more rows, ever (iterable) */
#define POOL_ERROR (-2) /* a plugin failed; reason in err */

/* Mode names as scenario files spell them. pool_mode_parse returns 0, or
 * -EINVAL for an unknown name. */
int pool_mode_parse(const char *name, pool_mode *out);
/* The names, indexed by pool_mode, NULL-terminated. */
extern const char *const pool_mode_names[];
const char *pool_mode_name(pool_mode mode);

/*
 * Constructors. Each returns the pool, or NULL with a one-line reason in err
 * that carries no scenario location (the scenario adds its "file:line: ").
 * A built-in pool without rows is refused: it can only be a mistake.
 */

/* Inline rows: nrows rows of ncols values each, row-major in vals (copied).
 * columns: ncols names (copied), or NULL for unnamed columns. */
pool *pool_new_inline(pool_mode mode, const char *const *columns, size_t ncols,
		      const char *const *vals, size_t nrows, char *err, size_t errlen);

/* An integer range: rows for i = from, from+step, ... while i has not passed
 * `to` (inclusive; step may be negative, not 0). Each row holds one value
 * per offset, i + offsets[k]; offsets NULL means one column holding i.
 * Rows are computed on demand, so a range of any size costs no memory.
 * columns: noffsets names (copied), or NULL. */
pool *pool_new_range(pool_mode mode, long long from, long long to, long long step,
		     const long long *offsets, size_t noffsets, const char *const *columns,
		     char *err, size_t errlen);

/* A CSV file (RFC 4180: quoted fields with commas, doubled quotes and line
 * breaks; CRLF or LF; a UTF-8 BOM is skipped; empty lines are skipped), read
 * whole now so that its errors surface at load. header != 0: the first
 * record names the columns; otherwise `columns` (ncols names, or NULL)
 * does. Every record must have as many fields as the header, the columns,
 * or else the first record. An error inside the file reads
 * "path:LINE: reason" and sets *in_file (when in_file is not NULL); other
 * errors (cannot read it, no rows, too large) carry no location and clear
 * it. A NUL byte, a field, record or header name over the bounds of
 * core/row.h, and a file over POOL_MAX_KEPT_BYTES are refused. */
pool *pool_new_csv(pool_mode mode, const char *path, int header, const char *const *columns,
		   size_t ncols, char *err, size_t errlen, int *in_file);

/* A plugin pool (<mite/datapool.h>). Checks the object's abi_version and
 * size, then calls its open with args (NULL-terminated key, value list,
 * used during the call only). `name` (e.g. "pools.so:user_pool", copied)
 * names it in messages. Iterable pools pull rows as they go; recyclable
 * ones keep every row the plugin produced and, once it is exhausted, hand
 * them out again in turn (so an endless plugin should be iterable); single
 * ones take the first row now. The plugin object must outlive the pool. */
pool *pool_new_plugin(pool_mode mode, const mite_datapool_plugin *pl, const char *name,
		      const char *const *args, char *err, size_t errlen);

/* Takes the next row. The row is newly allocated and the caller's (free it
 * with row_free); for a recyclable pool it stays leased until
 * pool_checkin(id). */
int pool_checkout(pool *p, mite_row **out, char *err, size_t errlen);
/* Returns a leased row (recyclable pools; a no-op for the others). */
void pool_checkin(pool *p, uint64_t id);
/* An iterable pool's row id, handed out and not run (its runner left the
 * run before it came to it), is served again before any new row: 1. 0
 * when it cannot be (a plugin's rows are not kept; not iterable; an id
 * never handed out; no memory): it is skipped, and the caller says so. */
int pool_unrun(pool *p, uint64_t id);
pool_mode pool_get_mode(const pool *p);
/* How many rows the pool holds, when known up front (inline, range, CSV);
 * 0 for plugins. */
size_t pool_size(const pool *p);
/* Rows currently leased (recyclable). */
size_t pool_leased(const pool *p);
/* Column names (NULL-terminated), or NULL when unnamed. */
const char *const *pool_columns(const pool *p);
/* A short description for status output, e.g. "csv users.csv (1000 rows, recyclable)". */
const char *pool_describe(const pool *p);
void pool_free(pool *p);

#endif
