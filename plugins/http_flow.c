/*
 * http_flow.c - a user's visit, as a journey a new mite user can copy:
 * log in with a user from a CSV datapool row (columns "user", "password"),
 * browse the item list and one item, then add an item with a JSON POST,
 * checking every status, with think times between the steps.
 *
 * Config: base_url (the target, e.g. http://127.0.0.1:8080), think_time
 * (seconds between steps, default 1). Against mite-target, the password of
 * user U is "pw-U" (see conf/users.csv).
 *
 * Build it outside the tree with
 *     cc -shared -fPIC $(pkg-config --cflags --libs mite) http_flow.c -o http_flow.so
 */
#include <mite/http.h>
#include <mite/mite.h>
#include <stdio.h>

MITE_MODULE(NULL, NULL);

MITE_EXPORT int journey(mite_ctx *ctx, const mite_row *row);

/* Writes s as a JSON string (quotes included); returns 0, or -1 when it
 * does not fit. */
static int json_str(char *out, size_t len, const char *s)
{
	size_t o = 0;

	if (len < 3)
		return -1;
	out[o++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		int n = 1;

		if (c == '"' || c == '\\')
			n = snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < 0x20)
			n = snprintf(esc, sizeof(esc), "\\u%04x", c);
		else
			esc[0] = (char)c;
		if (o + (size_t)n + 2 > len)
			return -1;
		for (int i = 0; i < n; i++)
			out[o++] = esc[i];
	}
	out[o++] = '"';
	out[o] = 0;
	return 0;
}

/* Sleeps the think time; non-zero when the run is being cancelled. */
static int think(mite_ctx *ctx)
{
	return mite_sleep(ctx, mite_config_double(ctx, "think_time", 1.0)) == MITE_ECANCELED;
}

int journey(mite_ctx *ctx, const mite_row *row)
{
	const char *user = mite_row_get(row, "user"), *password = mite_row_get(row, "password");
	char u[256], p[256], body[640], path[64];
	mite_http_response *r;

	if (!user || !password)
		return mite_fail(ctx, "the datapool needs columns \"user\" and \"password\"");
	if (json_str(u, sizeof(u), user) < 0 || json_str(p, sizeof(p), password) < 0)
		return mite_fail(ctx, "user or password too long");
	mite_http_set_base_url(ctx, mite_config_str(ctx, "base_url", "http://127.0.0.1:8080"));
	mite_http_set_header(ctx, "Accept", "application/json");

	/* The session cookie the login sets stays in this iteration's jar. */
	mite_txn_begin(ctx, "login");
	snprintf(body, sizeof(body), "{\"user\":%s,\"password\":%s}", u, p);
	if (mite_http_post_json(ctx, "/login", body, &r) != 0 ||
	    mite_http_expect_status(ctx, r, 200))
		return mite_txn_end(ctx);
	mite_txn_end(ctx);
	if (think(ctx))
		return 0;

	mite_txn_begin(ctx, "browse");
	if (mite_http_get(ctx, "/api/items", &r) != 0 || mite_http_expect_status(ctx, r, 200))
		return mite_txn_end(ctx);
	snprintf(path, sizeof(path), "/api/items/%llu",
		 (unsigned long long)(mite_instance_id(ctx) % 10 + 1));
	if (mite_http_get(ctx, path, &r) != 0 || mite_http_expect_status(ctx, r, 200))
		return mite_txn_end(ctx);
	mite_txn_end(ctx);
	if (think(ctx))
		return 0;

	mite_txn_begin(ctx, "add item");
	snprintf(body, sizeof(body), "{\"name\":\"teapot\",\"qty\":1,\"for\":%s}", u);
	mite_http_opts o = { .json = body, .name = "create" };
	if (mite_http_request(ctx, "POST", "/api/items", &o, &r) != 0 ||
	    mite_http_expect_status(ctx, r, 201))
		return mite_txn_end(ctx);
	return mite_txn_end(ctx);
}
