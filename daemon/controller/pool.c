/*
 * pool.c - datapools: inline rows, integer ranges, CSV files and plugins,
 * each iterable, recyclable or single.
 *
 * Rows that must be kept (inline, CSV, and whatever a recyclable or single
 * plugin pool produced) live in a table: one buffer of NUL-terminated
 * strings plus offsets, so that a million-row CSV costs a few allocations
 * rather than millions. Ranges are computed on demand.
 *
 * A recyclable pool hands rows out in turn (row ids 0, 1, 2, ... and round
 * again), skipping the ones still leased; leases are a hash set of ids, so
 * the pool costs memory in proportion to the concurrency, not to its size.
 */
#include "controller/pool.h"
#include "core/util.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_DESC_LEN 256

typedef enum pool_src { SRC_TABLE, SRC_RANGE, SRC_PLUGIN } pool_src;

typedef struct table {
	char *buf; /* the values, each NUL-terminated */
	size_t len, cap;
	size_t *offs; /* where each value starts in buf */
	size_t noffs, capoffs;
	size_t *starts; /* row i's values are offs[starts[i] .. starts[i + 1]) */
	size_t nrows, caprows;
} table;

typedef struct leases {
	uint64_t *slots; /* id + 1; 0 marks a free slot */
	size_t cap, n;
} leases;

struct pool {
	pool_mode mode;
	pool_src src;
	char desc[POOL_DESC_LEN];
	char **columns; /* NULL-terminated, or NULL */

	table t; /* SRC_TABLE, and the rows a plugin produced */

	long long from, step; /* SRC_RANGE */
	uint64_t count;
	long long *offsets;
	size_t noffsets;

	const mite_datapool_plugin *pl; /* SRC_PLUGIN */
	void *state;
	char *name;
	int pl_done; /* the plugin said it is exhausted */
	uint64_t produced;

	uint64_t next; /* iterable: next row; recyclable: where the turn is */
	uint64_t *again; /* iterable: rows handed back unrun, served first */
	size_t nagain, againcap;
	leases leased;
	const char **scratch; /* value pointers for row_new */
	size_t scratchcap;
};

const char *const pool_mode_names[] = { [POOL_ITERABLE] = "iterable",
					[POOL_RECYCLABLE] = "recyclable",
					[POOL_SINGLE] = "single",
					NULL };

int pool_mode_parse(const char *name, pool_mode *out)
{
	for (int m = 0; name && pool_mode_names[m]; m++)
		if (strcmp(name, pool_mode_names[m]) == 0) {
			*out = (pool_mode)m;
			return 0;
		}
	return -EINVAL;
}

const char *pool_mode_name(pool_mode mode)
{
	return (unsigned)mode <= POOL_SINGLE ? pool_mode_names[mode] : "?";
}

/* ---- the table -------------------------------------------------------- */

static int table_init(table *t)
{
	memset(t, 0, sizeof(*t));
	t->caprows = 16;
	t->starts = malloc(t->caprows * sizeof(*t->starts));
	if (!t->starts)
		return -ENOMEM;
	t->starts[0] = 0;
	return 0;
}

static void table_free(table *t)
{
	free(t->buf);
	free(t->offs);
	free(t->starts);
	memset(t, 0, sizeof(*t));
}

