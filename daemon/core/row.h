/* row.h - datapool rows as journeys see them (struct mite_row), and the
 * builder datapool plugins fill (struct mite_row_out). */
#ifndef MITE_CORE_ROW_H
#define MITE_CORE_ROW_H

#include <mite/mite.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on datapool rows, the same whatever made the row (inline, range,
 * CSV, plugin) and on the controller -> runner path; mite-scenario(5),
 * LIMITS. A row over one is refused with a message naming the bound, never
 * cut. They keep one row, and a rows message of the runner protocol, well
 * inside the transport's message size (docs/runner-protocol.md). */
#define ROW_MAX_COLUMNS 1024
#define ROW_MAX_FIELD (1024 * 1024) /* bytes of one value */
#define ROW_MAX_BYTES (4 * 1024 * 1024) /* bytes of a row's values together */
#define ROW_MAX_NAME 1024 /* bytes of a column name */

struct mite_row {
	uint64_t id;
	/* Column names (NULL-terminated), or NULL; borrowed from the pool or
	 * journey that made the row, which outlives it. */
	const char *const *names;
	size_t n;
	char *vals[]; /* n strings, stored in the same allocation */
};

/* A row of n values (copied) in one allocation, or NULL. */
mite_row *row_new(uint64_t id, const char *const *names, const char *const *vals, size_t n);
void row_free(mite_row *row);

/* Checks n values (NULL reads as "") against the bounds above: 0, or
 * -E2BIG with the reason in err, e.g. "column 3: value of 2000000 bytes (at
 * most 1048576)" or "1500 columns (at most 1024)"; the caller says where. */
int row_check(const char *const *vals, size_t n, char *err, size_t errlen);
/* The same for column names (ROW_MAX_COLUMNS of at most ROW_MAX_NAME). */
int row_check_names(const char *const *names, size_t n, char *err, size_t errlen);

/* The accessors behind the SDK's mite_row_* calls; row may be NULL (a
 * journey without a datapool gets an empty row). */
size_t row_count(const mite_row *row);
const char *row_str(const mite_row *row, size_t i);
int row_index(const mite_row *row, const char *column);
long long row_int(const mite_row *row, size_t i, long long def);
double row_double(const mite_row *row, size_t i, double def);
uint64_t row_id(const mite_row *row);

/* The builder a datapool plugin's `next` writes into. */
struct mite_row_out {
	char **vals;
	size_t n, cap;
};
int row_out_add(struct mite_row_out *out, const char *value);
/* Frees the values and empties the builder for reuse. */
void row_out_reset(struct mite_row_out *out);

#endif
