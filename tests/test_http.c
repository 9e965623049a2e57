/*
 * test_http.c - the HTTP engine (runner/http.c) against mite-target, which
 * each test starts on an ephemeral loopback port. The runner's instance
 * layer is stood in for by tests/http_harness.c. The end-to-end checks that
 * run `mitectl scenario test` are in tests/http-e2e.sh.
 */
#include "http_harness.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <mite/http.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t target_pid;
static int target_port;
static char base[64];

/* ---- the target --------------------------------------------------------- */

static const char *target_path(void)
{
	static char path[4096];
	const char *env = getenv("MITE_TARGET"), *bd = getenv("top_builddir");

	if (env)
		return env;
	if (bd) {
		snprintf(path, sizeof(path), "%s/mite-target", bd);
		if (access(path, X_OK) == 0)
			return path;
	}
	return "./mite-target";
}

static void target_start(void)
{
	int fds[2];
	char line[128] = "";
	FILE *f;

	cr_assert_eq(pipe(fds), 0);
	target_pid = fork();
	cr_assert_geq(target_pid, 0);
	if (target_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a crashed test */
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(target_path(), "mite-target", "--port", "0", "--bind", "127.0.0.1", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	cr_assert_not_null(fgets(line, sizeof(line), f), "mite-target (%s) did not start", target_path());
	fclose(f);
	cr_assert_eq(sscanf(line, "listening on 127.0.0.1:%d", &target_port), 1, "got: %s", line);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", target_port);
}

static void target_stop(void)
{
	int st;

	if (target_pid > 0) {
		kill(target_pid, SIGTERM);
		waitpid(target_pid, &st, 0);
		target_pid = 0;
	}
}

static size_t collect_cb(char *p, size_t s, size_t n, void *u)
{
	char **buf = u;
	size_t old = *buf ? strlen(*buf) : 0;
	char *b = realloc(*buf, old + s * n + 1);

	if (!b)
		return 0;
	memcpy(b + old, p, s * n);
	b[old + s * n] = 0;
	*buf = b;
	return s * n;
}

/* GET path on the target with a throwaway libcurl handle (not the engine),
 * parsed as JSON. Closes its connection, so it does not linger in counts. */
static cJSON *target_get_json(const char *path)
{
	CURL *c = curl_easy_init();
	char url[256], *body = NULL;
	cJSON *j;

	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	cr_assert_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_cleanup(c);
	j = cJSON_Parse(body);
	free(body);
	cr_assert_not_null(j);
	return j;
}

static long jnum(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
	if (b)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	return cJSON_IsNumber(x) ? (long)x->valuedouble : 0;
}

/* The target's open connections, waiting (bounded) for it to settle at
 * `want` (its own /stats connection counts as one). */
static long target_open_conns(long want)
{
	long open = -1;

	for (int i = 0; i < 100; i++) {
		cJSON *s = target_get_json("/stats");
		open = jnum(s, "connections", "open");
		cJSON_Delete(s);
		if (open == want)
			break;
		usleep(20000);
	}
	return open;
}

static void setup(void)
{
	target_start();
	harness_init();
}

static void setup_curl(void)
{
	setup();
	H.http_engine = "curl";
}

static void teardown(void)
{
	uint64_t native, curl;
	int rc;

	/* Every request went the way the suite says (all URLs here are plain
	 * http://, which the native client takes unless told not to). */
	if (H.engine) {
		http_engine_counts(H.engine, &native, &curl);
		if (H.http_engine)
			cr_expect_eq(native, 0, "native requests with http_engine=curl: %lu",
				     (unsigned long)native);
		else
			cr_expect_eq(curl, 0, "libcurl requests with http_engine=auto: %lu",
				     (unsigned long)curl);
	}
	rc = harness_fini();
	target_stop();
	cr_expect_eq(rc, 0, "the loop closed with handles left open");
}

static uint64_t http_count(const char *txn, const char *method, const char *status)
{
	return harness_count("http", (const char *const[]){"j", txn, method, status}, 4, ST_HTTP_COUNT);
}

static uint64_t httperr_count(const char *txn, const char *method, const char *cls)
{
	return harness_count("httperr", (const char *const[]){"j", txn, method, cls}, 4, 0);
}

/* Each test of the engine runs twice: in suite "http" with the default
 * engine (the native HTTP/1.1 client takes these plain http:// requests),
 * and in suite "http_curl" with http_engine = "curl" (libcurl takes all). */
TestSuite(http, .init = setup, .fini = teardown, .timeout = 30);
TestSuite(http_curl, .init = setup_curl, .fini = teardown, .timeout = 30);

#define HTTP_TEST(name)                                                                    \
	static void name##_body(void);                                                     \
	Test(http, name) { name##_body(); }                                                \
	Test(http_curl, name) { name##_body(); }                                           \
	static void name##_body(void)

static int engine_is_curl(void) { return H.http_engine != NULL; }

/* ---- single requests -------------------------------------------------------- */

HTTP_TEST(get_ok)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	char url[128];

	snprintf(url, sizeof(url), "%s/", base);
	harness_txn_begin(ctx, "get");
	cr_assert_eq(mite_http_get(ctx, url, &r), 0);
	cr_assert_eq(r->status, 200);
	cr_assert_str_eq(r->body, "ok\n");
	cr_assert_eq(r->body_len, 3);
	cr_assert_eq(r->bytes_in, 3);
	cr_assert_str_eq(r->method, "GET");
	cr_assert_str_eq(r->url, url);
	cr_assert_str_eq(r->primary_ip, "127.0.0.1");
	cr_assert_eq(r->http_version, 11);
	cr_assert_eq(r->reused, 0);
	cr_assert_eq(r->redirects, 0);
	cr_assert_gt(r->t.total, 0);
	cr_assert_geq(r->t.total, r->t.ttfb);
	cr_assert_gt(r->header_bytes, 0);
	cr_assert_gt(r->bytes_out, 0);
	cr_assert_str_eq(mite_http_header(r, "content-type", 0), "text/plain");
	cr_assert_str_eq(mite_http_header(r, "CONTENT-LENGTH", 0), "3");
	cr_assert_null(mite_http_header(r, "content-type", 1));
	cr_assert_null(mite_http_header(r, "x-none", 0));
	cr_assert_eq(http_count("get", "GET", "200"), 1);

	/* The second request reuses the connection. */
	cr_assert_eq(mite_http_get(ctx, url, &r), 0);
	cr_assert_eq(r->reused, 1);
	cr_assert_eq(r->t.connect, 0);
	cr_assert_eq(http_count("get", "GET", "200"), 2);
	harness_txn_end(ctx);
	cr_assert_eq(H.nfail, 0);
	harness_ctx_free(ctx);
}

HTTP_TEST(methods_bodies_headers)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	cJSON *j;
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE"};

	cr_assert_eq(mite_http_set_base_url(ctx, base), 0);
	cr_assert_eq(mite_http_set_header(ctx, "X-Default", "d"), 0);
	cr_assert_eq(mite_http_set_header(ctx, "X-Gone", "g"), 0);
	cr_assert_eq(mite_http_set_header(ctx, "x-gone", NULL), 0);
	for (size_t i = 0; i < sizeof(methods) / sizeof(*methods); i++) {
		cr_assert_eq(mite_http_request(ctx, methods[i], "/echo", NULL, &r), 0, "%s", methods[i]);
		j = cJSON_Parse(r->body);
		cr_assert_str_eq(cJSON_GetObjectItem(j, "method")->valuestring, methods[i]);
		cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "headers"), "x-default")->valuestring, "d");
		cr_assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "headers"), "x-gone"));
		cJSON_Delete(j);
	}

	/* A body from memory, with a NUL inside. */
	cr_assert_eq(mite_http_put(ctx, "/echo", "a\0b", 3, &r), 0);
	j = cJSON_Parse(r->body);
	cr_assert_eq(cJSON_GetObjectItem(j, "length")->valueint, 3);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "method")->valuestring, "PUT");
	cJSON_Delete(j);

	/* JSON, with per-request headers overriding a default. */
	mite_http_opts o = {
		.json = "{\"a\":1}",
		.headers = (const char *const[]){"X-Default: over", "X-Extra: e", NULL},
		.name = "echo-json",
	};
	cr_assert_eq(mite_http_request(ctx, "POST", "/echo", &o, &r), 0);
	j = cJSON_Parse(r->body);
	cJSON *h = cJSON_GetObjectItem(j, "headers");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "body")->valuestring, "{\"a\":1}");
	cr_assert_str_eq(cJSON_GetObjectItem(h, "content-type")->valuestring, "application/json");
	cr_assert_str_eq(cJSON_GetObjectItem(h, "x-default")->valuestring, "over");
	cr_assert_str_eq(cJSON_GetObjectItem(h, "x-extra")->valuestring, "e");
	cr_assert_str_eq(r->name, "echo-json");
	cJSON_Delete(j);

	/* The next plain request is back to the defaults and to GET. */
	cr_assert_eq(mite_http_get(ctx, "/echo", &r), 0);
	j = cJSON_Parse(r->body);
	h = cJSON_GetObjectItem(j, "headers");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "method")->valuestring, "GET");
	cr_assert_str_eq(cJSON_GetObjectItem(h, "x-default")->valuestring, "d");
	cr_assert_null(cJSON_GetObjectItem(h, "x-extra"));
	cr_assert_null(cJSON_GetObjectItem(h, "content-type"));
	cJSON_Delete(j);

	/* A large body goes without waiting for 100 Continue. */
	char *big = malloc(200000);
	memset(big, 'x', 200000);
	cr_assert_eq(mite_http_post(ctx, "/echo", big, 200000, &r), 0);
	cr_assert_lt(r->t.total, 0.9);
	j = cJSON_Parse(r->body);
	cr_assert_eq(cJSON_GetObjectItem(j, "length")->valueint, 200000);
	cJSON_Delete(j);
	free(big);

	/* HEAD: headers only. */
	cr_assert_eq(mite_http_head(ctx, "/bytes/1000", &r), 0);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(r->body_len, 0);
	cr_assert_str_eq(mite_http_header(r, "Content-Length", 0), "1000");

	/* Basic auth goes out as an Authorization header. */
	cr_assert_eq(mite_http_set_basic_auth(ctx, "u", "p"), 0);
	cr_assert_eq(mite_http_get(ctx, "/echo", &r), 0);
	j = cJSON_Parse(r->body);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "headers"), "authorization")->valuestring,
			 "Basic dTpw");
	cJSON_Delete(j);

	/* Bad input. */
	cr_assert_eq(mite_http_request(ctx, "GE T", "/", NULL, &r), MITE_EINVAL);
	cr_assert_null(r);
	cr_assert_eq(H.nfail, 0);
	harness_ctx_free(ctx);
}