static int table_add(table *t, const char *s, size_t len)
{
	if (t->len + len + 1 > t->cap || t->len + len + 1 < t->len) {
		size_t cap = t->cap ? t->cap : 4096;
		char *b;

		while (cap < t->len + len + 1) {
			if (cap > SIZE_MAX / 2)
				return -ENOMEM;
			cap *= 2;
		}
		b = realloc(t->buf, cap);
		if (!b)
			return -ENOMEM;
		t->buf = b;
		t->cap = cap;
	}
	if (t->noffs == t->capoffs) {
		size_t cap = t->capoffs ? t->capoffs * 2 : 256;
		size_t *o = realloc(t->offs, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		t->offs = o;
		t->capoffs = cap;
	}
	memcpy(t->buf + t->len, s, len);
	t->buf[t->len + len] = '\0';
	t->offs[t->noffs++] = t->len;
	t->len += len + 1;
	return 0;
}

/* Closes the row made of the values added since the last one. */
static int table_end_row(table *t)
{
	if (t->nrows + 2 > t->caprows) {
		size_t cap = t->caprows * 2;
		size_t *s = realloc(t->starts, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		t->starts = s;
		t->caprows = cap;
	}
	t->starts[++t->nrows] = t->noffs;
	return 0;
}

/* Drops the values added since the last row (a header, a rejected row). */
static void table_drop_open_row(table *t)
{
	size_t keep = t->starts[t->nrows];

	if (t->noffs > keep) {
		t->len = t->offs[keep];
		t->noffs = keep;
	}
}

/* Forgets every row but keeps the memory for the next ones. */
static void table_clear(table *t)
{
	t->len = 0;
	t->noffs = 0;
	t->nrows = 0;
}

static size_t table_width(const table *t, size_t row)
{
	return t->starts[row + 1] - t->starts[row];
}

/* ---- leases: an open-addressing hash set of row ids ------------------- */

static size_t leases_hash(uint64_t x, size_t mask)
{
	/* splitmix64's finaliser: row ids are dense, spread them. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (size_t)x & mask;
}

static int leases_has(const leases *l, uint64_t id)
{
	if (!l->cap)
		return 0;
	for (size_t i = leases_hash(id, l->cap - 1);; i = (i + 1) & (l->cap - 1)) {
		if (l->slots[i] == 0)
			return 0;
		if (l->slots[i] == id + 1)
			return 1;
	}
}

static void leases_put_slot(uint64_t *slots, size_t cap, uint64_t key)
{
	size_t i = leases_hash(key - 1, cap - 1);

	while (slots[i])
		i = (i + 1) & (cap - 1);
	slots[i] = key;
}

static int leases_add(leases *l, uint64_t id)
{
	if ((l->n + 1) * 2 > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		uint64_t *slots = calloc(cap, sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		for (size_t i = 0; i < l->cap; i++)
			if (l->slots[i])
				leases_put_slot(slots, cap, l->slots[i]);
		free(l->slots);
		l->slots = slots;
		l->cap = cap;
	}
	leases_put_slot(l->slots, l->cap, id + 1);
	l->n++;
	return 0;
}

/* Removes id; returns whether it was there. Linear probing needs the
 * entries after a hole moved back, or lookups would stop at the hole. */
static int leases_del(leases *l, uint64_t id)
{
	size_t mask = l->cap - 1, i, j;

	if (!l->cap)
		return 0;
	for (i = leases_hash(id, mask);; i = (i + 1) & mask) {
		if (l->slots[i] == 0)
			return 0;
		if (l->slots[i] == id + 1)
			break;
	}
	l->slots[i] = 0;
	for (j = (i + 1) & mask; l->slots[j]; j = (j + 1) & mask) {
		size_t home = leases_hash(l->slots[j] - 1, mask);
		/* Move slot j into the hole at i unless its home lies cyclically
		 * in (i, j], where it is still reachable. */
		int reachable = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!reachable) {
			l->slots[i] = l->slots[j];
			l->slots[j] = 0;
			i = j;
		}
	}
	l->n--;
	return 1;
}

/* ---- construction ------------------------------------------------------ */

static pool *pool_alloc(pool_mode mode, pool_src src)
{
	pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->mode = mode;
	p->src = src;
	if (table_init(&p->t) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

static int pool_set_columns(pool *p, const char *const *columns, size_t n)
{
	if (!columns)
		return 0;
	p->columns = calloc(n + 1, sizeof(*p->columns));
	if (!p->columns)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		p->columns[i] = strdup(columns[i] ? columns[i] : "");
		if (!p->columns[i])
			return -ENOMEM;
	}
	return 0;
}

static size_t pool_rows_known(const pool *p)
{
	switch (p->src) {
	case SRC_TABLE:
		return p->t.nrows;
	case SRC_RANGE:
		return p->count > SIZE_MAX ? SIZE_MAX : (size_t)p->count;
	case SRC_PLUGIN:
		break;
	}
	return 0;
}

static void pool_set_desc(pool *p, const char *what)
{
	if (p->src == SRC_PLUGIN)
		snprintf(p->desc, sizeof(p->desc), "%s (%s)", what, pool_mode_name(p->mode));
	else
		snprintf(p->desc, sizeof(p->desc), "%s (%zu row%s, %s)", what, pool_rows_known(p),
			 pool_rows_known(p) == 1 ? "" : "s", pool_mode_name(p->mode));
}

pool *pool_new_inline(pool_mode mode, const char *const *columns, size_t ncols,
		      const char *const *vals, size_t nrows, char *err, size_t errlen)
{
	char why[128];
	pool *p = NULL;

	if (nrows == 0) {
		util_err(err, errlen, "inline datapool has no rows");
		return NULL;
	}
	if (ncols > ROW_MAX_COLUMNS) {
		util_err(err, errlen, "inline datapool has %zu columns (at most %d)", ncols,
			 ROW_MAX_COLUMNS);
		return NULL;
	}
	if (columns && row_check_names(columns, ncols, why, sizeof(why)) < 0) {
		util_err(err, errlen, "inline datapool: %s", why);
		return NULL;
	}
	if (nrows > POOL_MAX_ROWS) {
		util_err(err, errlen, "inline datapool has %zu rows (at most %llu)", nrows,
			 POOL_MAX_ROWS);
		return NULL;
	}
	for (size_t r = 0; r < nrows; r++)
		if (row_check(vals + r * ncols, ncols, why, sizeof(why)) < 0) {
			util_err(err, errlen, "inline datapool row %zu: %s", r + 1, why);
			return NULL;
		}
	p = pool_alloc(mode, SRC_TABLE);
	if (!p || pool_set_columns(p, columns, ncols) < 0)
		goto nomem;
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *v = vals[r * ncols + c] ? vals[r * ncols + c] : "";
			if (table_add(&p->t, v, strlen(v)) < 0)
				goto nomem;
		}
		if (table_end_row(&p->t) < 0)
			goto nomem;
	}
	pool_set_desc(p, "inline");
	return p;
nomem:
	util_err(err, errlen, "inline datapool: %s", strerror(ENOMEM));
	pool_free(p);
	return NULL;
}

pool *pool_new_range(pool_mode mode, long long from, long long to, long long step,
		     const long long *offsets, size_t noffsets, const char *const *columns,
		     char *err, size_t errlen)
{
	static const long long zero = 0;
	unsigned long long span, ustep;
	long long last;
	char what[128];
	pool *p = NULL;

	if (step == 0) {
		util_err(err, errlen, "range step must not be 0");
		return NULL;
	}
	if ((step > 0 && to < from) || (step < 0 && to > from)) {
		util_err(err, errlen, "range %lld..%lld with step %lld has no rows", from, to,
			 step);
		return NULL;
	}
	if (!offsets) {
		offsets = &zero;
		noffsets = 1;
	}
	if (noffsets == 0 || noffsets > ROW_MAX_COLUMNS) {
		util_err(err, errlen, "range has %zu offsets (1 to %d)", noffsets, ROW_MAX_COLUMNS);
		return NULL;
	}
	if (columns && row_check_names(columns, noffsets, what, sizeof(what)) < 0) {
		util_err(err, errlen, "range: %s", what);
		return NULL;
	}
	/* Unsigned arithmetic: the span of any two long longs fits. */
	span = step > 0 ? (unsigned long long)to - (unsigned long long)from
			: (unsigned long long)from - (unsigned long long)to;
	ustep = step > 0 ? (unsigned long long)step : 0ull - (unsigned long long)step;
	if (span / ustep >= POOL_MAX_ROWS) {
		/* span / ustep + 1 rows; 2^64 of them when that wraps. */
		if (span / ustep == UINT64_MAX)
			snprintf(what, sizeof(what), "18446744073709551616");
		else
			snprintf(what, sizeof(what), "%llu", span / ustep + 1);
		util_err(err, errlen, "range %lld..%lld step %lld has %s rows (at most %llu)", from,
			 to, step, what, POOL_MAX_ROWS);
		return NULL;
	}
	last = (long long)((unsigned long long)from + (span / ustep) * (unsigned long long)step);
	for (size_t k = 0; k < noffsets; k++) {
		long long a, b;
		if (__builtin_add_overflow(from, offsets[k], &a) ||
		    __builtin_add_overflow(last, offsets[k], &b)) {
			util_err(err, errlen, "range %lld..%lld with offset %lld overflows", from,
				 to, offsets[k]);
			return NULL;
		}
	}

	p = pool_alloc(mode, SRC_RANGE);
	if (!p || pool_set_columns(p, columns, noffsets) < 0)
		goto nomem;
	p->offsets = malloc(noffsets * sizeof(*p->offsets));
	if (!p->offsets)
		goto nomem;
	memcpy(p->offsets, offsets, noffsets * sizeof(*p->offsets));
	p->noffsets = noffsets;
	p->from = from;
	p->step = step;
	p->count = span / ustep + 1;
	if (step == 1)
		snprintf(what, sizeof(what), "range %lld..%lld", from, to);
	else
		snprintf(what, sizeof(what), "range %lld..%lld step %lld", from, to, step);
	pool_set_desc(p, what);
	return p;
nomem:
	util_err(err, errlen, "range datapool: %s", strerror(ENOMEM));
	pool_free(p);
	return NULL;
}

/* ---- CSV --------------------------------------------------------------- */

typedef struct csv_parser {
	const char *s, *end;
	const char *path;
	size_t line;
	char *field; /* the field being unquoted (its first ROW_MAX_FIELD bytes) */
	size_t flen, fcap;
	size_t fbytes; /* the field's length, kept or not */
	size_t rbytes; /* the record's values so far */
} csv_parser;

/* Adds one byte to the field being read. Bytes past ROW_MAX_FIELD are
 * counted, not kept: the field is refused at its end, with its length. A
 * NUL is refused (-EILSEQ): values are C strings, it would cut one. */
static int csv_putc(csv_parser *c, char ch)
{
	if (ch == '\0')
		return -EILSEQ;
	if (c->fbytes++ >= ROW_MAX_FIELD)
		return 0;
	if (c->flen == c->fcap) {
		size_t cap = c->fcap ? c->fcap * 2 : 256;
		char *f = realloc(c->field, cap);
		if (!f)
			return -ENOMEM;
		c->field = f;
		c->fcap = cap;
	}
	c->field[c->flen++] = ch;
	return 0;
}

/* Turns csv_putc's failure into the record's: -ENOMEM, or -EINVAL with
 * "path:LINE: column N: NUL byte" in err. */
static int csv_put_failed(csv_parser *c, int rc, size_t nfields, char *err, size_t errlen)
{
	if (rc == -EILSEQ) {
		util_err(err, errlen, "%s:%zu: column %zu: NUL byte", c->path, c->line,
			 nfields + 1);
		return -EINVAL;
	}
	return rc;
}

static int csv_at_eol(const csv_parser *c)
{
	return c->s < c->end &&
		(*c->s == '\n' || (*c->s == '\r' && c->s + 1 < c->end && c->s[1] == '\n'));
}

/* A quoted field, from its opening quote. 0 or as csv_record. */
static int csv_quoted(csv_parser *c, size_t nfields, char *err, size_t errlen)
{
	size_t qline = c->line;
	int rc;

	c->s++;
	for (;;) {
		if (c->s >= c->end) {
			util_err(err, errlen, "%s:%zu: unterminated quoted field", c->path, qline);
			return -EINVAL;
		}
		if (*c->s == '"') {
			if (c->s + 1 < c->end && c->s[1] == '"') {
				if ((rc = csv_putc(c, '"')) < 0)
					return csv_put_failed(c, rc, nfields, err, errlen);
				c->s += 2;
				continue;
			}
			c->s++;
			break;
		}
		if (*c->s == '\n')
			c->line++;
		if ((rc = csv_putc(c, *c->s++)) < 0)
			return csv_put_failed(c, rc, nfields, err, errlen);
	}
	if (c->s < c->end && *c->s == '\0')
		return csv_put_failed(c, -EILSEQ, nfields, err, errlen);
	if (c->s < c->end && *c->s != ',' && !csv_at_eol(c)) {
		util_err(err, errlen, "%s:%zu: unexpected character after a closing quote", c->path,
			 c->line);
		return -EINVAL;
	}
	return 0;
}

/* Reads one record into t (as an open row). Returns 1 for a record, 0 at
 * the end of the file, -ENOMEM, or -EINVAL with "path:LINE: reason" in err.
 * An empty line yields a record of no fields, which the caller skips.
 * *nfields counts every field, c->rbytes every value's bytes; t keeps the
 * values only while the record is within ROW_MAX_COLUMNS and
 * ROW_MAX_BYTES, so that a record over them is measured, then refused by
 * the caller, without holding it. */
static int csv_record(csv_parser *c, table *t, size_t *nfields, char *err, size_t errlen)
{
	int rc;

	*nfields = 0;
	c->rbytes = 0;
	if (c->s >= c->end)
		return 0;
	for (;;) {
		size_t fline = c->line;

		c->flen = 0;
		c->fbytes = 0;
		if (c->s < c->end && *c->s == '"') {
			if ((rc = csv_quoted(c, *nfields, err, errlen)) < 0)
				return rc;
		} else {
			/* An empty line is a record of no fields, not of one empty
			 * field: a file's trailing blank lines must not be rows. */
			if (*nfields == 0 && (c->s >= c->end || csv_at_eol(c))) {
				c->s += c->s < c->end && *c->s == '\r' ? 2
								       : (c->s < c->end ? 1 : 0);
				c->line++;
				return 1;
			}
			/* Unquoted fields are taken as they are, stray quotes
			 * included, as most CSV readers do. */
			while (c->s < c->end && *c->s != ',' && !csv_at_eol(c))
				if ((rc = csv_putc(c, *c->s++)) < 0)
					return csv_put_failed(c, rc, *nfields, err, errlen);
		}
		if (c->fbytes > ROW_MAX_FIELD) {
			util_err(err, errlen, "%s:%zu: column %zu: field of %zu bytes (at most %d)",
				 c->path, fline, *nfields + 1, c->fbytes, ROW_MAX_FIELD);
			return -EINVAL;
		}
		c->rbytes += c->fbytes;
		if (*nfields < ROW_MAX_COLUMNS && c->rbytes <= ROW_MAX_BYTES &&
		    table_add(t, c->field ? c->field : "", c->flen) < 0)
			return -ENOMEM;
		(*nfields)++;
		if (c->s >= c->end)
			return 1;
		if (*c->s == ',') {
			c->s++;
			continue;
		}
		c->s += *c->s == '\r' ? 2 : 1;
		c->line++;
		return 1;
	}
}

/* Reads a whole file of at most max bytes. -EFBIG when it is larger, with
 * its size in *size (0 when not known: not a regular file). */
static int csv_slurp(const char *path, size_t max, char **out, size_t *len,
		     unsigned long long *size)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	*size = 0;
	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
	    (unsigned long long)st.st_size > max) {
		*size = (unsigned long long)st.st_size;
		fclose(f);
		return -EFBIG;
	}
	for (;;) {
		size_t got;

		if (n == cap) {
			/* One byte past max tells a file that is too large. */
			size_t ncap = cap ? (cap > max / 2 ? max + 1 : cap * 2) : 65536;
			char *b;

			if (n > max) {
				rc = -EFBIG;
				break;
			}
			b = realloc(buf, ncap);
			if (!b) {
				rc = -ENOMEM;
				break;
			}
			buf = b;
			cap = ncap;
		}
		errno = 0;
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				rc = errno ? -errno : -EIO;
			break;
		}
	}
	fclose(f);
	if (rc == 0 && n > max)
		rc = -EFBIG;
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Checks a record csv_record read: "path:LINE: reason" and -EINVAL when
 * it is over a bound. */
