/* test_pool.c - datapools: inline, range, CSV, plugins; iterable,
 * recyclable and single. */
#include "testpaths.h"

#include "controller/pool.h"
#include "core/module.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[1024];
static char tmp[PATH_MAX];

static void mk_tmp(void)
{
	tp_mkdtemp(tmp, sizeof(tmp));
}

static void rm_tmp(void)
{
	tp_rmrf(tmp);
}

/* Checks a row out, expecting POOL_ROW, and returns it. */
static mite_row *take(pool *p)
{
	mite_row *r = NULL;
	int rc = pool_checkout(p, &r, err, sizeof(err));

	cr_assert_eq(rc, POOL_ROW, "checkout gave %d (%s)", rc, err);
	cr_assert_not_null(r);
	return r;
}

static int try_take(pool *p)
{
	mite_row *r = NULL;
	int rc = pool_checkout(p, &r, err, sizeof(err));

	if (rc != POOL_ROW)
		cr_assert_null(r);
	row_free(r);
	return rc;
}

Test(pool, modes)
{
	pool_mode m;

	cr_assert_eq(pool_mode_parse("iterable", &m), 0);
	cr_assert_eq(m, POOL_ITERABLE);
	cr_assert_eq(pool_mode_parse("recyclable", &m), 0);
	cr_assert_eq(m, POOL_RECYCLABLE);
	cr_assert_eq(pool_mode_parse("single", &m), 0);
	cr_assert_eq(m, POOL_SINGLE);
	cr_assert_eq(pool_mode_parse("cyclic", &m), -EINVAL);
	cr_assert_eq(pool_mode_parse(NULL, &m), -EINVAL);
	cr_assert_str_eq(pool_mode_name(POOL_RECYCLABLE), "recyclable");
}

static const char *const cols[] = { "a", "b" };
static const char *const vals[] = { "1", "x", "2", "y", "3", "z" };

Test(pool, inline_iterable)
{
	pool *p = pool_new_inline(POOL_ITERABLE, cols, 2, vals, 3, err, sizeof(err));
	mite_row *r;

	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(pool_size(p), 3);
	cr_assert_eq(pool_get_mode(p), POOL_ITERABLE);
	cr_assert_str_eq(pool_columns(p)[1], "b");
	cr_assert_null(pool_columns(p)[2]);
	cr_assert_str_eq(pool_describe(p), "inline (3 rows, iterable)");
	for (int i = 0; i < 3; i++) {
		r = take(p);
		cr_assert_eq(row_id(r), (uint64_t)i);
		cr_assert_eq(row_count(r), 2);
		cr_assert_str_eq(row_str(r, 0), vals[i * 2]);
		cr_assert_str_eq(row_str(r, row_index(r, "b")), vals[i * 2 + 1]);
		pool_checkin(p, row_id(r)); /* a no-op for iterable pools */
		row_free(r);
	}
	cr_assert_eq(try_take(p), POOL_EXHAUSTED);
	cr_assert_eq(try_take(p), POOL_EXHAUSTED);
	pool_free(p);
}

Test(pool, inline_unnamed_and_empty)
{
	pool *p = pool_new_inline(POOL_ITERABLE, NULL, 2, vals, 1, err, sizeof(err));
	mite_row *r;

	cr_assert_null(pool_columns(p));
	r = take(p);
	cr_assert_eq(row_index(r, "a"), -1);
	row_free(r);
	pool_free(p);
	cr_assert_null(pool_new_inline(POOL_ITERABLE, NULL, 2, vals, 0, err, sizeof(err)));
	cr_assert_str_eq(err, "inline datapool has no rows");
	pool_free(NULL);
}