HTTP_TEST(responses_live_until_freed_or_iteration_end)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *a, *b;

	mite_http_set_base_url(ctx, base);
	cr_assert_eq(mite_http_get(ctx, "/bytes/10", &a), 0);
	cr_assert_eq(mite_http_get(ctx, "/json", &b), 0);
	cr_assert_str_eq(a->body, "abcdefghij");
	cr_assert_neq(a, b);
	mite_http_response_free(ctx, a);
	cr_assert_eq(mite_http_get(ctx, "/", &a), 0); /* reuses the freed one */
	cr_assert_str_eq(a->body, "ok\n");
	cr_assert(strstr(b->body, "mite-target"));
	cr_assert_eq(mite_http_get(ctx, "/", NULL), 0); /* released at once */
	http_session_new_iteration(ctx);
	cr_assert_eq(mite_http_get(ctx, "/bytes/5", &a), 0);
	cr_assert_str_eq(a->body, "abcde");
	harness_ctx_free(ctx);
}

HTTP_TEST(discard_body)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;

	mite_http_set_base_url(ctx, base);
	mite_http_opts o = {.flags = MITE_HTTP_DISCARD_BODY};
	cr_assert_eq(mite_http_request(ctx, "GET", "/bytes/300000", &o, &r), 0);
	cr_assert_eq(r->body_len, 0);
	cr_assert_str_eq(r->body, "");
	cr_assert_eq(r->bytes_in, 300000);
	mite_http_set_discard_body(ctx, 1);
	cr_assert_eq(mite_http_get(ctx, "/bytes/1000", &r), 0);
	cr_assert_eq(r->body_len, 0);
	cr_assert_eq(r->bytes_in, 1000);
	o.flags = MITE_HTTP_KEEP_BODY;
	cr_assert_eq(mite_http_request(ctx, "GET", "/bytes/1000", &o, &r), 0);
	cr_assert_eq(r->body_len, 1000);
	harness_ctx_free(ctx);
}