static int csv_check_record(const csv_parser *c, size_t line, size_t nf, char *err, size_t errlen)
{
	if (nf > ROW_MAX_COLUMNS) {
		util_err(err, errlen, "%s:%zu: %zu fields (at most %d)", c->path, line, nf,
			 ROW_MAX_COLUMNS);
		return -EINVAL;
	}
	if (c->rbytes > ROW_MAX_BYTES) {
		util_err(err, errlen, "%s:%zu: row of %zu bytes (at most %d)", c->path, line,
			 c->rbytes, ROW_MAX_BYTES);
		return -EINVAL;
	}
	return 0;
}

/* Takes the open row of t as the column names. 0, -ENOMEM, or -EINVAL
 * with "path:LINE: column N: name of ... (at most ...)" in err. */
static int csv_header(pool *p, const csv_parser *c, size_t line, size_t nf, char *err,
		      size_t errlen)
{
	const char **names = malloc(nf * sizeof(*names));
	size_t base = p->t.starts[p->t.nrows];
	char why[128];
	int rc;

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < nf; i++)
		names[i] = p->t.buf + p->t.offs[base + i];
	if (row_check_names(names, nf, why, sizeof(why)) < 0) {
		util_err(err, errlen, "%s:%zu: %s", c->path, line, why);
		free(names);
		return -EINVAL;
	}
	rc = pool_set_columns(p, names, nf);
	free(names);
	if (rc < 0)
		return rc;
	table_drop_open_row(&p->t);
	return 0;
}