Test(pool, recyclable_leases_and_waits)
{
	pool *p = pool_new_inline(POOL_RECYCLABLE, cols, 2, vals, 3, err, sizeof(err));
	mite_row *a, *b, *c, *d;

	a = take(p);
	b = take(p);
	c = take(p);
	cr_assert_eq(row_id(a), 0);
	cr_assert_eq(row_id(c), 2);
	cr_assert_eq(pool_leased(p), 3);
	cr_assert_eq(try_take(p), POOL_WAIT, "all leased");
	pool_checkin(p, row_id(b));
	cr_assert_eq(pool_leased(p), 2);
	d = take(p);
	cr_assert_eq(row_id(d), 1, "the one returned");
	cr_assert_str_eq(row_str(d, 1), "y");
	cr_assert_eq(try_take(p), POOL_WAIT);
	pool_checkin(p, 99); /* not leased: ignored */
	pool_checkin(p, row_id(d));
	pool_checkin(p, row_id(d)); /* twice: ignored */
	cr_assert_eq(pool_leased(p), 2);
	row_free(a);
	row_free(b);
	row_free(c);
	row_free(d);
	pool_free(p);
}

Test(pool, recyclable_goes_round_in_turn)
{
	pool *p = pool_new_range(POOL_RECYCLABLE, 1, 5, 1, NULL, 0, NULL, err, sizeof(err));

	/* One at a time: every row gets its turn before any comes again. */
	for (int i = 0; i < 12; i++) {
		mite_row *r = take(p);
		cr_assert_eq(row_int(r, 0, -1), 1 + i % 5);
		pool_checkin(p, row_id(r));
		row_free(r);
	}
	cr_assert_eq(pool_leased(p), 0);
	pool_free(p);
}

/* Leases against a reference model, with many ids, so that the hash set
 * grows and deletes through collisions. */
Test(pool, recyclable_random_against_reference)
{
	enum { N = 3000 };
	static char leased[N];
	static uint64_t held[N];
	size_t nheld = 0;
	pool *p = pool_new_range(POOL_RECYCLABLE, 0, N - 1, 1, NULL, 0, NULL, err, sizeof(err));
	unsigned seed = 12345;

	for (int step = 0; step < 200000; step++) {
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 3 != 0 || nheld == 0) {
			mite_row *r = NULL;
			int rc = pool_checkout(p, &r, err, sizeof(err));
			if (nheld == N) {
				cr_assert_eq(rc, POOL_WAIT);
				continue;
			}
			cr_assert_eq(rc, POOL_ROW);
			cr_assert_eq(leased[row_id(r)], 0, "row %llu handed out twice",
				     (unsigned long long)row_id(r));
			cr_assert_eq(row_int(r, 0, -1), (long long)row_id(r));
			leased[row_id(r)] = 1;
			held[nheld++] = row_id(r);
			row_free(r);
		} else {
			size_t i = (seed >> 8) % nheld;
			pool_checkin(p, held[i]);
			leased[held[i]] = 0;
			held[i] = held[--nheld];
		}
		cr_assert_eq(pool_leased(p), nheld);
	}
	pool_free(p);
}

Test(pool, single)
{
	pool *p = pool_new_inline(POOL_SINGLE, cols, 2, vals, 3, err, sizeof(err));

	for (int i = 0; i < 5; i++) {
		mite_row *r = take(p);
		cr_assert_eq(row_id(r), 0);
		cr_assert_str_eq(row_str(r, 1), "x");
		pool_checkin(p, 0);
		row_free(r);
	}
	cr_assert_eq(pool_leased(p), 0);
	cr_assert_str_eq(pool_describe(p), "inline (3 rows, single)");
	pool_free(p);
}

Test(pool, range_offsets)
{
	const long long offs[] = { 0, 2 };
	const char *const names[] = { "i", "j" };
	pool *p = pool_new_range(POOL_ITERABLE, 0, 4999, 1, offs, 2, names, err, sizeof(err));
	mite_row *r;
	long n = 0;

	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(pool_size(p), 5000);
	cr_assert_str_eq(pool_describe(p), "range 0..4999 (5000 rows, iterable)");
	while (pool_checkout(p, &r, err, sizeof(err)) == POOL_ROW) {
		cr_assert_eq(row_int(r, row_index(r, "i"), -1), n);
		cr_assert_eq(row_int(r, row_index(r, "j"), -1), n + 2);
		row_free(r);
		n++;
	}
	cr_assert_eq(n, 5000);
	pool_free(p);
}

/* Rows handed back unrun (a runner that left the run) are served again,
 * before new ones, once each; ids never handed out, and other modes, are
 * refused. */