HTTP_TEST(helpers)
{
	char buf[256];
	long n;

	n = mite_http_build_url(buf, sizeof(buf), "http://h/s",
				(const char *const[]){"q", "a b&c=d/é", "n", "1", NULL});
	cr_assert_str_eq(buf, "http://h/s?q=a%20b%26c%3Dd%2F%C3%A9&n=1");
	cr_assert_eq(n, (long)strlen(buf));
	mite_http_build_url(buf, sizeof(buf), "http://h/s?x=1", (const char *const[]){"y", "2", NULL});
	cr_assert_str_eq(buf, "http://h/s?x=1&y=2");
	n = mite_http_build_url(buf, 8, "http://h/s", (const char *const[]){"y", "2", NULL});
	cr_assert_eq(n, 14);
	cr_assert_str_eq(buf, "http://");
	n = mite_http_escape(buf, sizeof(buf), "~a-b_c.d e");
	cr_assert_str_eq(buf, "~a-b_c.d%20e");
}

/* ---- statuses and checks ----------------------------------------------------- */

HTTP_TEST(expect_status_fails_with_method_url_status)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	char want[256];

	mite_http_set_base_url(ctx, base);
	harness_txn_begin(ctx, "check");
	cr_assert_eq(mite_http_get(ctx, "/status/503", &r), 0, "a status is not an error");
	cr_assert_eq(H.nfail, 0);
	cr_assert_eq(r->status, 503);
	cr_assert_eq(mite_http_expect_status_range(ctx, r, 500, 599), 0);
	int line = __LINE__ + 1;
	cr_assert_eq(mite_http_expect_status(ctx, r, 200), MITE_EFAIL);
	snprintf(want, sizeof(want), "GET %s/status/503 returned 503 (expected 200)", base);
	cr_assert_str_eq(H.fail_msg, want);
	snprintf(want, sizeof(want), "%s:%d:", __FILE__, line);
	cr_assert(strncmp(H.fail_where, want, strlen(want)) == 0, "%s", H.fail_where);
	cr_assert_eq(mite_http_expect_status_range(ctx, r, 200, 299), MITE_EFAIL);
	snprintf(want, sizeof(want), "GET %s/status/503 returned 503 (expected 200-299)", base);
	cr_assert_str_eq(H.fail_msg, want);
	cr_assert_eq(mite_http_expect_status(ctx, NULL, 200), MITE_EFAIL);
	cr_assert_eq(H.nfail, 2, "a NULL response is not recorded twice");
	cr_assert(ctx->txn[0].failed);
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
}

