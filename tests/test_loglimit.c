/* test_loglimit.c - the token buckets behind mited's runner_stderr limit. */
#include "controller/loglimit.h"

#include <criterion/criterion.h>

static const loglimit_conf C = { .lines_per_s = 10, .bytes_per_s = 1000, .burst_s = 2 };

Test(loglimit, burst_then_rate_then_report)
{
	loglimit l;
	uint64_t lines, bytes;
	double secs;
	int ok = 0;

	loglimit_init(&l, &C, 1000);
	/* A burst of 2 s' worth: 20 lines pass, the rest are dropped. */
	for (int i = 0; i < 100; i++)
		ok += loglimit_take(&l, &C, 10, 1000);
	cr_assert_eq(ok, 20);
	cr_assert_eq(loglimit_report(&l, 1000, 0, &lines, &bytes, &secs), 0,
		     "no report before 10 s");
	/* Then 10 lines a second. */
	ok = 0;
	for (uint64_t t = 1001; t <= 6000; t++)
		ok += loglimit_take(&l, &C, 10, t);
	cr_assert(ok >= 49 && ok <= 51, "%d lines in 5 s at 10/s", ok);
	cr_assert_eq(loglimit_report(&l, 6000, 0, &lines, &bytes, &secs), 0);
	cr_assert_eq(loglimit_report(&l, 11000, 0, &lines, &bytes, &secs), 1);
	cr_assert_eq(lines, 80 + 5000 - (uint64_t)ok);
	cr_assert_eq(bytes, lines * 10);
	cr_assert_float_eq(secs, 10.0, 1e-9);
	cr_assert_eq(loglimit_report(&l, 30000, 1, &lines, &bytes, &secs), 0, "counts were reset");
}

Test(loglimit, bytes_limit_long_lines)
{
	loglimit l;
	uint64_t lines, bytes;
	double secs;
	int ok = 0;

	loglimit_init(&l, &C, 0);
	/* 2000 bytes of burst: three lines of 900 do not fit. */
	for (int i = 0; i < 3; i++)
		ok += loglimit_take(&l, &C, 900, 0);
	cr_assert_eq(ok, 2);
	/* A final report comes at once. */
	cr_assert_eq(loglimit_report(&l, 10, 1, &lines, &bytes, &secs), 1);
	cr_assert_eq(lines, 1);
	cr_assert_eq(bytes, 900);
	/* Quiet for a long time: the bucket is full again, not more. */
	ok = 0;
	for (int i = 0; i < 100; i++)
		ok += loglimit_take(&l, &C, 1, 1000000);
	cr_assert_eq(ok, 20);
}