Test(pool, iterable_rows_handed_back_unrun_are_served_again)
{
	pool *p = pool_new_range(POOL_ITERABLE, 100, 104, 1, NULL, 0, NULL, err, sizeof(err));
	mite_row *r;

	cr_assert_not_null(p, "%s", err);
	for (int i = 0; i < 3; i++)
		row_free(take(p)); /* ids 0, 1, 2 handed out */
	cr_assert_eq(pool_unrun(p, 1), 1);
	cr_assert_eq(pool_unrun(p, 3), 0, "id 3 was never handed out");
	r = take(p);
	cr_assert_eq(row_id(r), 1);
	cr_assert_eq(row_int(r, 0, -1), 101);
	row_free(r);
	r = take(p);
	cr_assert_eq(row_id(r), 3, "then the pool goes on where it was");
	row_free(r);
	row_free(take(p));
	cr_assert_eq(try_take(p), POOL_EXHAUSTED, "5 rows, each once");
	cr_assert_eq(pool_unrun(p, 4), 1, "a row handed back after the end is served again");
	r = take(p);
	cr_assert_eq(row_id(r), 4);
	row_free(r);
	cr_assert_eq(try_take(p), POOL_EXHAUSTED);
	pool_free(p);

	p = pool_new_range(POOL_RECYCLABLE, 1, 3, 1, NULL, 0, NULL, err, sizeof(err));
	cr_assert_not_null(p, "%s", err);
	row_free(take(p));
	cr_assert_eq(pool_unrun(p, 0), 0, "recyclable rows go back with pool_checkin");
	pool_free(p);
}