struct load {
	int n;
	const char *const *paths;
	size_t npaths;
};

static int load_journey(mite_ctx *ctx, void *arg)
{
	struct load *l = arg;

	mite_http_set_base_url(ctx, base);
	for (int i = 0; i < l->n; i++) {
		harness_txn_begin(ctx, "load");
		if (mite_http_get(ctx, l->paths[(i + ctx->id) % l->npaths], NULL) != 0)
			return -1;
		harness_txn_end(ctx);
	}
	return 0;
}

HTTP_TEST(counts_match_the_target_and_keep_alive_holds)
{
	enum { NINST = 8, PER = 150 };
	static const char *const paths[] = {"/status/200", "/status/404", "/status/503", "/",
					    "/status/201"};
	struct load l = {.n = PER, .paths = paths, .npaths = 5};
	mite_ctx *c[NINST];
	cJSON *s;

	for (int i = 0; i < NINST; i++)
		c[i] = harness_ctx(load_journey, &l);
	cr_assert_eq(harness_run(20), 0);
	for (int i = 0; i < NINST; i++)
		cr_assert_eq(harness_rc(c[i]), 0);
	s = target_get_json("/stats");
	static const char *const st[] = {"200", "201", "404", "503"};
	uint64_t total = 0;
	for (size_t i = 0; i < 4; i++) {
		uint64_t mine = http_count("load", "GET", st[i]);
		cr_expect_eq((long)mine, jnum(s, "status", st[i]), "status %s: mite %lu, target %ld", st[i],
			     (unsigned long)mine, jnum(s, "status", st[i]));
		total += mine;
	}
	cr_expect_eq(total, NINST * PER);
	cr_expect_eq(jnum(s, "received", NULL), NINST * PER);
	/* Keep-alive: one connection per concurrent instance at most (plus
	 * the /stats one). */
	cr_expect_leq(jnum(s, "connections", "total"), NINST + 1, "connections: %ld",
		      jnum(s, "connections", "total"));
	cJSON_Delete(s);
	for (int i = 0; i < NINST; i++)
		harness_ctx_free(c[i]);
}

