/*
 * http_get.c - the smallest HTTP journey: one GET of the config value
 * `base_url` per iteration, inside a transaction "get", expecting 200.
 *
 *     mitectl scenario test conf/http.conf --set base_url=http://127.0.0.1:8080/
 *
 * Build it outside the tree with
 *     cc -shared -fPIC $(pkg-config --cflags --libs mite) http_get.c -o http_get.so
 */
#include <mite/http.h>
#include <mite/mite.h>

/* The URL is read once per runner: config values live for the whole run. */
static int init(mite_ctx *ctx, void **fixture)
{
	if (!mite__api->http)
		return mite_fail(ctx, "this mite has no HTTP support");
	*fixture = (void *)mite_config_str(ctx, "base_url", "http://127.0.0.1:8080/");
	return 0;
}

MITE_MODULE(init, NULL);

/* Exported: modules are built with -fvisibility=hidden. */
__attribute__((visibility("default"))) int journey(mite_ctx *ctx, const mite_row *row);

int journey(mite_ctx *ctx, const mite_row *row)
{
	const char *url = mite_fixture(ctx);
	mite_http_response *r;

	(void)row;
	mite_txn_begin(ctx, "get");
	if (mite_http_get(ctx, url, &r) == 0) {
		mite_http_expect_status(ctx, r, 200);
		mite_http_response_free(ctx, r);
	}
	return mite_txn_end(ctx);
}