Test(pool, range_steps_and_limits)
{
	pool *p = pool_new_range(POOL_ITERABLE, 10, 0, -3, NULL, 0, NULL, err, sizeof(err));
	const long long want[] = { 10, 7, 4, 1 };
	const long long many[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	mite_row *r;

	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(pool_size(p), 4);
	cr_assert_str_eq(pool_describe(p), "range 10..0 step -3 (4 rows, iterable)");
	for (int i = 0; i < 4; i++) {
		r = take(p);
		cr_assert_eq(row_int(r, 0, 0), want[i]);
		row_free(r);
	}
	cr_assert_eq(try_take(p), POOL_EXHAUSTED);
	pool_free(p);

	/* Wide rows, and a range too large to hold in memory. */
	p = pool_new_range(POOL_RECYCLABLE, 0, 4000000000000LL, 1, many, 12, NULL, err,
			   sizeof(err));
	cr_assert_not_null(p, "%s", err);
	r = take(p);
	cr_assert_eq(row_count(r), 12);
	cr_assert_str_eq(row_str(r, 11), "11");
	row_free(r);
	pool_free(p);

	cr_assert_null(pool_new_range(POOL_ITERABLE, 0, 10, 0, NULL, 0, NULL, err, sizeof(err)));
	cr_assert_str_eq(err, "range step must not be 0");
	cr_assert_null(pool_new_range(POOL_ITERABLE, 5, 1, 1, NULL, 0, NULL, err, sizeof(err)));
	cr_assert_str_eq(err, "range 5..1 with step 1 has no rows");
	cr_assert_null(pool_new_range(POOL_ITERABLE, LLONG_MIN, LLONG_MAX, 1, NULL, 0, NULL, err,
				      sizeof(err)));
	cr_assert_str_eq(err,
			 "range -9223372036854775808..9223372036854775807 step 1 has "
			 "18446744073709551616 rows (at most 9007199254740992)");
	/* Row ids travel as JSON numbers: 2^53 rows at most, exactly. */
	cr_assert_null(
		pool_new_range(POOL_ITERABLE, 0, 1LL << 53, 1, NULL, 0, NULL, err, sizeof(err)));
	cr_assert_str_eq(err,
			 "range 0..9007199254740992 step 1 has 9007199254740993 rows (at most "
			 "9007199254740992)");
	p = pool_new_range(POOL_ITERABLE, 0, (1LL << 53) - 1, 1, NULL, 0, NULL, err, sizeof(err));
	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(pool_size(p), 1ull << 53);
	pool_free(p);
	cr_assert_null(pool_new_range(POOL_ITERABLE, 0, LLONG_MAX, 1, many + 1, 1, NULL, err,
				      sizeof(err)));
	cr_assert_null(pool_new_range(POOL_ITERABLE, LLONG_MAX - 9, LLONG_MAX, 1, many + 1, 1, NULL,
				      err, sizeof(err)));
	cr_assert_str_eq(err,
			 "range 9223372036854775798..9223372036854775807 with offset 1 "
			 "overflows");
	p = pool_new_range(POOL_ITERABLE, LLONG_MAX - 1, LLONG_MAX, 1, NULL, 0, NULL, err,
			   sizeof(err));
	cr_assert_not_null(p);
	row_free(take(p));
	r = take(p);
	cr_assert_str_eq(row_str(r, 0), "9223372036854775807");
	row_free(r);
	pool_free(p);
}

/* ---- CSV ---------------------------------------------------------------- */

static pool *csv(const char *text, int header, const char *const *columns, size_t ncols,
		 int *in_file)
{
	char path[PATH_MAX];

	tp_join(path, sizeof(path), tmp, "t.csv");
	tp_write(path, text);
	return pool_new_csv(POOL_ITERABLE, path, header, columns, ncols, err, sizeof(err), in_file);
}

static void expect_err(const char *rest)
{
	char want[PATH_MAX + 256];

	snprintf(want, sizeof(want), "%s/t.csv%s", tmp, rest);
	cr_assert_str_eq(err, want);
}

Test(pool, csv_rfc4180, .init = mk_tmp, .fini = rm_tmp)
{
	int in_file = -1;
	pool *p = csv("\xef\xbb\xbfname,pw,note\r\n"
		      "alice,secret,\"hello, world\"\r\n"
		      "bob,\"pa\"\"ss\",\"two\r\nlines\"\n"
		      "\n"
		      "carol,,plain\n"
		      "\"\",x,y",
		      1, NULL, 0, &in_file);
	mite_row *r;

	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(in_file, 0);
	cr_assert_eq(pool_size(p), 4);
	cr_assert_str_eq(pool_columns(p)[0], "name", "the BOM is skipped");
	cr_assert_str_eq(pool_columns(p)[2], "note");
	cr_assert_str_eq(pool_describe(p), "csv t.csv (4 rows, iterable)");
	r = take(p);
	cr_assert_str_eq(row_str(r, 2), "hello, world");
	cr_assert_str_eq(row_str(r, row_index(r, "pw")), "secret");
	row_free(r);
	r = take(p);
	cr_assert_str_eq(row_str(r, 1), "pa\"ss");
	cr_assert_str_eq(row_str(r, 2), "two\r\nlines");
	row_free(r);
	r = take(p);
	cr_assert_str_eq(row_str(r, 0), "carol");
	cr_assert_str_eq(row_str(r, 1), "");
	row_free(r);
	r = take(p);
	cr_assert_str_eq(row_str(r, 0), "");
	cr_assert_str_eq(row_str(r, 2), "y", "no newline at the end");
	row_free(r);
	cr_assert_eq(try_take(p), POOL_EXHAUSTED);
	pool_free(p);
}

Test(pool, csv_without_header, .init = mk_tmp, .fini = rm_tmp)
{
	const char *const names[] = { "u", "p" };
	pool *p = csv("a,1\nb,2\n", 0, NULL, 0, NULL);
	mite_row *r;

	cr_assert_not_null(p, "%s", err);
	cr_assert_null(pool_columns(p));
	cr_assert_eq(pool_size(p), 2);
	r = take(p);
	cr_assert_str_eq(row_str(r, 0), "a");
	row_free(r);
	pool_free(p);

	p = csv("a,1\nb,2\n", 0, names, 2, NULL);
	r = take(p);
	cr_assert_str_eq(row_str(r, row_index(r, "p")), "1");
	row_free(r);
	pool_free(p);
}

Test(pool, csv_errors_name_file_and_line, .init = mk_tmp, .fini = rm_tmp)
{
	const char *const names[] = { "u", "p", "q" };
	int in_file = 0;

	cr_assert_null(csv("a,b\n1,2\n3,\"open\n\n", 1, NULL, 0, &in_file));
	cr_assert_eq(in_file, 1);
	expect_err(":3: unterminated quoted field");

	cr_assert_null(csv("a,b,c\n1,2,3\n\"x\n y\",2,3\n4,5\n", 1, NULL, 0, &in_file));
	cr_assert_eq(in_file, 1);
	expect_err(":5: 2 fields where the header has 3");

	cr_assert_null(csv("1,2\n3,4,5\n", 0, NULL, 0, &in_file));
	expect_err(":2: 3 fields where the first row has 2");

	cr_assert_null(csv("1,2\n", 0, names, 3, &in_file));
	expect_err(":1: 2 fields where the datapool's columns name 3");

	cr_assert_null(csv("a,b\n\"x\"y,2\n", 1, NULL, 0, &in_file));
	expect_err(":2: unexpected character after a closing quote");

	cr_assert_null(csv("a,b\n", 1, NULL, 0, &in_file));
	cr_assert_eq(in_file, 0);
	expect_err(" has no rows");

	cr_assert_null(csv("", 0, NULL, 0, &in_file));
	expect_err(" has no rows");
}

Test(pool, csv_unreadable)
{
	int in_file = 1;

	cr_assert_null(pool_new_csv(POOL_ITERABLE, "/no/such.csv", 0, NULL, 0, err, sizeof(err),
				    &in_file));
	cr_assert_eq(in_file, 0);
	cr_assert_str_eq(err, "cannot read /no/such.csv: No such file or directory");
}

Test(pool, csv_large, .init = mk_tmp, .fini = rm_tmp)
{
	char path[PATH_MAX];
	FILE *f;
	pool *p;
	mite_row *r;

	tp_join(path, sizeof(path), tmp, "big.csv");
	f = fopen(path, "w");
	fprintf(f, "id,name\n");
	for (int i = 0; i < 100000; i++)
		fprintf(f, "%d,\"user %d, the %dth\"\n", i, i, i);
	fclose(f);
	p = pool_new_csv(POOL_RECYCLABLE, path, 1, NULL, 0, err, sizeof(err), NULL);
	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(pool_size(p), 100000);
	for (int i = 0; i < 99999; i++)
		row_free(take(p));
	r = take(p);
	cr_assert_str_eq(row_str(r, 1), "user 99999, the 99999th");
	row_free(r);
	cr_assert_eq(try_take(p), POOL_WAIT);
	pool_free(p);
}

/* Writes len bytes (NULs included) to tmp/t.csv and loads it. */
static pool *csv_bytes(const char *data, size_t len, int header, int *in_file)
{
	char path[PATH_MAX];
	FILE *f;

	tp_join(path, sizeof(path), tmp, "t.csv");
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	return pool_new_csv(POOL_ITERABLE, path, header, NULL, 0, err, sizeof(err), in_file);
}

#define CSV_BYTES(lit, header, in_file) csv_bytes(lit, sizeof(lit) - 1, header, in_file)

Test(pool, csv_nul_byte_is_refused_with_its_place, .init = mk_tmp, .fini = rm_tmp)
{
	int in_file = 0;

	cr_assert_null(CSV_BYTES("a,b\n1,x\0y\n", 0, &in_file));
	cr_assert_eq(in_file, 1);
	expect_err(":2: column 2: NUL byte");
	cr_assert_null(CSV_BYTES("a,b\n1,\"x\ny\0\"\n", 0, &in_file));
	expect_err(":3: column 2: NUL byte");
	cr_assert_null(CSV_BYTES("a,\"b\"\0\n", 0, &in_file));
	expect_err(":1: column 2: NUL byte");
	cr_assert_null(CSV_BYTES("n\0ame,b\n1,2\n", 1, &in_file));
	expect_err(":1: column 1: NUL byte");
	cr_assert_null(CSV_BYTES("\0", 0, &in_file));
	expect_err(":1: column 1: NUL byte");
}

/* Writes tmp/t.csv: a header line (none when head is NULL), then `row`
 * (already formatted), and loads it. */
static pool *csv_big(const char *head, const char *row, int *in_file)
{
	size_t lh = head ? strlen(head) : 0, lr = strlen(row);
	char *buf = malloc(lh + lr + 1);
	pool *p;

	cr_assert_not_null(buf);
	if (head)
		memcpy(buf, head, lh);
	memcpy(buf + lh, row, lr + 1);
	p = csv_bytes(buf, lh + lr, head != NULL, in_file);
	free(buf);
	return p;
}

Test(pool, csv_bounds_are_refused_not_cut, .init = mk_tmp, .fini = rm_tmp)
{
	size_t cap = 6 * (size_t)ROW_MAX_FIELD + 8192;
	char *row = malloc(cap), *w;
	int in_file = 0;
	mite_row *r;
	pool *p;

	cr_assert_not_null(row);
	/* A field at the limit is whole; one byte more is refused. */
	memset(row, 'f', ROW_MAX_FIELD);
	memcpy(row + ROW_MAX_FIELD, ",z\n", 4);
	p = csv_big("a,b\n", row, &in_file);
	cr_assert_not_null(p, "%s", err);
	r = take(p);
	cr_assert_eq(strlen(row_str(r, 0)), ROW_MAX_FIELD);
	cr_assert_str_eq(row_str(r, 1), "z");
	row_free(r);
	pool_free(p);
	row[0] = '"';
	memset(row + 1, 'f', ROW_MAX_FIELD + 1);
	memcpy(row + ROW_MAX_FIELD + 2, "\",z\n", 5);
	cr_assert_null(csv_big("a,b\n", row, &in_file));
	cr_assert_eq(in_file, 1);
	expect_err(":2: column 1: field of 1048577 bytes (at most 1048576)");

	/* Five fields of 1 MiB: each is fine, the row is not. */
	w = row;
	for (int i = 0; i < 5; i++) {
		memset(w, 'g', ROW_MAX_FIELD);
		w += ROW_MAX_FIELD;
		*w++ = i < 4 ? ',' : '\n';
	}
	*w = '\0';
	cr_assert_null(csv_big("a,b,c,d,e\n", row, &in_file));
	expect_err(":2: row of 5242880 bytes (at most 4194304)");

	/* 1024 columns are read whole, 1025 refused. */
	w = row;
	for (int i = 0; i < ROW_MAX_COLUMNS; i++)
		w += snprintf(w, cap - (size_t)(w - row), "%sv%d", i ? "," : "", i);
	memcpy(w, "\n", 2);
	p = csv_big(NULL, row, &in_file);
	cr_assert_not_null(p, "%s", err);
	cr_assert_null(pool_columns(p));
	r = take(p);
	cr_assert_eq(row_count(r), ROW_MAX_COLUMNS);
	cr_assert_str_eq(row_str(r, ROW_MAX_COLUMNS - 1), "v1023");
	row_free(r);
	pool_free(p);
	memcpy(w, ",v1024\n", 8);
	cr_assert_null(csv_big("x\n", row, &in_file));
	expect_err(":2: 1025 fields (at most 1024)");
	cr_assert_null(csv_big(NULL, row, &in_file));
	expect_err(":1: 1025 fields (at most 1024)");

	/* A header name over ROW_MAX_NAME. */
	memcpy(row, "id,", 3);
	memset(row + 3, 'n', ROW_MAX_NAME + 1);
	memcpy(row + 3 + ROW_MAX_NAME + 1, "\n1,2\n", 6);
	cr_assert_null(csv_big("", row, &in_file));
	expect_err(":1: column 2: name of 1025 bytes (at most 1024)");
	free(row);
}

Test(pool, csv_file_over_the_size_bound_is_refused_unread, .init = mk_tmp, .fini = rm_tmp)
{
	char path[PATH_MAX], want[PATH_MAX + 128];
	int fd, in_file = 1;

	/* Sparse: it costs no disk, and the size alone refuses it. */
	tp_join(path, sizeof(path), tmp, "huge.csv");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)POOL_MAX_KEPT_BYTES + 1), 0);
	close(fd);
	cr_assert_null(pool_new_csv(POOL_ITERABLE, path, 0, NULL, 0, err, sizeof(err), &in_file));
	cr_assert_eq(in_file, 0);
	snprintf(want, sizeof(want),
		 "cannot read %s: file of 1073741825 bytes (at most 1073741824)", path);
	cr_assert_str_eq(err, want);
}