/* ---- cookies ----------------------------------------------------------------- */

HTTP_TEST(cookies_round_trip_and_reset_per_iteration)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL), *other = harness_ctx(NULL, NULL);
	mite_http_response *r;
	cJSON *j;

	mite_http_set_base_url(ctx, base);
	mite_http_set_base_url(other, base);
	cr_assert_eq(mite_http_get(ctx, "/set-cookie?a=1&b=two", &r), 0);
	cr_assert_str_eq(mite_http_header(r, "set-cookie", 0), "a=1; Path=/");
	cr_assert_str_eq(mite_http_header(r, "Set-Cookie", 1), "b=two; Path=/");
	cr_assert_null(mite_http_header(r, "set-cookie", 2));
	cr_assert_eq(mite_http_get(ctx, "/cookies", &r), 0);
	j = cJSON_Parse(r->body);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "a")->valuestring, "1");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "b")->valuestring, "two");
	cJSON_Delete(j);

	/* Another instance has its own jar. */
	cr_assert_eq(mite_http_get(other, "/cookies", &r), 0);
	cr_assert_str_eq(r->body, "{}");

	/* A new iteration is a new visitor. */
	http_session_new_iteration(ctx);
	cr_assert_eq(mite_http_get(ctx, "/cookies", &r), 0);
	cr_assert_str_eq(r->body, "{}");

	/* The login flow of the demo. */
	cr_assert_eq(mite_http_get(ctx, "/api/items", &r), 0);
	cr_assert_eq(r->status, 401);
	cr_assert_eq(mite_http_post_json(ctx, "/login", "{\"user\":\"ann\",\"password\":\"bad\"}", &r), 0);
	cr_assert_eq(r->status, 401);
	cr_assert_eq(mite_http_post_json(ctx, "/login", "{\"user\":\"ann\",\"password\":\"pw-ann\"}", &r), 0);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(mite_http_get(ctx, "/api/items", &r), 0);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(mite_http_post_json(ctx, "/api/items", "{\"name\":\"x\"}", &r), 0);
	cr_assert_eq(r->status, 201);
	harness_ctx_free(ctx);
	harness_ctx_free(other);
}

