/*
 * e2e.c - journeys for the engine's end-to-end tests (tests/test_e2e.c).
 */
#include <mite/mite.h>

#include <stdio.h>

MITE_MODULE(NULL, NULL);

#define MAX_ROWS 4096
static int in_use[MAX_ROWS]; /* per row id: iterations using it now */

MITE_EXPORT int quick(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int exclusive(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int flaky(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int spin(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int stuck(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int nested(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int rowid(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int forever(mite_ctx *ctx, const mite_row *row);

/* One transaction around a short sleep. */
int quick(mite_ctx *ctx, const mite_row *row)
{
	mite_txn_begin(ctx, "quick");
	mite_sleep(ctx, mite_config_double(ctx, "sleep", 0.05));
	return mite_txn_end(ctx);
}

/* Fails when a recyclable row is used by two iterations at once. */
int exclusive(mite_ctx *ctx, const mite_row *row)
{
	uint64_t id = mite_row_id(row);
	int rc;

	if (id >= MAX_ROWS)
		return mite_fail(ctx, "row id %llu out of range", (unsigned long long)id);
	mite_txn_begin(ctx, "lease");
	if (in_use[id]++)
		mite_fail(ctx, "row %llu leased twice", (unsigned long long)id);
	rc = mite_sleep(ctx, 0.02);
	in_use[id]--;
	if (rc == MITE_ECANCELED)
		mite_fail(ctx, "cancelled");
	return mite_txn_end(ctx);
}

/* Every other iteration of an instance fails (nested transactions). */
int flaky(mite_ctx *ctx, const mite_row *row)
{
	long long v = mite_row_int(row, 0, 0);

	mite_txn_begin(ctx, "outer");
	mite_txn_begin(ctx, "inner");
	mite_sleep(ctx, 0.01);
	if (v % 2)
		return mite_fail(ctx, "odd row %lld", v);
	mite_txn_end(ctx);
	return mite_txn_end(ctx);
}

/* Never yields: the runner must still hand the loop a turn. */
int spin(mite_ctx *ctx, const mite_row *row)
{
	volatile unsigned x = 0;

	mite_txn_begin(ctx, "spin");
	for (int i = 0; i < 1000; i++)
		x += (unsigned)i;
	(void)x; /* the work is the point; the sum is not */
	return mite_txn_end(ctx);
}

/* Sleeps far longer than any test: only cancellation ends it. */
int stuck(mite_ctx *ctx, const mite_row *row)
{
	mite_txn_begin(ctx, "stuck");
	if (mite_sleep(ctx, 3600) == MITE_ECANCELED) {
		mite_send(ctx, "cancelled", MITE_INT("instance", (long long)mite_instance_id(ctx)));
		return mite_fail(ctx, "cancelled");
	}
	return mite_txn_end(ctx);
}

/* Sends the row's named column back, for accessor checks. */
int nested(mite_ctx *ctx, const mite_row *row)
{
	const char *user = mite_row_get(row, "user");

	mite_txn_begin(ctx, "a");
	mite_txn_begin(ctx, "b");
	mite_send(ctx, "row", MITE_STR("user", user ? user : "(none)"),
		  MITE_INT("n", (long long)mite_row_count(row)),
		  MITE_DOUBLE("d", mite_row_double(row, 1, -1)));
	mite_txn_end(ctx);
	return mite_txn_end(ctx);
}

/* Reports which row it ran as a message named after the row ("row 7",
 * from column 0) and the row's shape ("width 3 last c"), so that a test
 * can check that every row ran exactly once and arrived whole; then
 * sleeps (config "sleep", default 50 ms) so that rows are in flight. */
int rowid(mite_ctx *ctx, const mite_row *row)
{
	char name[64], shape[64];
	size_t n = mite_row_count(row);
	const char *last = n ? mite_row_str(row, n - 1) : "";

	snprintf(name, sizeof name, "row %s", n ? mite_row_str(row, 0) : "-");
	snprintf(shape, sizeof shape, "width %zu last %.32s", n, last ? last : "(null)");
	mite_send(ctx, name, MITE_INT("id", (long long)mite_row_id(row)));
	mite_send(ctx, shape, MITE_INT("n", (long long)n));
	mite_txn_begin(ctx, "row");
	mite_sleep(ctx, mite_config_double(ctx, "sleep", 0.05));
	return mite_txn_end(ctx);
}

/* Never yields, never returns: only a watchdog ends it. */
int forever(mite_ctx *ctx, const mite_row *row)
{
	static volatile unsigned long spins;

	mite_txn_begin(ctx, "forever");
	for (;;)
		spins++;
	return mite_txn_end(ctx);
}
