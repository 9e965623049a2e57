/*
 * http_get.c - the smallest HTTP journey: one GET of the config value
 * `base_url` per iteration, inside a transaction "get", expecting 200,
 * then (when the config value `think_time` is set) a pause of that many
 * seconds. For https:// URLs: `ca_file` (a PEM bundle of CAs trusted besides
 * the system's), `tls_verify = "0"` (no verification), `tls_resume = "0"`
 * (full handshakes only); `new_connection = "1"` opens a new connection for
 * every GET (a new TLS handshake each time); `http_version = "2"` asks for
 * HTTP/2 (over TLS, where the server offers it); `batch = "N"` (1 to 100)
 * sends N GETs at once per iteration with mite_http_batch (streams of one
 * connection over HTTP/2), each expecting 200.
 *
 *     mitectl scenario test conf/http.conf --set base_url=http://127.0.0.1:8080/
 *
 * Build it outside the tree with
 *     cc -shared -fPIC $(pkg-config --cflags --libs mite) http_get.c -o http_get.so
 */
#include <mite/http.h>
#include <mite/mite.h>
#include <stdlib.h>

struct settings {
	const char *url;
	double think;
	const char *ca_file;
	int verify, resume, fresh, h2;
	long batch;
};

/* Settings are read once per runner: config values live for the whole run. */
static int init(mite_ctx *ctx, void **fixture)
{
	struct settings *st;

	if (!mite__api->http)
		return mite_fail(ctx, "this mite has no HTTP support");
	if (!(st = malloc(sizeof(*st))))
		return mite_fail(ctx, "out of memory");
	st->url = mite_config_str(ctx, "base_url", "http://127.0.0.1:8080/");
	st->think = mite_config_double(ctx, "think_time", 0);
	st->ca_file = mite_config_str(ctx, "ca_file", NULL);
	st->verify = (int)mite_config_int(ctx, "tls_verify", 1);
	st->resume = (int)mite_config_int(ctx, "tls_resume", 1);
	st->fresh = (int)mite_config_int(ctx, "new_connection", 0);
	st->h2 = mite_config_int(ctx, "http_version", 1) == 2;
	st->batch = mite_config_int(ctx, "batch", 0);
	if (st->batch < 0 || st->batch > MITE_HTTP_BATCH_MAX) {
		long b = st->batch;
		free(st);
		return mite_fail(ctx, "config batch = %ld: not from 1 to %d", b,
				 MITE_HTTP_BATCH_MAX);
	}
	*fixture = st;
	return 0;
}

MITE_MODULE(init, free);

MITE_EXPORT int journey(mite_ctx *ctx, const mite_row *row);

/* The batch's GETs, each checked (a failure fails the transaction). */
static void get_batch(mite_ctx *ctx, const struct settings *st)
{
	mite_http_req q[MITE_HTTP_BATCH_MAX];
	const mite_http_opts *o =
		st->fresh ? &(const mite_http_opts){ .flags = MITE_HTTP_NEW_CONNECTION } : NULL;
	size_t n = (size_t)st->batch;

	for (size_t i = 0; i < n; i++)
		q[i] = (mite_http_req){ .url = st->url, .opts = o };
	mite_http_batch(ctx, q, n);
	for (size_t i = 0; i < n; i++)
		if (q[i].resp)
			mite_http_expect_status(ctx, q[i].resp, 200);
	mite_http_batch_free(ctx, q, n);
}

int journey(mite_ctx *ctx, const mite_row *row)
{
	const struct settings *st = mite_fixture(ctx);
	mite_http_response *r;
	int rc;

	(void)row;
	/* (Settings calls that change nothing cost nothing.) */
	mite_http_set_ca_file(ctx, st->ca_file);
	mite_http_set_tls_verify(ctx, st->verify);
	mite_http_set_tls_resumption(ctx, st->resume);
	mite_http_set_version(ctx, st->h2 ? MITE_HTTP_V2 : MITE_HTTP_V1_1);
	mite_txn_begin(ctx, "get");
	if (st->batch)
		get_batch(ctx, st);
	else if (mite_http_request(
			 ctx, "GET", st->url,
			 st->fresh ? &(const mite_http_opts){ .flags = MITE_HTTP_NEW_CONNECTION }
				   : NULL,
			 &r) == 0) {
		mite_http_expect_status(ctx, r, 200);
		mite_http_response_free(ctx, r);
	}
	rc = mite_txn_end(ctx);
	if (rc == 0 && st->think > 0)
		mite_sleep(ctx, st->think);
	return rc;
}