/* ---- redirects ----------------------------------------------------------------- */

HTTP_TEST(redirects_followed_and_counted_per_hop)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	cJSON *s;
	char want[128];

	H.http_events = 1;
	mite_http_set_base_url(ctx, base);
	harness_txn_begin(ctx, "redir");
	cr_assert_eq(mite_http_get(ctx, "/redirect/3", &r), 0);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(r->redirects, 3);
	snprintf(want, sizeof(want), "%s/redirect/0", base);
	cr_assert_str_eq(r->url, want);
	cr_assert_eq(http_count("redir", "GET", "302"), 3);
	cr_assert_eq(http_count("redir", "GET", "200"), 1);
	s = target_get_json("/stats");
	cr_assert_eq(jnum(s, "status", "302"), 3);
	cr_assert_eq(jnum(s, "status", "200"), 1);
	cJSON_Delete(s);

	/* One http_metrics event per hop. */
	cr_assert_eq(cJSON_GetArraySize(H.events), 4);
	for (int i = 0; i < 4; i++) {
		cJSON *ev = cJSON_GetArrayItem(H.events, i);
		cr_assert_str_eq(cJSON_GetObjectItem(ev, "type")->valuestring, "http_metrics");
		cr_assert_str_eq(cJSON_GetObjectItem(ev, "transaction")->valuestring, "redir");
		cr_assert_str_eq(cJSON_GetObjectItem(ev, "method")->valuestring, "GET");
		cr_assert_eq(cJSON_GetObjectItem(ev, "response_code")->valueint, i < 3 ? 302 : 200);
		cr_assert_eq(cJSON_GetObjectItem(ev, "redirect")->valueint, i);
		cr_assert_str_eq(cJSON_GetObjectItem(ev, "primary_ip")->valuestring, "127.0.0.1");
		cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(ev, "total_time")));
		cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(ev, "start_time")));
	}

	/* Not followed when asked. */
	mite_http_opts o = {.flags = MITE_HTTP_NO_REDIRECTS};
	cr_assert_eq(mite_http_request(ctx, "GET", "/redirect/2", &o, &r), 0);
	cr_assert_eq(r->status, 302);
	cr_assert_str_eq(mite_http_header(r, "location", 0), "/redirect/1");

	/* Too many: a transport error of class "redirects". */
	mite_http_set_redirects(ctx, 1, 2);
	cr_assert_eq(mite_http_get(ctx, "/redirect/3", &r), MITE_EIO);
	cr_assert_null(r);
	cr_assert_eq(httperr_count("redir", "GET", "redirects"), 1);
	cr_assert(strstr(H.fail_msg, "(redirects)"), "%s", H.fail_msg);
	cr_assert_eq(mite_http_get(ctx, "/redirect/2", &r), 0);
	cr_assert_eq(r->redirects, 2);
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
}

/* ---- transport errors ----------------------------------------------------------- */