Test(pool, inline_bounds)
{
	char *big = malloc(ROW_MAX_FIELD + 2);
	const char *v[4] = { "1", "x", "2", NULL };
	const char *names[2] = { "a", NULL };

	cr_assert_not_null(big);
	memset(big, 'a', ROW_MAX_FIELD + 1);
	big[ROW_MAX_FIELD + 1] = '\0';
	v[3] = big;
	cr_assert_null(pool_new_inline(POOL_ITERABLE, NULL, 2, v, 2, err, sizeof(err)));
	cr_assert_str_eq(
		err, "inline datapool row 2: column 2: value of 1048577 bytes (at most 1048576)");
	big[ROW_MAX_NAME + 1] = '\0';
	names[1] = big;
	v[3] = "y";
	cr_assert_null(pool_new_inline(POOL_ITERABLE, names, 2, v, 2, err, sizeof(err)));
	cr_assert_str_eq(err, "inline datapool: column 2: name of 1025 bytes (at most 1024)");
	free(big);
}

/* ---- plugins ------------------------------------------------------------ */

static const mite_api api = {
	.abi_version = MITE_ABI_VERSION,
	.size = sizeof(mite_api),
	.row_out_add = row_out_add,
};
static module *mod;

static const mite_datapool_plugin *plugin(const char *sym)
{
	char path[PATH_MAX];
	const mite_datapool_plugin *pl;

	tp_plugin(path, sizeof(path), "good");
	mod = module_open(path, &api, err, sizeof(err));
	cr_assert_not_null(mod, "%s", err);
	pl = module_sym(mod, sym, err, sizeof(err));
	cr_assert_not_null(pl, "%s", err);
	return pl;
}