pool *pool_new_csv(pool_mode mode, const char *path, int header, const char *const *columns,
		   size_t ncols, char *err, size_t errlen, int *in_file)
{
	csv_parser c = { .path = path, .line = 1 };
	char *data = NULL, why[128];
	size_t len = 0, want = 0, nf;
	unsigned long long size;
	const char *want_from = NULL;
	pool *p = NULL;
	int rc;

	if (in_file)
		*in_file = 0;
	if (!header && columns && row_check_names(columns, ncols, why, sizeof(why)) < 0) {
		util_err(err, errlen, "%s: %s", path, why);
		return NULL;
	}
	rc = csv_slurp(path, POOL_MAX_KEPT_BYTES, &data, &len, &size);
	if (rc == -EFBIG) {
		if (size)
			util_err(err, errlen, "cannot read %s: file of %llu bytes (at most %llu)",
				 path, size, POOL_MAX_KEPT_BYTES);
		else
			util_err(err, errlen, "cannot read %s: more than %llu bytes", path,
				 POOL_MAX_KEPT_BYTES);
		return NULL;
	}
	if (rc < 0) {
		util_err(err, errlen, "cannot read %s: %s", path, strerror(-rc));
		return NULL;
	}
	p = pool_alloc(mode, SRC_TABLE);
	if (!p)
		goto nomem;
	c.s = data;
	c.end = data + len;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		c.s += 3;
	if (!header && columns) {
		if (pool_set_columns(p, columns, ncols) < 0)
			goto nomem;
		want = ncols;
		want_from = "the datapool's columns name";
	}

	for (;;) {
		size_t line = c.line;

		rc = csv_record(&c, &p->t, &nf, err, errlen);
		if (rc == 1 && nf && csv_check_record(&c, line, nf, err, errlen) < 0)
			rc = -EINVAL;
		if (rc == -ENOMEM)
			goto nomem;
		if (rc < 0)
			goto bad_row;
		if (rc == 0)
			break;
		if (nf == 0)
			continue;
		if (header && !p->columns) {
			rc = csv_header(p, &c, line, nf, err, errlen);
			if (rc == -ENOMEM)
				goto nomem;
			if (rc < 0)
				goto bad_row;
			want = nf;
			want_from = "the header has";
			continue;
		}
		if (!want_from) {
			want = nf;
			want_from = "the first row has";
		}
		if (nf != want) {
			util_err(err, errlen, "%s:%zu: %zu field%s where %s %zu", path, line, nf,
				 nf == 1 ? "" : "s", want_from, want);
			goto bad_row;
		}
		if (table_end_row(&p->t) < 0)
			goto nomem;
	}
	if (p->t.nrows == 0) {
		util_err(err, errlen, "%s has no rows", path);
		goto fail;
	}
	free(c.field);
	free(data);
	{
		char what[POOL_DESC_LEN / 2];
		const char *base = strrchr(path, '/');
		snprintf(what, sizeof(what), "csv %s", base ? base + 1 : path);
		pool_set_desc(p, what);
	}
	return p;
bad_row:
	if (in_file)
		*in_file = 1;
	goto fail;
nomem:
	util_err(err, errlen, "cannot read %s: %s", path, strerror(ENOMEM));
	if (in_file)
		*in_file = 0;
fail:
	free(c.field);
	free(data);
	pool_free(p);
	return NULL;
}