HTTP_TEST(timeout_fires_within_its_bound)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	mite_http_opts o = {.timeout = 0.3};
	uint64_t t0;
	double took;

	mite_http_set_base_url(ctx, base);
	harness_txn_begin(ctx, "slow");
	t0 = uv_hrtime();
	cr_assert_eq(mite_http_request(ctx, "GET", "/delay/3000", &o, &r), MITE_ETIMEDOUT);
	took = (uv_hrtime() - t0) / 1e9;
	cr_assert_null(r);
	cr_assert_geq(took, 0.29);
	cr_assert_lt(took, 0.6, "took %.3f s", took);
	cr_assert_eq(httperr_count("slow", "GET", "timeout"), 1);
	cr_assert(strstr(H.fail_msg, "(timeout)") && strstr(H.fail_msg, "/delay/3000"), "%s", H.fail_msg);

	/* The session timeout too. */
	mite_http_set_timeouts(ctx, 0, 0.2);
	t0 = uv_hrtime();
	cr_assert_eq(mite_http_get(ctx, "/delay/3000", &r), MITE_ETIMEDOUT);
	took = (uv_hrtime() - t0) / 1e9;
	cr_assert_lt(took, 0.5, "took %.3f s", took);
	cr_assert_eq(httperr_count("slow", "GET", "timeout"), 2);
	/* And a fast request still works on the same session. */
	cr_assert_eq(mite_http_get(ctx, "/delay/10", &r), 0);
	cr_assert_eq(r->status, 200);
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
}

static int closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd); /* bound, never listened: connecting is refused */
	return ntohs(a.sin_port);
}

HTTP_TEST(refused_and_reset_are_classified)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", closed_port());
	harness_txn_begin(ctx, "bad");
	cr_assert_eq(mite_http_get(ctx, url, &r), MITE_EIO);
	cr_assert_null(r);
	cr_assert_eq(httperr_count("bad", "GET", "refused"), 1);
	cr_assert(strstr(H.fail_msg, "(refused)") && strstr(H.fail_msg, url), "%s", H.fail_msg);
	cr_assert(ctx->txn[0].failed);

	snprintf(url, sizeof(url), "%s/reset-connection", base);
	cr_assert_eq(mite_http_get(ctx, url, &r), MITE_EIO);
	cr_assert_eq(httperr_count("bad", "GET", "reset"), 1);
	cr_assert(strstr(H.fail_msg, "(reset)") && strstr(H.fail_msg, url), "%s", H.fail_msg);

	/* (No DNS failure here: it would ask a resolver off this host.) */

	/* Nothing about errors went into the response counts. */
	cr_assert_eq(harness_count("http", (const char *const[]){"j", "bad", "GET", "0"}, 4, 0), 0);
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
}

static int cancel_journey(mite_ctx *ctx, void *arg)
{
	int *rc = arg;
	mite_http_set_base_url(ctx, base);
	*rc = mite_http_get(ctx, "/delay/5000", NULL);
	return 0;
}

HTTP_TEST(cancel_ends_a_parked_request)
{
	int rc = 1;
	mite_ctx *ctx = harness_ctx(cancel_journey, &rc);
	uint64_t t0 = uv_hrtime();

	harness_cancel_after(ctx, 100);
	cr_assert_eq(harness_run(3), 0);
	cr_assert_eq(rc, MITE_ECANCELED);
	cr_assert_lt((uv_hrtime() - t0) / 1e9, 1.0);
	cr_assert_eq(H.nfail, 0, "a cancel is not a failure");
	harness_ctx_free(ctx);
}

/* ---- no leaks ----------------------------------------------------------------- */

HTTP_TEST(no_connection_left_after_close)
{
	enum { NINST = 5 };
	static const char *const paths[] = {"/", "/json"};
	struct load l = {.n = 20, .paths = paths, .npaths = 2};
	mite_ctx *c[NINST];

	for (int i = 0; i < NINST; i++)
		c[i] = harness_ctx(load_journey, &l);
	cr_assert_eq(harness_run(10), 0);
	cJSON *st = target_get_json("/stats");
	cr_assert_geq(jnum(st, "connections", "open"), 2, "kept alive while the engine lives");
	cJSON_Delete(st);
	for (int i = 0; i < NINST; i++)
		harness_ctx_free(c[i]);
	/* Closing the engine closes every connection. */
	http_engine_close(H.engine, NULL, NULL);
	H.engine = NULL;
	for (int i = 0; i < 100; i++)
		uv_run(&H.loop, UV_RUN_NOWAIT);
	cr_assert_eq(target_open_conns(1), 1, "only the /stats query's own connection is open");
}
