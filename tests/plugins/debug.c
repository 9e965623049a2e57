/*
 * debug.c - journeys for mitectl's --debug, --trace-http and --gdb
 * (tests/e2e/debug.sh), against mite-target at the config value base_url.
 * Lines marked "debug.sh:" are looked up by the test: keep the markers.
 */
#include <mite/http.h>
#include <mite/mite.h>

#include <stdio.h>

MITE_MODULE(NULL, NULL);

MITE_EXPORT int fail_on(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int big(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int traced(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int plain_return(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int batch(mite_ctx *ctx, const mite_row *row);

static void base(mite_ctx *ctx)
{
	mite_http_set_base_url(ctx, mite_config_str(ctx, "base_url", "http://127.0.0.1:1"));
}

/* A POST (its body shown by --debug), then a GET that answers 500 when
 * the row's first value is `bad` (a config value, default 3) - or, with
 * fail_odd set, any odd value - and 200 otherwise. */
int fail_on(mite_ctx *ctx, const mite_row *row)
{
	mite_http_response *r;
	long long n = mite_row_int(row, 0, 0);
	int odd = (int)mite_config_int(ctx, "fail_odd", 0);
	int bad = odd ? n % 2 == 1 : n == mite_config_int(ctx, "bad", 3);
	char hdr[64];

	base(ctx);
	snprintf(hdr, sizeof hdr, "X-Row: %lld", n);
	mite_txn_begin(ctx, "step");
	mite_http_request(ctx, "POST", "/echo",
			  &(mite_http_opts){ .body = "hello \033[31m debug",
					     .body_len = 18,
					     .headers = (const char *const[]){ hdr, NULL } },
			  &r);
	if (mite_http_get(ctx, bad ? "/status/500" : "/status/200", &r) == 0)
		mite_http_expect_status(ctx, r, 200); /* debug.sh: expect */
	return mite_txn_end(ctx);
}

/* A 5000-byte response, then a failure: --debug shows 1 KiB of it. */
int big(mite_ctx *ctx, const mite_row *row)
{
	mite_http_response *r;

	(void)row;
	base(ctx);
	mite_txn_begin(ctx, "big");
	if (mite_http_get(ctx, "/bytes/5000", &r) == 0)
		mite_fail(ctx, "got %zu bytes", r->body_len); /* debug.sh: big */
	return mite_txn_end(ctx);
}

/* Three requests per iteration, each naming its instance in its path,
 * then a pause of the config value `sleep` (default 0.1 s). */
int traced(mite_ctx *ctx, const mite_row *row)
{
	char path[96];

	(void)row;
	base(ctx);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "/status/200?instance=%llu&req=%d",
			 (unsigned long long)mite_instance_id(ctx), i);
		if (mite_http_get(ctx, path, NULL) != 0)
			return 1;
	}
	return mite_sleep(ctx, mite_config_double(ctx, "sleep", 0.1));
}

/* Fails by returning non-zero, without mite_fail: no file:line of its own. */
int plain_return(mite_ctx *ctx, const mite_row *row)
{
	(void)row;
	base(ctx);
	mite_http_get(ctx, "/status/404", NULL);
	return 1;
}

/* A batch of three GETs naming their place, the second answering 500 on
 * the row's value 2; each checked in turn: --debug shows the failing one's
 * exchange (not the last one made), --trace-http each of them. */
int batch(mite_ctx *ctx, const mite_row *row)
{
	long long n = mite_row_int(row, 0, 0);
	char p[3][64];
	mite_http_req q[3];

	base(ctx);
	for (int i = 0; i < 3; i++) {
		snprintf(p[i], sizeof p[i], "/status/%d?batch=%lld.%d", i == 1 && n == 2 ? 500 : 200,
			 n, i);
		q[i] = (mite_http_req){ .url = p[i] };
	}
	mite_txn_begin(ctx, "batch");
	mite_http_batch(ctx, q, 3);
	for (int i = 0; i < 3; i++)
		if (q[i].resp)
			mite_http_expect_status(ctx, q[i].resp, 200); /* debug.sh: batch */
	mite_http_batch_free(ctx, q, 3);
	return mite_txn_end(ctx);
}