static void close_mod(void)
{
	module_close(mod);
}

Test(pool, plugin_iterable, .fini = close_mod)
{
	const char *args[] = { "count", "4", NULL };
	pool *p = pool_new_plugin(POOL_ITERABLE, plugin("pool"), "good.so:pool", args, err,
				  sizeof(err));
	mite_row *r;

	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(pool_size(p), 0, "unknown up front");
	cr_assert_str_eq(pool_columns(p)[0], "user");
	cr_assert_str_eq(pool_describe(p), "plugin good.so:pool (iterable)");
	for (int i = 0; i < 4; i++) {
		char want[16];
		r = take(p);
		snprintf(want, sizeof(want), "user%d", i);
		cr_assert_eq(row_id(r), (uint64_t)i);
		cr_assert_str_eq(row_str(r, row_index(r, "user")), want);
		cr_assert_eq(row_int(r, 1, -1), i);
		row_free(r);
	}
	cr_assert_eq(try_take(p), POOL_EXHAUSTED);
	cr_assert_eq(try_take(p), POOL_EXHAUSTED);
	cr_assert_eq(pool_unrun(p, 2), 0, "a plugin's iterable rows are not kept");
	pool_free(p);
}

Test(pool, plugin_recyclable, .fini = close_mod)
{
	const char *args[] = { "count", "3", NULL };
	pool *p = pool_new_plugin(POOL_RECYCLABLE, plugin("pool"), "good.so:pool", args, err,
				  sizeof(err));
	mite_row *a, *b, *c, *d;

	/* All the plugin's rows first, then round again. */
	a = take(p);
	pool_checkin(p, row_id(a));
	b = take(p);
	cr_assert_eq(row_id(b), 1, "a fresh row while the plugin has some");
	c = take(p);
	cr_assert_eq(row_id(c), 2);
	d = take(p);
	cr_assert_eq(row_id(d), 0, "then the returned ones");
	cr_assert_str_eq(row_str(d, 0), "user0");
	cr_assert_eq(try_take(p), POOL_WAIT);
	row_free(a);
	row_free(b);
	row_free(c);
	row_free(d);
	pool_free(p);
}

