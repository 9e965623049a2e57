/*
 * example.c - the first journey of mite's README, as in the original:
 * a "test1" transaction that sends a test_message with the test_msg config
 * value and the sum of the row's two values, then sleeps half a second.
 *
 * Build it outside the tree with
 *     cc -shared -fPIC $(pkg-config --cflags --libs mite) example.c -o example.so
 */
#include <mite/mite.h>

MITE_MODULE(NULL, NULL);

MITE_EXPORT int journey(mite_ctx *ctx, const mite_row *row);

int journey(mite_ctx *ctx, const mite_row *row)
{
	long long a = mite_row_int(row, 0, 0), b = mite_row_int(row, 1, 0);

	mite_txn_begin(ctx, "test1");
	mite_send(ctx, "test_message",
		  MITE_STR("content", mite_config_str(ctx, "test_msg", "Not set")),
		  MITE_INT("sum", a + b));
	if (mite_sleep(ctx, 0.5) == MITE_ECANCELED) {
		mite_txn_end(ctx);
		return 0;
	}
	return mite_txn_end(ctx);
}