/* ---- plugins ----------------------------------------------------------- */

/* Asks the plugin for one row and stores it in the table. 1, 0 when the
 * plugin is exhausted, POOL_ERROR with err set. */
static int pool_plugin_fetch(pool *p, char *err, size_t errlen)
{
	struct mite_row_out out = { 0 };
	char perr[256] = "";
	size_t kept;
	int rc;

	if (p->pl_done)
		return 0;
	if (p->produced >= POOL_MAX_ROWS) {
		util_err(err, errlen, "datapool plugin %s: more than %llu rows (at most %llu)",
			 p->name, POOL_MAX_ROWS, POOL_MAX_ROWS);
		return POOL_ERROR;
	}
	rc = p->pl->next(p->state, &out, perr, sizeof(perr));
	if (rc < 0) {
		row_out_reset(&out);
		util_err(err, errlen, "datapool plugin %s failed: %s", p->name,
			 *perr ? perr : "no reason given");
		return POOL_ERROR;
	}
	if (rc == 0) {
		row_out_reset(&out);
		p->pl_done = 1;
		return 0;
	}
	if (row_check((const char *const *)out.vals, out.n, perr, sizeof(perr)) < 0) {
		row_out_reset(&out);
		util_err(err, errlen, "datapool plugin %s: row %" PRIu64 ": %s", p->name,
			 p->produced + 1, perr);
		return POOL_ERROR;
	}
	/* What a recyclable or single pool keeps; an iterable one keeps a
	 * row only until it is handed out. */
	kept = p->t.len;
	for (size_t i = 0; i < out.n; i++)
		kept += strlen(out.vals[i]) + 1;
	if (kept > POOL_MAX_KEPT_BYTES) {
		row_out_reset(&out);
		util_err(err, errlen,
			 "datapool plugin %s: row %" PRIu64
			 ": the rows kept for reuse would take %zu bytes "
			 "(at most %llu; an endless plugin belongs in an iterable pool)",
			 p->name, p->produced + 1, kept, POOL_MAX_KEPT_BYTES);
		return POOL_ERROR;
	}
	for (size_t i = 0; i < out.n; i++) {
		if (table_add(&p->t, out.vals[i], strlen(out.vals[i])) < 0)
			goto nomem;
	}
	if (table_end_row(&p->t) < 0)
		goto nomem;
	row_out_reset(&out);
	p->produced++;
	return 1;
nomem:
	table_drop_open_row(&p->t);
	row_out_reset(&out);
	util_err(err, errlen, "datapool plugin %s: %s", p->name, strerror(ENOMEM));
	return POOL_ERROR;
}