Test(pool, plugin_single, .fini = close_mod)
{
	pool *p = pool_new_plugin(POOL_SINGLE, plugin("pool"), "good.so:pool", NULL, err,
				  sizeof(err));

	for (int i = 0; i < 3; i++) {
		mite_row *r = take(p);
		cr_assert_str_eq(row_str(r, 0), "user0");
		row_free(r);
	}
	pool_free(p);
	{
		const char *none[] = { "count", "0", NULL };
		cr_assert_null(pool_new_plugin(POOL_SINGLE, plugin("pool"), "good.so:pool", none,
					       err, sizeof(err)));
		cr_assert_str_eq(err, "datapool plugin good.so:pool produced no rows");
		module_close(mod);
	}
}

Test(pool, plugin_errors, .fini = close_mod)
{
	const char *fail_open[] = { "fail_open", "1", NULL };
	const char *fail_at[] = { "fail_at", "1", NULL };
	mite_datapool_plugin bad;
	pool *p;

	cr_assert_null(pool_new_plugin(POOL_ITERABLE, plugin("oldpool"), "good.so:oldpool", NULL,
				       err, sizeof(err)));
	cr_assert_str_eq(err,
			 "datapool plugin good.so:oldpool was built for mite ABI 999; this "
			 "mite speaks ABI 1");
	module_close(mod);

	cr_assert_null(pool_new_plugin(POOL_ITERABLE, plugin("pool"), "good.so:pool", fail_open,
				       err, sizeof(err)));
	cr_assert_str_eq(err, "datapool plugin good.so:pool failed to open: asked to fail");

	bad = *(const mite_datapool_plugin *)module_sym(mod, "pool", err, sizeof(err));
	bad.size = 8;
	cr_assert_null(pool_new_plugin(POOL_ITERABLE, &bad, "b", NULL, err, sizeof(err)));
	cr_assert(strncmp(err, "datapool plugin b has a bad size (8 bytes", 41) == 0, "%s", err);
	bad.size = sizeof(bad);
	bad.next = NULL;
	cr_assert_null(pool_new_plugin(POOL_ITERABLE, &bad, "b", NULL, err, sizeof(err)));
	cr_assert_str_eq(err, "datapool plugin b lacks its next callback");
	cr_assert_null(pool_new_plugin(POOL_ITERABLE, NULL, "n", NULL, err, sizeof(err)));

	p = pool_new_plugin(POOL_ITERABLE, module_sym(mod, "pool", err, sizeof(err)),
			    "good.so:pool", fail_at, err, sizeof(err));
	cr_assert_not_null(p, "%s", err);
	row_free(take(p));
	cr_assert_eq(try_take(p), POOL_ERROR);
	cr_assert_str_eq(err, "datapool plugin good.so:pool failed: row 1 is broken");
	pool_free(p);
}

