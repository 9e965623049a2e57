/*
 * rowget.c - a journey that names its row in the request, for the tests
 * that check a datapool's rows run exactly once across runners and hosts
 * (tests/e2e/hosts.sh): GET {base_url}bytes/{row's first value}, expecting
 * 200 (mite-target answers /bytes/N with N bytes and counts each path),
 * then think_time seconds.
 */
#include <mite/http.h>
#include <mite/mite.h>
#include <stdio.h>

MITE_MODULE(NULL, NULL);

MITE_EXPORT int journey(mite_ctx *ctx, const mite_row *row);

int journey(mite_ctx *ctx, const mite_row *row)
{
	const char *v = row ? mite_row_str(row, 0) : NULL;
	char url[512];
	mite_http_response *r;
	int n;

	n = snprintf(url, sizeof(url), "%sbytes/%s",
		     mite_config_str(ctx, "base_url", "http://127.0.0.1:8080/"), v ? v : "0");
	if (n < 0 || (size_t)n >= sizeof(url))
		return mite_fail(ctx, "url over %zu bytes", sizeof(url));
	mite_txn_begin(ctx, "get");
	if (mite_http_request(ctx, "GET", url, NULL, &r) == 0) {
		mite_http_expect_status(ctx, r, 200);
		mite_http_response_free(ctx, r);
	}
	int rc = mite_txn_end(ctx);
	if (rc == 0)
		mite_sleep(ctx, mite_config_double(ctx, "think_time", 0.05));
	return rc;
}