pool *pool_new_plugin(pool_mode mode, const mite_datapool_plugin *pl, const char *name,
		      const char *const *args, char *err, size_t errlen)
{
	char perr[256] = "";
	pool *p = NULL;

	if (!name)
		name = "(unnamed)";
	if (!pl) {
		util_err(err, errlen, "datapool plugin %s is NULL", name);
		return NULL;
	}
	if (pl->abi_version != MITE_ABI_VERSION) {
		util_err(err, errlen,
			 "datapool plugin %s was built for mite ABI %u; this mite speaks ABI %d",
			 name, (unsigned)pl->abi_version, MITE_ABI_VERSION);
		return NULL;
	}
	if (pl->size < offsetof(mite_datapool_plugin, spare)) {
		util_err(err, errlen, "datapool plugin %s has a bad size (%u bytes, expected %zu)",
			 name, (unsigned)pl->size, sizeof(mite_datapool_plugin));
		return NULL;
	}
	if (!pl->open || !pl->next) {
		util_err(err, errlen, "datapool plugin %s lacks its %s callback", name,
			 pl->open ? "next" : "open");
		return NULL;
	}

	p = pool_alloc(mode, SRC_PLUGIN);
	if (!p || !(p->name = strdup(name)))
		goto nomem;
	p->pl = pl;
	if (pl->columns) {
		size_t n = 0;
		while (pl->columns[n])
			n++;
		if (row_check_names(pl->columns, n, perr, sizeof(perr)) < 0) {
			util_err(err, errlen, "datapool plugin %s: %s", name, perr);
			goto fail;
		}
		if (pool_set_columns(p, pl->columns, n) < 0)
			goto nomem;
	}
	p->state = pl->open(args, perr, sizeof(perr));
	if (!p->state) {
		util_err(err, errlen, "datapool plugin %s failed to open: %s", name,
			 *perr ? perr : "no reason given");
		goto fail;
	}
	if (mode == POOL_SINGLE) {
		int rc = pool_plugin_fetch(p, err, errlen);
		if (rc == POOL_ERROR)
			goto fail;
		if (rc == 0) {
			util_err(err, errlen, "datapool plugin %s produced no rows", name);
			goto fail;
		}
	}
	{
		char what[POOL_DESC_LEN / 2];
		snprintf(what, sizeof(what), "plugin %s", name);
		pool_set_desc(p, what);
	}
	return p;
nomem:
	util_err(err, errlen, "datapool plugin %s: %s", name, strerror(ENOMEM));
fail:
	pool_free(p);
	return NULL;
}