/* A plugin whose rows break the bounds: row 1 is fine, row 2 has a value
 * one byte over ROW_MAX_FIELD. */
static int wide_next(void *state, mite_row_out *out, char *e, size_t elen)
{
	long *n = state;
	char *big;
	int rc;

	(void)e;
	(void)elen;
	if ((*n)++ == 0)
		return row_out_add(out, "fine");
	big = malloc(ROW_MAX_FIELD + 2);
	if (!big)
		return -1;
	memset(big, 'w', ROW_MAX_FIELD + 1);
	big[ROW_MAX_FIELD + 1] = '\0';
	rc = row_out_add(out, big);
	free(big);
	return rc;
}

static long wide_state;
static void *wide_open(const char *const *args, char *e, size_t elen)
{
	(void)args;
	(void)e;
	(void)elen;
	wide_state = 0;
	return &wide_state;
}

Test(pool, plugin_rows_over_a_bound_fail_the_pool)
{
	static const char *many[ROW_MAX_COLUMNS + 2];
	mite_datapool_plugin pl = { .abi_version = MITE_ABI_VERSION,
				    .size = sizeof(pl),
				    .open = wide_open,
				    .next = wide_next };
	pool *p = pool_new_plugin(POOL_ITERABLE, &pl, "w", NULL, err, sizeof(err));

	cr_assert_not_null(p, "%s", err);
	row_free(take(p));
	cr_assert_eq(try_take(p), POOL_ERROR);
	cr_assert_str_eq(
		err,
		"datapool plugin w: row 2: column 1: value of 1048577 bytes (at most 1048576)");
	pool_free(p);

	for (size_t i = 0; i <= ROW_MAX_COLUMNS; i++)
		many[i] = "c";
	pl.columns = many;
	cr_assert_null(pool_new_plugin(POOL_ITERABLE, &pl, "w", NULL, err, sizeof(err)));
	cr_assert_str_eq(err, "datapool plugin w: 1025 columns (at most 1024)");
}
