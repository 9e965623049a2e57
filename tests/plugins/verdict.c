/*
 * verdict.c - journeys for the verdict tests (tests/test_verdict.c,
 * tests/e2e/verdict.sh): a run that falls short in every way mite knows.
 */
#include <mite/mite.h>

#include <stdlib.h>

MITE_MODULE(NULL, NULL);

MITE_EXPORT int nap(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int deaf(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int quit(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int hog(mite_ctx *ctx, const mite_row *row);

/* A transaction around a sleep of config `sleep` seconds (default 0.02). */
int nap(mite_ctx *ctx, const mite_row *row)
{
	(void)row;
	mite_txn_begin(ctx, "nap");
	mite_sleep(ctx, mite_config_double(ctx, "sleep", 0.02));
	return mite_txn_end(ctx);
}

/* Ignores what its sleep returns: a cancelled sleep must still fail the
 * transaction (and be counted as cancelled), not pass as a long success. */
int deaf(mite_ctx *ctx, const mite_row *row)
{
	(void)row;
	mite_txn_begin(ctx, "deaf");
	mite_sleep(ctx, mite_config_double(ctx, "sleep", 3600));
	return mite_txn_end(ctx);
}

/* Leaves the process: what a journey must never do, and mite must notice. */
int quit(mite_ctx *ctx, const mite_row *row)
{
	(void)row;
	mite_txn_begin(ctx, "quit");
	mite_sleep(ctx, 0.05);
	exit(0);
}

/* Holds the loop for config `hold` seconds (default 0.2) without yielding,
 * then sleeps a little: the runner's loop lags (a saturated generator). */
int hog(mite_ctx *ctx, const mite_row *row)
{
	double until = mite_now(ctx) + mite_config_double(ctx, "hold", 0.2);

	(void)row;
	mite_txn_begin(ctx, "hog");
	while (mite_now(ctx) < until)
		;
	mite_sleep(ctx, 0.01);
	return mite_txn_end(ctx);
}
