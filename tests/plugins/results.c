/*
 * results.c - journeys for the results, thresholds and metrics tests
 * (tests/test_results.c, tests/test_thresholds.c, tests/test_metrics.c).
 */
#include <mite/mite.h>

MITE_MODULE(NULL, NULL);

MITE_EXPORT int weird(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int sender(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int slow(mite_ctx *ctx, const mite_row *row);

/* Names and messages that need escaping in the Prometheus text: quotes, a
 * backslash, a newline, and bytes that are not UTF-8. Fails every time. */
int weird(mite_ctx *ctx, const mite_row *row)
{
	(void)row;
	mite_txn_begin(ctx, "say \"hi\" \\ there");
	mite_sleep(ctx, 0.01);
	return mite_fail(ctx, "bad \"quote\" \\ back\nslash \xff end");
}

/* A custom message per iteration, then a short sleep. */
int sender(mite_ctx *ctx, const mite_row *row)
{
	(void)row;
	mite_txn_begin(ctx, "send");
	mite_send(ctx, "note", MITE_STR("k", "v"), MITE_INT("n", 7));
	mite_sleep(ctx, mite_config_double(ctx, "sleep", 0.01));
	return mite_txn_end(ctx);
}

/* Fast until `after` seconds into the iteration count, then slow: the
 * latency jumps, which a windowed threshold sees and a whole-run one may
 * not. */
int slow(mite_ctx *ctx, const mite_row *row)
{
	long long n = mite_row_int(row, 0, 0);

	mite_txn_begin(ctx, "step");
	mite_sleep(ctx, n > mite_config_int(ctx, "after", 100) ? 0.2 : 0.005);
	return mite_txn_end(ctx);
}