/* ---- checkout ---------------------------------------------------------- */

static int pool_scratch(pool *p, size_t n)
{
	if (n <= p->scratchcap)
		return 0;
	const char **s = realloc(p->scratch, n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	p->scratch = s;
	p->scratchcap = n;
	return 0;
}

/* Builds row `id` (an index into the table or the range). */
static mite_row *pool_make_row(pool *p, uint64_t id)
{
	const char *const *names = (const char *const *)p->columns;

	if (p->src == SRC_RANGE) {
		char buf[24 * 8];
		char *many = NULL, *vbuf = buf;
		long long i =
			(long long)((unsigned long long)p->from + id * (unsigned long long)p->step);
		mite_row *row = NULL;

		if (pool_scratch(p, p->noffsets) < 0)
			return NULL;
		if (p->noffsets > 8) {
			many = malloc(p->noffsets * 24);
			if (!many)
				return NULL;
			vbuf = many;
		}
		for (size_t k = 0; k < p->noffsets; k++) {
			/* 24 bytes hold any long long; the overflow of i + offset
			 * was ruled out at construction. */
			snprintf(vbuf + k * 24, 24, "%lld", i + p->offsets[k]);
			p->scratch[k] = vbuf + k * 24;
		}
		row = row_new(id, names, p->scratch, p->noffsets);
		free(many);
		return row;
	}

	size_t w = table_width(&p->t, (size_t)id);
	size_t base = p->t.starts[id];

	if (pool_scratch(p, w ? w : 1) < 0)
		return NULL;
	for (size_t k = 0; k < w; k++)
		p->scratch[k] = p->t.buf + p->t.offs[base + k];
	return row_new(id, names, p->scratch, w);
}

static int pool_nomem(char *err, size_t errlen)
{
	util_err(err, errlen, "datapool: %s", strerror(ENOMEM));
	return POOL_ERROR;
}

static int pool_checkout_iterable(pool *p, mite_row **out, char *err, size_t errlen)
{
	if (p->src == SRC_PLUGIN) {
		/* Rows of an iterable plugin pool are not kept: produce one into
		 * the table, hand it out, and forget it. */
		int rc = pool_plugin_fetch(p, err, errlen);
		if (rc == POOL_ERROR)
			return rc;
		if (rc == 0)
			return POOL_EXHAUSTED;
		*out = pool_make_row(p, 0);
		/* Ids count every row produced, from 0. */
		if (*out)
			(*out)->id = p->produced - 1;
		table_clear(&p->t);
		return *out ? POOL_ROW : pool_nomem(err, errlen);
	}
	if (p->nagain) {
		*out = pool_make_row(p, p->again[p->nagain - 1]);
		if (!*out)
			return pool_nomem(err, errlen);
		p->nagain--;
		return POOL_ROW;
	}
	if (p->next >= pool_rows_known(p))
		return POOL_EXHAUSTED;
	*out = pool_make_row(p, p->next);
	if (!*out)
		return pool_nomem(err, errlen);
	p->next++;
	return POOL_ROW;
}

int pool_unrun(pool *p, uint64_t id)
{
	/* A plugin's iterable rows are not kept: it cannot be served again. */
	if (p->mode != POOL_ITERABLE || p->src == SRC_PLUGIN || id >= p->next)
		return 0;
	if (p->nagain == p->againcap) {
		size_t cap = p->againcap ? p->againcap * 2 : 64;
		uint64_t *v = realloc(p->again, cap * sizeof(*v));
		if (!v)
			return 0;
		p->again = v;
		p->againcap = cap;
	}
	p->again[p->nagain++] = id;
	return 1;
}

static int pool_checkout_recyclable(pool *p, mite_row **out, char *err, size_t errlen)
{
	uint64_t n, id;

	if (p->src == SRC_PLUGIN && !p->pl_done) {
		int rc = pool_plugin_fetch(p, err, errlen);
		if (rc == POOL_ERROR)
			return rc;
		if (rc == 1) {
			id = p->t.nrows - 1;
			goto lease;
		}
	}
	n = p->src == SRC_RANGE ? p->count : p->t.nrows;
	if (n == 0)
		return POOL_EXHAUSTED;
	if (p->leased.n >= n)
		return POOL_WAIT;
	/* At most leased + 1 steps: every id skipped is a leased one. */
	do {
		id = p->next;
		p->next = p->next + 1 >= n ? 0 : p->next + 1;
	} while (leases_has(&p->leased, id));
lease:
	*out = pool_make_row(p, id);
	if (!*out)
		return pool_nomem(err, errlen);
	if (leases_add(&p->leased, id) < 0) {
		row_free(*out);
		*out = NULL;
		return pool_nomem(err, errlen);
	}
	return POOL_ROW;
}

int pool_checkout(pool *p, mite_row **out, char *err, size_t errlen)
{
	*out = NULL;
	switch (p->mode) {
	case POOL_ITERABLE:
		return pool_checkout_iterable(p, out, err, errlen);
	case POOL_RECYCLABLE:
		return pool_checkout_recyclable(p, out, err, errlen);
	case POOL_SINGLE:
		if (p->src != SRC_RANGE && p->t.nrows == 0)
			return POOL_EXHAUSTED;
		*out = pool_make_row(p, 0);
		return *out ? POOL_ROW : pool_nomem(err, errlen);
	}
	return POOL_ERROR;
}

void pool_checkin(pool *p, uint64_t id)
{
	if (p && p->mode == POOL_RECYCLABLE)
		leases_del(&p->leased, id);
}

pool_mode pool_get_mode(const pool *p)
{
	return p->mode;
}

size_t pool_size(const pool *p)
{
	return pool_rows_known(p);
}

size_t pool_leased(const pool *p)
{
	return p->leased.n;
}

const char *const *pool_columns(const pool *p)
{
	return (const char *const *)p->columns;
}

const char *pool_describe(const pool *p)
{
	return p->desc;
}

void pool_free(pool *p)
{
	if (!p)
		return;
	if (p->pl && p->state && p->pl->close)
		p->pl->close(p->state);
	if (p->columns)
		for (size_t i = 0; p->columns[i]; i++)
			free(p->columns[i]);
	free(p->columns);
	table_free(&p->t);
	free(p->offsets);
	free(p->name);
	free(p->leased.slots);
	free(p->again);
	free(p->scratch);
	free(p);
}
