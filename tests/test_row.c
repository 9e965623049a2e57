/* test_row.c - datapool rows and the plugin row builder. */
#include "core/row.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(row, new_copies_and_reads)
{
	static const char *const names[] = { "user", "n", "pi", NULL };
	char user[] = "alice";
	const char *vals[] = { user, "42", "3.25" };
	mite_row *r = row_new(7, names, vals, 3);

	cr_assert_not_null(r);
	user[0] = 'X'; /* the row has its own copy */
	cr_assert_eq(row_id(r), 7);
	cr_assert_eq(row_count(r), 3);
	cr_assert_str_eq(row_str(r, 0), "alice");
	cr_assert_null(row_str(r, 3));
	cr_assert_eq(row_index(r, "n"), 1);
	cr_assert_eq(row_index(r, "nope"), -1);
	cr_assert_eq(row_index(r, NULL), -1);
	cr_assert_eq(row_int(r, 1, -1), 42);
	cr_assert_eq(row_int(r, 0, -1), -1);
	cr_assert_eq(row_int(r, 2, -1), -1, "3.25 is not an integer");
	cr_assert_float_eq(row_double(r, 2, 0), 3.25, 1e-12);
	cr_assert_float_eq(row_double(r, 1, 0), 42.0, 1e-12);
	cr_assert_float_eq(row_double(r, 0, -2), -2.0, 1e-12);
	cr_assert_float_eq(row_double(r, 9, -2), -2.0, 1e-12);
	row_free(r);
}

Test(row, ints_are_decimal_and_checked)
{
	const char *vals[] = { "0123", "", "99999999999999999999", "-5", " 7", "0x10" };
	mite_row *r = row_new(0, NULL, vals, 6);

	cr_assert_eq(row_int(r, 0, -1), 123, "no octal");
	cr_assert_eq(row_int(r, 1, -1), -1);
	cr_assert_eq(row_int(r, 2, -1), -1, "overflow gives the default");
	cr_assert_eq(row_int(r, 3, 0), -5);
	cr_assert_eq(row_int(r, 4, 0), 7, "leading space is accepted by strtoll");
	cr_assert_eq(row_int(r, 5, -1), -1, "no hex");
	cr_assert_eq(row_index(r, "x"), -1, "unnamed columns");
	row_free(r);
}

Test(row, null_row_is_empty)
{
	cr_assert_eq(row_count(NULL), 0);
	cr_assert_null(row_str(NULL, 0));
	cr_assert_eq(row_index(NULL, "a"), -1);
	cr_assert_eq(row_int(NULL, 0, 5), 5);
	cr_assert_float_eq(row_double(NULL, 0, 1.5), 1.5, 1e-12);
	cr_assert_eq(row_id(NULL), 0);
	row_free(NULL);
}

Test(row, empty_and_null_values)
{
	const char *vals[] = { NULL, "" };
	mite_row *r = row_new(1, NULL, vals, 2);
	mite_row *e = row_new(2, NULL, NULL, 0);

	cr_assert_str_eq(row_str(r, 0), "", "a NULL value reads as empty");
	cr_assert_str_eq(row_str(r, 1), "");
	cr_assert_eq(row_count(e), 0);
	cr_assert_null(row_str(e, 0));
	row_free(r);
	row_free(e);
}

Test(row, names_shorter_than_values)
{
	static const char *const names[] = { "a", NULL };
	const char *vals[] = { "1", "2" };
	mite_row *r = row_new(0, names, vals, 2);

	cr_assert_eq(row_index(r, "a"), 0);
	cr_assert_eq(row_index(r, "b"), -1);
	row_free(r);
}

Test(row, builder)
{
	struct mite_row_out out = { 0 };
	char buf[16];

	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "v%d", i);
		cr_assert_eq(row_out_add(&out, buf), 1);
	}
	cr_assert_eq(out.n, 100);
	cr_assert_str_eq(out.vals[99], "v99");
	cr_assert_eq(row_out_add(&out, NULL), MITE_EINVAL);
	cr_assert_eq(row_out_add(NULL, "x"), MITE_EINVAL);
	row_out_reset(&out);
	cr_assert_eq(out.n, 0);
	cr_assert_eq(row_out_add(&out, "again"), 1);
	cr_assert_str_eq(out.vals[0], "again");
	row_out_reset(&out);
	row_out_reset(&out);
}

/* The bounds every datapool row meets: at the limit is fine, one past it
 * is refused with the value and the limit. */
Test(row, check_bounds)
{
	static const char *many[ROW_MAX_COLUMNS + 1];
	char *big = malloc(ROW_MAX_FIELD + 2), err[128];
	const char *v[5];

	cr_assert_not_null(big);
	for (size_t i = 0; i <= ROW_MAX_COLUMNS; i++)
		many[i] = "x";
	cr_assert_eq(row_check(many, ROW_MAX_COLUMNS, err, sizeof err), 0);
	cr_assert_eq(row_check(many, ROW_MAX_COLUMNS + 1, err, sizeof err), -E2BIG);
	cr_assert_str_eq(err, "1025 columns (at most 1024)");
	cr_assert_eq(row_check(NULL, 3, err, sizeof err), 0, "NULL values read as empty");

	memset(big, 'a', ROW_MAX_FIELD + 1);
	big[ROW_MAX_FIELD] = '\0';
	v[0] = "ok";
	v[1] = big;
	cr_assert_eq(row_check(v, 2, err, sizeof err), 0);
	big[ROW_MAX_FIELD] = 'a';
	big[ROW_MAX_FIELD + 1] = '\0';
	cr_assert_eq(row_check(v, 2, err, sizeof err), -E2BIG);
	cr_assert_str_eq(err, "column 2: value of 1048577 bytes (at most 1048576)");

	/* Four values at the field limit fill a row exactly; one byte more
	 * is over. */
	big[ROW_MAX_FIELD] = '\0';
	for (int i = 0; i < 4; i++)
		v[i] = big;
	cr_assert_eq(row_check(v, 4, err, sizeof err), 0);
	v[4] = "b";
	cr_assert_eq(row_check(v, 5, err, sizeof err), -E2BIG);
	cr_assert_str_eq(err, "row of 4194305 bytes (at most 4194304)");

	big[ROW_MAX_NAME] = '\0';
	v[0] = "id";
	v[1] = big;
	cr_assert_eq(row_check_names(v, 2, err, sizeof err), 0);
	big[ROW_MAX_NAME] = 'a';
	big[ROW_MAX_NAME + 1] = '\0';
	cr_assert_eq(row_check_names(v, 2, err, sizeof err), -E2BIG);
	cr_assert_str_eq(err, "column 2: name of 1025 bytes (at most 1024)");
	cr_assert_eq(row_check_names(many, ROW_MAX_COLUMNS + 1, err, sizeof err), -E2BIG);
	cr_assert_str_eq(err, "1025 columns (at most 1024)");
	free(big);
}
