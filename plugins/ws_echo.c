/*
 * ws_echo.c - a WebSocket journey: per iteration, one connection to the
 * config value `ws_url` (transaction "connect"), then `messages` marked
 * request/response pairs against an echo server (transaction "chat": each
 * reply must be the message sent; its round trip is recorded as "echo"),
 * then the close handshake. `think_time` seconds pass between messages
 * when set. A wss:// URL takes the TLS settings of the HTTP calls: `ca_file`
 * (a PEM file of CAs to trust besides the system's) is set with
 * mite_http_set_ca_file; `tls_resumption` = 0 makes every connection a
 * full TLS handshake (by default an instance's reconnections resume).
 *
 *     mite-target --port 8080 --ws-port 8081 &
 *     mitectl scenario test conf/ws-echo.conf --set ws_url=ws://127.0.0.1:8081/echo
 *
 * Build it outside the tree with
 *     cc -shared -fPIC $(pkg-config --cflags --libs mite) ws_echo.c -o ws_echo.so
 */
#include <mite/mite.h>
#include <mite/http.h>
#include <mite/ws.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct settings {
	const char *url;
	const char *ca_file; /* or NULL */
	long long messages;
	double think, timeout;
	int resume;
};

static int init(mite_ctx *ctx, void **fixture)
{
	struct settings *st;

	if (!mite__api->ws)
		return mite_fail(ctx, "this mite has no WebSocket support");
	if (!(st = malloc(sizeof(*st))))
		return mite_fail(ctx, "out of memory");
	st->url = mite_config_str(ctx, "ws_url", "ws://127.0.0.1:8081/echo");
	st->ca_file = mite_config_str(ctx, "ca_file", NULL);
	st->messages = mite_config_int(ctx, "messages", 10);
	st->think = mite_config_double(ctx, "think_time", 0);
	st->timeout = mite_config_double(ctx, "reply_timeout", 5);
	st->resume = mite_config_int(ctx, "tls_resumption", 1) != 0;
	if (st->messages < 0 || st->messages > 1000000) {
		long long n = st->messages;
		free(st);
		return mite_fail(ctx, "config messages = %lld: must be 0 to 1000000", n);
	}
	*fixture = st;
	return 0;
}

MITE_MODULE(init, free);

MITE_EXPORT int journey(mite_ctx *ctx, const mite_row *row);

int journey(mite_ctx *ctx, const mite_row *row)
{
	const struct settings *st = mite_fixture(ctx);
	mite_ws *ws;
	mite_ws_msg *m;
	char text[64];

	(void)row;
	/* (A setting that does not change costs nothing.) */
	if (st->ca_file && *st->ca_file && mite_http_set_ca_file(ctx, st->ca_file) < 0)
		return mite_fail(ctx, "mite_http_set_ca_file(%s) failed", st->ca_file), 1;
	mite_http_set_tls_resumption(ctx, st->resume);
	mite_txn_begin(ctx, "connect");
	if (mite_ws_open(ctx, st->url, &(mite_ws_opts){ .name = "echo", .timeout = 10 }, &ws) < 0)
		return mite_txn_end(ctx), 1; /* the failure is recorded already */
	mite_txn_end(ctx);

	mite_txn_begin(ctx, "chat");
	for (long long i = 0; i < st->messages && !mite_should_stop(ctx); i++) {
		int n = snprintf(text, sizeof(text), "message %lld of instance %llu", i,
				 (unsigned long long)mite_instance_id(ctx));

		if (mite_ws_send(ctx, ws, text, (size_t)n, MITE_WS_TEXT | MITE_WS_MARK) < 0 ||
		    mite_ws_recv(ctx, ws, st->timeout, &m) < 0)
			break; /* recorded; the close below frees the connection */
		if (m->len != (size_t)n || memcmp(m->data, text, (size_t)n) != 0) {
			mite_fail(ctx, "echo %lld: got %zu bytes that are not what was sent", i,
				  m->len);
			break;
		}
		if (st->think > 0 && mite_sleep(ctx, st->think) < 0)
			break;
	}
	mite_txn_end(ctx);

	mite_txn_begin(ctx, "close");
	mite_ws_close(ctx, ws, 1000, NULL);
	return mite_txn_end(ctx);
}
