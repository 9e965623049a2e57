/*
 * test_http.c - the HTTP engine (runner/http.c) against mite-target, which
 * each test starts on an ephemeral loopback port, through both of its
 * clients (native and libcurl); then the pure pieces alone: the HTTP/1.1
 * response parser and URL helpers (runner/http1.c) and the cookie jar
 * (runner/cookie.c). The runner's instance layer is stood in for by
 * tests/http_harness.c. The end-to-end checks that run `mitectl scenario
 * test` are in tests/e2e/http.sh.
 */
#define _GNU_SOURCE /* memmem, strcasestr (the upload server) */
#include "http_harness.h"
#include "runner/cookie.h"
#include "runner/http1.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <mite/http.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif

/* LeakSanitizer: Criterion's runner itself keeps 48 bytes to the end when
 * a program has this many suites (not mite's: allocated in
 * libcriterion.so). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libcriterion.so\n";
}

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
		snprintf(path, sizeof(path), "%s/tools/mite-target", bd);
		if (access(path, X_OK) == 0)
			return path;
	}
	return "./tools/mite-target";
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
		execl(target_path(), "mite-target", "--port", "0", "--bind", "127.0.0.1",
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	cr_assert_not_null(fgets(line, sizeof(line), f), "mite-target (%s) did not start",
			   target_path());
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
	return harness_count("http", (const char *const[]){ "j", txn, method, status }, 4,
			     ST_HTTP_COUNT);
}

static uint64_t httperr_count(const char *txn, const char *method, const char *cls)
{
	return harness_count("httperr", (const char *const[]){ "j", txn, method, cls }, 4, 0);
}

/* Each test of the engine runs twice: in suite "http" with the default
 * engine (the native HTTP/1.1 client takes these plain http:// requests),
 * and in suite "http_curl" with http_engine = "curl" (libcurl takes all). */
TestSuite(http, .init = setup, .fini = teardown, .timeout = 30);
TestSuite(http_curl, .init = setup_curl, .fini = teardown, .timeout = 30);

#define HTTP_TEST(name)                \
	static void name##_body(void); \
	Test(http, name)               \
	{                              \
		name##_body();         \
	}                              \
	Test(http_curl, name)          \
	{                              \
		name##_body();         \
	}                              \
	static void name##_body(void)

static int engine_is_curl(void)
{
	return H.http_engine != NULL;
}

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
	static const char *const methods[] = { "GET",    "POST",    "PUT",  "PATCH",
					       "DELETE", "OPTIONS", "PURGE" };

	cr_assert_eq(mite_http_set_base_url(ctx, base), 0);
	cr_assert_eq(mite_http_set_header(ctx, "X-Default", "d"), 0);
	cr_assert_eq(mite_http_set_header(ctx, "X-Gone", "g"), 0);
	cr_assert_eq(mite_http_set_header(ctx, "x-gone", NULL), 0);
	for (size_t i = 0; i < sizeof(methods) / sizeof(*methods); i++) {
		cr_assert_eq(mite_http_request(ctx, methods[i], "/echo", NULL, &r), 0, "%s",
			     methods[i]);
		j = cJSON_Parse(r->body);
		cr_assert_str_eq(cJSON_GetObjectItem(j, "method")->valuestring, methods[i]);
		cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "headers"), "x-default")
					 ->valuestring,
				 "d");
		cr_assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "headers"), "x-gone"));
		cJSON_Delete(j);
	}

	/* A body from memory, with a NUL inside. */
	cr_assert_eq(mite_http_put(ctx, "/echo", "a\0b", 3, &r), 0);
	j = cJSON_Parse(r->body);
	cr_assert_eq(cJSON_GetObjectItem(j, "length")->valueint, 3);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "method")->valuestring, "PUT");
	cJSON_Delete(j);

	/* Options written in place as a compound literal (the commas inside
	 * it once broke the macro); a raw body without a Content-Type of the
	 * journey's goes out as application/x-www-form-urlencoded on both
	 * engines (libcurl's default, documented in mite-http(3)). */
	cr_assert_eq(
		mite_http_request(ctx, "PUT", "/echo",
				  &(mite_http_opts){
					  .headers = (const char *const[]){ "X-In-Place: 1", NULL },
					  .body = "xyz",
					  .body_len = 3 },
				  &r),
		0);
	j = cJSON_Parse(r->body);
	cr_assert_eq(cJSON_GetObjectItem(j, "length")->valueint, 3);
	cr_assert_str_eq(
		cJSON_GetObjectItem(cJSON_GetObjectItem(j, "headers"), "x-in-place")->valuestring,
		"1");
	cr_assert_str_eq(
		cJSON_GetObjectItem(cJSON_GetObjectItem(j, "headers"), "content-type")->valuestring,
		"application/x-www-form-urlencoded");
	cJSON_Delete(j);

	/* JSON, with per-request headers overriding a default. */
	mite_http_opts o = {
		.json = "{\"a\":1}",
		.headers = (const char *const[]){ "X-Default: over", "X-Extra: e", NULL },
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
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "headers"), "authorization")
				 ->valuestring,
			 "Basic dTpw");
	cJSON_Delete(j);
	/* Each padding: "user:pw" (7 bytes, "=="), "ab:cd" (5, "="), "user:pass" (9, none). */
	{
		static const char *const cases[][3] = { { "user", "pw", "Basic dXNlcjpwdw==" },
							{ "user", "pass", "Basic dXNlcjpwYXNz" },
							{ "ab", "cd", "Basic YWI6Y2Q=" } };

		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			cr_assert_eq(mite_http_set_basic_auth(ctx, cases[k][0], cases[k][1]), 0);
			cr_assert_eq(mite_http_get(ctx, "/echo", &r), 0);
			j = cJSON_Parse(r->body);
			cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "headers"),
							     "authorization")
						 ->valuestring,
					 cases[k][2]);
			cJSON_Delete(j);
		}
		cr_assert_eq(mite_http_set_basic_auth(ctx, "u", "p"), 0); /* as before */
	}

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
	http_sdk_new_iteration(ctx);
	cr_assert_eq(mite_http_get(ctx, "/bytes/5", &a), 0);
	cr_assert_str_eq(a->body, "abcde");
	harness_ctx_free(ctx);
}

HTTP_TEST(discard_body)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;

	mite_http_set_base_url(ctx, base);
	mite_http_opts o = { .flags = MITE_HTTP_DISCARD_BODY };
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
				(const char *const[]){ "q", "a b&c=d/é", "n", "1", NULL });
	cr_assert_str_eq(buf, "http://h/s?q=a%20b%26c%3Dd%2F%C3%A9&n=1");
	cr_assert_eq(n, (long)strlen(buf));
	mite_http_build_url(buf, sizeof(buf), "http://h/s?x=1",
			    (const char *const[]){ "y", "2", NULL });
	cr_assert_str_eq(buf, "http://h/s?x=1&y=2");
	n = mite_http_build_url(buf, 8, "http://h/s", (const char *const[]){ "y", "2", NULL });
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
	snprintf(want, sizeof(want),
		 "%s:%d:", strrchr(__FILE__, '/') ? strrchr(__FILE__, '/') + 1 : __FILE__, line);
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
	static const char *const paths[] = { "/status/200", "/status/404", "/status/503", "/",
					     "/status/201" };
	struct load l = { .n = PER, .paths = paths, .npaths = 5 };
	mite_ctx *c[NINST];
	cJSON *s;

	for (int i = 0; i < NINST; i++)
		c[i] = harness_ctx(load_journey, &l);
	cr_assert_eq(harness_run(20), 0);
	for (int i = 0; i < NINST; i++)
		cr_assert_eq(harness_rc(c[i]), 0);
	s = target_get_json("/stats");
	static const char *const st[] = { "200", "201", "404", "503" };
	uint64_t total = 0;
	for (size_t i = 0; i < 4; i++) {
		uint64_t mine = http_count("load", "GET", st[i]);
		cr_expect_eq((long)mine, jnum(s, "status", st[i]),
			     "status %s: mite %lu, target %ld", st[i], (unsigned long)mine,
			     jnum(s, "status", st[i]));
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
	http_sdk_new_iteration(ctx);
	cr_assert_eq(mite_http_get(ctx, "/cookies", &r), 0);
	cr_assert_str_eq(r->body, "{}");

	/* The login flow of the demo. */
	cr_assert_eq(mite_http_get(ctx, "/api/items", &r), 0);
	cr_assert_eq(r->status, 401);
	cr_assert_eq(
		mite_http_post_json(ctx, "/login", "{\"user\":\"ann\",\"password\":\"bad\"}", &r),
		0);
	cr_assert_eq(r->status, 401);
	cr_assert_eq(mite_http_post_json(ctx, "/login",
					 "{\"user\":\"ann\",\"password\":\"pw-ann\"}", &r),
		     0);
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
	mite_http_opts o = { .flags = MITE_HTTP_NO_REDIRECTS };
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
	mite_http_opts o = { .timeout = 0.3 };
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
	cr_assert(strstr(H.fail_msg, "(timeout)") && strstr(H.fail_msg, "/delay/3000"), "%s",
		  H.fail_msg);

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
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
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
	cr_assert_eq(harness_count("http", (const char *const[]){ "j", "bad", "GET", "0" }, 4, 0),
		     0);
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

/* ---- batches ------------------------------------------------------------------- */

/* Every request of a batch gets its own response, in its own element;
 * over HTTP/1.1 at most http_batch_connections are in flight at once,
 * each on a connection of its own (the target counts them). */
HTTP_TEST(batch_returns_every_result)
{
	enum { N = 10 };
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_req q[N];
	char paths[N][32];
	cJSON *st;
	long total0;

	mite_http_set_base_url(ctx, base);
	st = target_get_json("/stats");
	total0 = jnum(st, "connections", "total");
	cJSON_Delete(st);
	for (int i = 0; i < N; i++) {
		snprintf(paths[i], sizeof(paths[i]), "/bytes/%d", 100 + i);
		q[i] = (mite_http_req){ .url = paths[i], .resp = (void *)1, .rc = 99 };
	}
	q[3].method = "HEAD";
	q[5].url = "/redirect/2"; /* followed hop by hop, as a single request's */
	harness_txn_begin(ctx, "batch");
	cr_assert_eq(mite_http_batch(ctx, q, N), 0, "%s", H.fail_msg);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(q[i].rc, 0, "request %d", i);
		cr_assert_not_null(q[i].resp);
		cr_assert_eq(q[i].resp->status, 200);
		cr_assert_str_eq(q[i].resp->method, i == 3 ? "HEAD" : "GET");
		if (i != 5)
			cr_assert_eq(q[i].resp->body_len, i == 3 ? 0 : (size_t)(100 + i),
				     "request %d", i);
	}
	cr_assert_eq(q[5].resp->redirects, 2);
	cr_assert_eq(http_count("batch", "GET", "302"), 2);
	cr_assert_eq(http_count("batch", "GET", "200"), N - 1);
	cr_assert_eq(http_count("batch", "HEAD", "200"), 1);
	mite_http_batch_free(ctx, q, N);
	cr_assert_null(q[0].resp);

	/* Slow requests too: both batches took six connections (the
	 * default), kept alive from one to the next. */
	for (int i = 0; i < N; i++)
		q[i] = (mite_http_req){ .url = "/delay/200" };
	cr_assert_eq(mite_http_batch(ctx, q, N), 0, "%s", H.fail_msg);
	st = target_get_json("/stats");
	/* (less the second /stats query's own connection) */
	cr_assert_eq(jnum(st, "connections", "total") - total0 - 1, 6, "connections: %ld",
		     jnum(st, "connections", "total") - total0 - 1);
	cJSON_Delete(st);
	harness_txn_end(ctx);
	cr_assert_eq(H.nfail, 0, "%s", H.fail_msg);
	harness_ctx_free(ctx);
}

HTTP_TEST(batch_connections_config)
{
	enum { N = 8 };
	mite_ctx *ctx;
	mite_http_req q[N];
	cJSON *st;
	long total0;

	H.http_batch_connections = "2";
	ctx = harness_ctx(NULL, NULL);
	mite_http_set_base_url(ctx, base);
	st = target_get_json("/stats");
	total0 = jnum(st, "connections", "total");
	cJSON_Delete(st);
	for (int i = 0; i < N; i++)
		q[i] = (mite_http_req){ .url = "/delay/50" };
	cr_assert_eq(mite_http_batch(ctx, q, N), 0, "%s", H.fail_msg);
	for (int i = 0; i < N; i++)
		cr_assert_eq(q[i].resp->status, 200);
	st = target_get_json("/stats");
	cr_assert_eq(jnum(st, "connections", "total") - total0 - 1, 2);
	cJSON_Delete(st);
	harness_ctx_free(ctx);
}

/* One request that fails among several: its own rc and no response, the
 * others theirs; the call returns the failure's code, the transaction
 * fails once with the refused URL named. A bad URL of one request fails
 * only it. */
HTTP_TEST(batch_one_failure_among_several)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_req q[5];
	char bad[128], good[128];

	snprintf(bad, sizeof(bad), "http://127.0.0.1:%d/", closed_port());
	snprintf(good, sizeof(good), "%s/", base);
	for (int i = 0; i < 5; i++)
		q[i] = (mite_http_req){ .url = good };
	q[2].url = bad;
	harness_txn_begin(ctx, "mixed");
	cr_assert_eq(mite_http_batch(ctx, q, 5), MITE_EIO);
	for (int i = 0; i < 5; i++) {
		if (i == 2)
			continue;
		cr_assert_eq(q[i].rc, 0, "request %d", i);
		cr_assert_str_eq(q[i].resp->body, "ok\n");
	}
	cr_assert_eq(q[2].rc, MITE_EIO);
	cr_assert_null(q[2].resp);
	cr_assert_eq(H.nfail, 1);
	cr_assert(strstr(H.fail_msg, "(refused)") && strstr(H.fail_msg, bad), "%s", H.fail_msg);
	cr_assert(strstr(H.fail_where, "test_http.c:"), "%s", H.fail_where);
	cr_assert_eq(httperr_count("mixed", "GET", "refused"), 1);
	cr_assert_eq(http_count("mixed", "GET", "200"), 4);
	cr_assert(ctx->txn[0].failed);

	/* A relative URL without a base URL: that request only. */
	q[2].url = "/no-base";
	q[4].method = "BAD METHOD";
	cr_assert_eq(mite_http_batch(ctx, q, 5), MITE_EINVAL);
	cr_assert_eq(q[2].rc, MITE_EINVAL);
	cr_assert_eq(q[4].rc, MITE_EINVAL);
	cr_assert_eq(q[0].rc, 0);
	cr_assert_eq(q[3].rc, 0);
	cr_assert_eq(http_count("mixed", "GET", "200"), 7);
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
}

/* More than MITE_HTTP_BATCH_MAX requests: refused whole, with a message
 * naming the count and the limit; nothing sent. No requests, no array:
 * refused without a failure. */
HTTP_TEST(batch_over_the_limit_is_refused)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	static mite_http_req q[MITE_HTTP_BATCH_MAX + 1];

	mite_http_set_base_url(ctx, base);
	for (int i = 0; i <= MITE_HTTP_BATCH_MAX; i++)
		q[i] = (mite_http_req){ .url = "/" };
	harness_txn_begin(ctx, "big");
	cr_assert_eq(mite_http_batch(ctx, q, MITE_HTTP_BATCH_MAX + 1), MITE_EINVAL);
	cr_assert_eq(H.nfail, 1);
	cr_assert(strstr(H.fail_msg, "mite_http_batch: n = 101") &&
			  strstr(H.fail_msg, "limit of 100"),
		  "%s", H.fail_msg);
	for (int i = 0; i <= MITE_HTTP_BATCH_MAX; i++)
		cr_assert_eq(q[i].rc, MITE_EINVAL);
	cr_assert_eq(http_count("big", "GET", "200"), 0);
	cr_assert_eq(mite_http_batch(ctx, q, 0), MITE_EINVAL);
	cr_assert_eq(mite_http_batch(ctx, NULL, 3), MITE_EINVAL);
	cr_assert_eq(H.nfail, 1);
	/* The limit itself is fine. */
	cr_assert_eq(mite_http_batch(ctx, q, MITE_HTTP_BATCH_MAX), 0, "%s", H.fail_msg);
	cr_assert_eq(http_count("big", "GET", "200"), MITE_HTTP_BATCH_MAX);
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
}

struct batch_cancel_job {
	mite_http_req q[8];
	int rc;
};

static int batch_cancel_journey(mite_ctx *ctx, void *arg)
{
	struct batch_cancel_job *j = arg;

	mite_http_set_base_url(ctx, base);
	for (int i = 0; i < 8; i++)
		j->q[i] = (mite_http_req){ .url = i == 0 ? "/" : "/delay/5000" };
	j->rc = mite_http_batch(ctx, j->q, 8);
	return 0;
}

/* The run's end cancels a parked batch: every request not ended gets
 * MITE_ECANCELED at once (those still waiting for a connection too), one
 * that ended keeps its response; no failure is recorded. */
HTTP_TEST(batch_cancelled_at_run_end)
{
	struct batch_cancel_job j = { .rc = 1 };
	mite_ctx *ctx = harness_ctx(batch_cancel_journey, &j);
	uint64_t t0 = uv_hrtime();

	harness_cancel_after(ctx, 300);
	cr_assert_eq(harness_run(3), 0);
	cr_assert_eq(j.rc, MITE_ECANCELED);
	cr_assert_lt((uv_hrtime() - t0) / 1e9, 1.5);
	cr_assert_eq(j.q[0].rc, 0);
	cr_assert_eq(j.q[0].resp->status, 200);
	for (int i = 1; i < 8; i++) {
		cr_assert_eq(j.q[i].rc, MITE_ECANCELED, "request %d: %d", i, j.q[i].rc);
		cr_assert_null(j.q[i].resp);
	}
	cr_assert_eq(H.nfail, 0, "a cancel is not a failure: %s", H.fail_msg);
	harness_ctx_free(ctx);
	/* Nothing is left in flight: the engine closes cleanly (teardown). */
}

/* ---- no leaks ----------------------------------------------------------------- */

HTTP_TEST(no_connection_left_after_close)
{
	enum { NINST = 5 };
	static const char *const paths[] = { "/", "/json" };
	struct load l = { .n = 20, .paths = paths, .npaths = 2 };
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

/* ---- HTTP/1.1 framing --------------------------------------------------------- */

/* Runs the loop for ms milliseconds (the test's own context). */
static void on_wait_timer(uv_timer_t *t)
{
	*(int *)t->data = 1;
}
static void run_for(uint64_t ms)
{
	uv_timer_t t;
	int done = 0;

	uv_timer_init(&H.loop, &t);
	t.data = &done;
	uv_timer_start(&t, on_wait_timer, ms, 0);
	while (!done)
		uv_run(&H.loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&H.loop, UV_RUN_NOWAIT);
}

static const char *alphabet(size_t n)
{
	static char buf[4096];
	for (size_t i = 0; i < n && i + 1 < sizeof(buf); i++)
		buf[i] = (char)('a' + i % 26);
	buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = 0;
	return buf;
}

HTTP_TEST(chunked_bodies)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;

	mite_http_set_base_url(ctx, base);
	cr_assert_eq(mite_http_get(ctx, "/chunked/3?size=4", &r), 0);
	cr_assert_eq(r->status, 200);
	cr_assert_str_eq(r->body, "abcdefghijkl");
	cr_assert_eq(r->body_len, 12);
	cr_assert_eq(r->bytes_in, 12);
	cr_assert_str_eq(mite_http_header(r, "transfer-encoding", 0), "chunked");
	/* Trailers end the body; the connection stays usable. */
	cr_assert_eq(mite_http_get(ctx, "/chunked/2?size=30&trailer=1", &r), 0);
	cr_assert_str_eq(r->body, alphabet(60));
	cr_assert_eq(r->reused, 1);
	/* Large, counted only. */
	mite_http_opts o = { .flags = MITE_HTTP_DISCARD_BODY };
	cr_assert_eq(mite_http_request(ctx, "GET", "/chunked/100?size=5000", &o, &r), 0);
	cr_assert_eq(r->bytes_in, 500000);
	cr_assert_eq(r->body_len, 0);
	cr_assert_eq(mite_http_get(ctx, "/", &r), 0);
	cr_assert_eq(r->reused, 1);
	cr_assert_str_eq(r->body, "ok\n");
	/* HEAD of a chunked resource: no body follows. */
	cr_assert_eq(mite_http_head(ctx, "/chunked/3", &r), 0);
	cr_assert_eq(r->body_len, 0);
	cr_assert_eq(mite_http_get(ctx, "/chunked/1?size=1", &r), 0);
	cr_assert_str_eq(r->body, "a");
	cr_assert_eq(H.nfail, 0);
	harness_ctx_free(ctx);
}

HTTP_TEST(connection_close_and_http10)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	cJSON *st;

	mite_http_set_base_url(ctx, base);
	cJSON_Delete(target_get_json("/stats/reset"));
	cr_assert_eq(mite_http_get(ctx, "/", &r), 0);
	/* The server closes after this one ("Connection: close")... */
	mite_http_opts o = { .headers = (const char *const[]){ "Connection: close", NULL } };
	cr_assert_eq(mite_http_request(ctx, "GET", "/", &o, &r), 0);
	cr_assert_eq(r->reused, 1);
	cr_assert_str_eq(mite_http_header(r, "connection", 0), "close");
	/* ... so the next request needs a new connection. */
	cr_assert_eq(mite_http_get(ctx, "/json", &r), 0);
	cr_assert_eq(r->reused, 0);
	cr_assert_eq(r->status, 200);
	/* HTTP/1.0 replies: with a length, and ended by the close. */
	cr_assert_eq(mite_http_get(ctx, "/http10", &r), 0);
	cr_assert_eq(r->http_version, 10);
	cr_assert_str_eq(r->body, "http/1.0\n");
	cr_assert_eq(mite_http_get(ctx, "/http10?length=0", &r), 0);
	cr_assert_eq(r->reused, 0);
	cr_assert_eq(r->http_version, 10);
	cr_assert_str_eq(r->body, "http/1.0\n");
	cr_assert_eq(r->bytes_in, 9);
	cr_assert_eq(mite_http_get(ctx, "/", &r), 0);
	cr_assert_eq(r->reused, 0);
	cr_assert_eq(H.nfail, 0);
	st = target_get_json("/stats");
	cr_expect_eq(jnum(st, "received", NULL), 6);
	/* One connection for the first two requests, then one each (and
	 * the /stats query's own). */
	cr_expect_eq(jnum(st, "connections", "total"), 5, "connections: %ld",
		     jnum(st, "connections", "total"));
	cJSON_Delete(st);
	harness_ctx_free(ctx);
}

HTTP_TEST(responses_split_across_many_reads)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;

	mite_http_set_base_url(ctx, base);
	/* A few bytes per write, a write per millisecond: the head, the
	 * length-delimited body and the chunk framing arrive cut anywhere. */
	cr_assert_eq(mite_http_get(ctx, "/split/1?body=120&piece=3", &r), 0);
	cr_assert_eq(r->status, 200);
	cr_assert_str_eq(r->body, alphabet(120));
	cr_assert_str_eq(mite_http_header(r, "content-length", 0), "120");
	cr_assert_eq(mite_http_get(ctx, "/split/1?body=60&piece=1&chunked=1", &r), 0);
	cr_assert_str_eq(r->body, alphabet(60));
	cr_assert_eq(r->reused, 1);
	cr_assert_gt(r->t.total, 0.05, "it took the server's time: %f", r->t.total);
	cr_assert_eq(mite_http_get(ctx, "/split/0?body=3000&piece=700&chunked=1", &r), 0);
	cr_assert_str_eq(r->body, alphabet(3000));
	cr_assert_eq(H.nfail, 0);
	harness_ctx_free(ctx);
}

HTTP_TEST(no_body_for_204_304_and_head)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	uint64_t t0;

	mite_http_set_base_url(ctx, base);
	mite_http_set_timeouts(ctx, 0, 2);
	t0 = uv_hrtime();
	/* Both say "Content-Length: 5" and send no body: nothing to wait for. */
	cr_assert_eq(mite_http_get(ctx, "/nobody/204", &r), 0);
	cr_assert_eq(r->status, 204);
	cr_assert_eq(r->body_len, 0);
	cr_assert_eq(mite_http_get(ctx, "/nobody/304", &r), 0);
	cr_assert_eq(r->status, 304);
	cr_assert_eq(r->reused, 1);
	cr_assert_eq(mite_http_head(ctx, "/bytes/5000", &r), 0);
	cr_assert_eq(r->body_len, 0);
	cr_assert_eq(r->reused, 1);
	cr_assert_lt((uv_hrtime() - t0) / 1e9, 1.0);
	/* And the connection is still in step. */
	cr_assert_eq(mite_http_get(ctx, "/", &r), 0);
	cr_assert_str_eq(r->body, "ok\n");
	cr_assert_eq(r->reused, 1);
	cr_assert_eq(H.nfail, 0);
	harness_ctx_free(ctx);
}

HTTP_TEST(header_limit)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	char want[256];

	mite_http_set_base_url(ctx, base);
	harness_txn_begin(ctx, "big");
	cr_assert_eq(mite_http_get(ctx, "/big-header/8000", &r), 0);
	cr_assert_eq(strlen(mite_http_header(r, "x-big", 0)), 8000);
	/* One header over the limit (and over libcurl's own 100 KiB a
	 * line): the same class and text from both clients. */
	cr_assert_eq(mite_http_get(ctx, "/big-header/300000", &r), MITE_EIO);
	cr_assert_null(r);
	cr_assert_eq(httperr_count("big", "GET", "header_too_large"), 1, "%s", H.fail_msg);
	snprintf(want, sizeof(want),
		 "GET %s/big-header/300000 failed (header_too_large): response "
		 "header over 65536 bytes",
		 base);
	cr_assert_str_eq(H.fail_msg, want);
	/* Many small headers: the head's total counts. The target's head is
	 * 59 bytes and 101 a header line: 648 lines make 65507 bytes, 649
	 * make 65608. */
	cr_assert_eq(mite_http_get(ctx, "/many-headers/648", &r), 0);
	cr_assert_eq(r->status, 200);
	cr_assert_str_eq(r->body, "ok\n");
	cr_assert_eq(r->header_bytes, 65507);
	cr_assert_not_null(mite_http_header(r, "x-h000647", 0));
	cr_assert_eq(mite_http_get(ctx, "/many-headers/649", &r), MITE_EIO);
	cr_assert_eq(httperr_count("big", "GET", "header_too_large"), 2);
	cr_assert(strstr(H.fail_msg, "(header_too_large): response header over 65536 bytes"), "%s",
		  H.fail_msg);
	cr_assert_eq(mite_http_get(ctx, "/many-headers/5000", &r), MITE_EIO);
	cr_assert_eq(httperr_count("big", "GET", "header_too_large"), 3);
	cr_assert_eq(mite_http_get(ctx, "/", &r), 0);
	cr_assert_eq(r->status, 200);
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
}

/* A field of /proc/self/status in KiB ("VmHWM", "VmRSS"). */
static long proc_kib(const char *field)
{
	char line[256];
	long v = -1;
	size_t n = strlen(field);
	FILE *f = fopen("/proc/self/status", "r");

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	cr_assert_geq(v, 0, "no %s in /proc/self/status", field);
	return v;
}

/* ---- request bodies from files ---------------------------------------------------- */

#define UPLOAD_SIZE ((size_t)24 << 20) /* over the 16 MiB body limit (and mite-target's 1 MiB) */

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* Writes a file of n pattern bytes at path; its FNV-1a hash. */
static uint64_t upload_file(const char *path, size_t n)
{
	static unsigned char buf[65536];
	uint64_t h = 0xcbf29ce484222325ULL;
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	for (size_t off = 0; off < n; off += sizeof(buf)) {
		size_t k = n - off < sizeof(buf) ? n - off : sizeof(buf);
		for (size_t i = 0; i < k; i++)
			buf[i] = (unsigned char)((off + i) * 31 % 253);
		cr_assert_eq(fwrite(buf, 1, k, f), k);
		h = fnv1a(h, buf, k);
	}
	cr_assert_eq(fclose(f), 0);
	return h;
}

/* One connection of the upload server: each request's body is counted
 * and hashed, never kept; the reply says "BYTES HASH". */
static void upload_conn(int fd)
{
	static char buf[65536];
	size_t have = 0;

	for (;;) {
		char *end, *cl, reply[128];
		uint64_t h = 0xcbf29ce484222325ULL;
		size_t left, got = 0, head;
		ssize_t k;

		while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
			if (have == sizeof(buf) ||
			    (k = read(fd, buf + have, sizeof(buf) - have)) <= 0)
				_exit(0);
			have += (size_t)k;
		}
		head = (size_t)(end + 4 - buf);
		*end = 0;
		cl = strcasestr(buf, "\r\ncontent-length:");
		left = cl ? strtoull(cl + 17, NULL, 10) : 0;
		if (strcasestr(buf, "\r\nexpect: 100-continue") &&
		    write(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 25)
			_exit(1);
		memmove(buf, buf + head, have - head);
		have -= head;
		for (;;) {
			size_t take = have < left ? have : left;
			h = fnv1a(h, (unsigned char *)buf, take);
			got += take;
			left -= take;
			memmove(buf, buf + take, have - take);
			have -= take;
			if (!left)
				break;
			if ((k = read(fd, buf, sizeof(buf))) <= 0)
				_exit(0);
			have = (size_t)k;
		}
		int bl = snprintf(reply + 64, 64, "%zu %016llx", got, (unsigned long long)h);
		int hl = snprintf(reply, 64, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", bl);
		if (write(fd, reply, (size_t)hl) != hl || write(fd, reply + 64, (size_t)bl) != bl)
			_exit(1);
	}
}

/* A server (a child process, a grandchild per connection) on a free
 * loopback port; bounded by alarm. */
static pid_t upload_server(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(s, 16), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGCHLD, SIG_IGN);
		alarm(30);
		for (;;) {
			int c = accept(s, NULL, NULL);
			if (c < 0)
				continue;
			if (fork() == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				close(s);
				upload_conn(c);
			}
			close(c);
		}
	}
	close(s);
	return pid;
}

/* A 24 MiB file goes up byte for byte (count and hash as the server saw
 * them), read in pieces: the process's peak RSS grows far less than the
 * file (in a batch too). A missing file fails its request, class "file",
 * the path named; nothing is sent. */
HTTP_TEST(body_file_upload)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	char path[64], url[64], want[64];
	int port, st;
	pid_t srv = upload_server(&port);
	uint64_t hash;
	long hwm;

	snprintf(path, sizeof(path), "/tmp/mite-upload-%d.bin", (int)getpid());
	hash = upload_file(path, UPLOAD_SIZE);
	snprintf(want, sizeof(want), "%zu %016llx", UPLOAD_SIZE, (unsigned long long)hash);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/up", port);
	hwm = proc_kib("VmHWM");
	harness_txn_begin(ctx, "up");
	cr_assert_eq(mite_http_request(ctx, "PUT", url, &(mite_http_opts){ .body_file = path }, &r),
		     0, "%s", H.fail_msg);
	cr_assert_eq(r->status, 200);
	cr_assert_str_eq(r->body, want);
	cr_assert_geq(r->bytes_out, UPLOAD_SIZE);
	/* Again on the kept connection, as a POST in a batch of two. */
	mite_http_req q[2] = {
		{ .method = "POST", .url = url, .opts = &(mite_http_opts){ .body_file = path } },
		{ .method = "POST",
		  .url = url,
		  .opts = &(mite_http_opts){ .body = "abc", .body_len = 3 } },
	};
	cr_assert_eq(mite_http_batch(ctx, q, 2), 0, "%s", H.fail_msg);
	cr_assert_str_eq(q[0].resp->body, want);
	cr_assert_eq(strncmp(q[1].resp->body, "3 ", 2), 0, "%s", q[1].resp->body);
	cr_assert_lt(proc_kib("VmHWM") - hwm, 8 * 1024, "peak RSS grew %ld KiB for 3 x 24 MiB",
		     proc_kib("VmHWM") - hwm);
	cr_assert_eq(H.nfail, 0, "%s", H.fail_msg);

	/* A missing file, and one body too many. */
	cr_assert_eq(mite_http_request(ctx, "PUT", url,
				       &(mite_http_opts){ .body_file = "/nonexistent/mite-up.bin" },
				       &r),
		     MITE_EIO);
	cr_assert_null(r);
	cr_assert_eq(H.nfail, 1);
	cr_assert(strstr(H.fail_msg, "(file)") && strstr(H.fail_msg, "/nonexistent/mite-up.bin") &&
			  strstr(H.fail_msg, "No such file or directory"),
		  "%s", H.fail_msg);
	cr_assert_eq(httperr_count("up", "PUT", "file"), 1);
	cr_assert_eq(mite_http_request(
			     ctx, "PUT", url,
			     &(mite_http_opts){ .body_file = path, .body = "x", .body_len = 1 },
			     &r),
		     MITE_EINVAL);
	cr_assert_eq(http_count("up", "PUT", "200"), 1);
	cr_assert_eq(http_count("up", "POST", "200"), 2);
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
	unlink(path);
	kill(srv, SIGKILL);
	waitpid(srv, &st, 0);
}

HTTP_TEST(body_limit_per_response)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	char want[256];
	static const char *const over[] = { "/stream/1048577", "/stream/1048577?chunked=1",
					    "/stream/forever", "/stream/forever?chunked=1" };

	mite_http_set_base_url(ctx, base);
	harness_txn_begin(ctx, "limit");
	cr_assert_eq(mite_http_set_body_limit(ctx, 1 << 20, 0), 0);
	/* At the limit: kept whole; the buffer holds the body and its NUL. */
	cr_assert_eq(mite_http_get(ctx, "/stream/1048576", &r), 0);
	cr_assert_eq(r->body_len, 1 << 20);
	cr_assert_eq(r->bytes_in, 1 << 20);
	cr_assert_eq(r->body[0], 'a');
	cr_assert_eq(r->body[1 << 20], 0);
	cr_assert_eq(mite_http_get(ctx, "/stream/1048576?chunked=1", &r), 0);
	cr_assert_eq(r->body_len, 1 << 20);
	cr_assert_eq(H.nfail, 0);
	/* One byte more, however the body is framed, or no end at all: the
	 * request fails with its class, counted, and the same text from both
	 * clients. */
	for (size_t i = 0; i < sizeof(over) / sizeof(*over); i++) {
		uint64_t t0 = uv_hrtime();
		cr_assert_eq(mite_http_get(ctx, over[i], &r), MITE_EIO, "%s", over[i]);
		cr_assert_null(r);
		cr_assert_lt((uv_hrtime() - t0) / 1e9, 5.0, "%s", over[i]);
		cr_assert_eq(httperr_count("limit", "GET", "body_too_large"), i + 1);
		snprintf(want, sizeof(want),
			 "GET %s%s failed (body_too_large): body over 1048576 "
			 "bytes (the limit per response)",
			 base, over[i]);
		cr_assert_str_eq(H.fail_msg, want);
	}
	cr_assert(ctx->txn[0].failed);
	/* The connection was closed with it: the next request makes one. */
	cr_assert_eq(mite_http_get(ctx, "/", &r), 0);
	cr_assert_eq(r->reused, 0);
	cr_assert_str_eq(r->body, "ok\n");
	/* A request's own limit, either way. */
	mite_http_opts o = { .max_body = 1000 };
	cr_assert_eq(mite_http_request(ctx, "GET", "/bytes/1000", &o, &r), 0);
	cr_assert_eq(r->body_len, 1000);
	cr_assert_eq(mite_http_request(ctx, "GET", "/bytes/1001", &o, &r), MITE_EIO);
	cr_assert(strstr(H.fail_msg, "body over 1000 bytes (the limit per response)"), "%s",
		  H.fail_msg);
	o.max_body = MITE_HTTP_NO_LIMIT;
	cr_assert_eq(mite_http_request(ctx, "GET", "/stream/2000000", &o, &r), 0);
	cr_assert_eq(r->body_len, 2000000);
	/* HEAD and discarded bodies keep nothing: no limit applies. */
	mite_http_set_body_limit(ctx, 10, 0);
	cr_assert_eq(mite_http_head(ctx, "/stream/5000", &r), 0);
	o = (mite_http_opts){ .flags = MITE_HTTP_DISCARD_BODY };
	cr_assert_eq(mite_http_request(ctx, "GET", "/stream/5000", &o, &r), 0);
	cr_assert_eq(r->bytes_in, 5000);
	cr_assert_eq(httperr_count("limit", "GET", "body_too_large"), 5);
	/* Failures are not counted as responses. */
	cr_assert_eq(http_count("limit", "GET", "200"), 6);
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
}

HTTP_TEST(body_limit_per_session)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *a, *b, *c;

	mite_http_set_base_url(ctx, base);
	harness_txn_begin(ctx, "held");
	/* 3 MiB for the live responses together, 2 MiB each. */
	cr_assert_eq(mite_http_set_body_limit(ctx, 2 << 20, 3 << 20), 0);
	cr_assert_eq(mite_http_get(ctx, "/stream/1048576", &a), 0);
	cr_assert_eq(mite_http_get(ctx, "/stream/1048576", &b), 0);
	/* A third would make 3 MiB + 1: refused. */
	cr_assert_eq(mite_http_get(ctx, "/stream/1048577", &c), MITE_EIO);
	cr_assert(strstr(H.fail_msg,
			 "(body_too_large): the session's responses would keep over "
			 "3145728 bytes of body (the limit per session)"),
		  "%s", H.fail_msg);
	cr_assert_eq(mite_http_get(ctx, "/stream/1048576", &c), 0);
	/* Freeing one gives its share back; so does a new iteration. */
	mite_http_response_free(ctx, a);
	cr_assert_eq(mite_http_get(ctx, "/stream/1048576", &a), 0);
	cr_assert_eq(mite_http_get(ctx, "/bytes/1", NULL), MITE_EIO);
	http_sdk_new_iteration(ctx);
	cr_assert_eq(mite_http_get(ctx, "/stream/2097152", &a), 0);
	cr_assert_eq(a->body_len, 2 << 20);
	cr_assert_eq(httperr_count("held", "GET", "body_too_large"), 2);
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
}

/* ASan keeps freed blocks in a quarantine (256 MiB by default): the
 * body buffer's reallocations would count there, not in mite. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=8";
}

HTTP_TEST(endless_body_memory_stays_bounded)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	long hwm0, grew;
	uint64_t t0;

	mite_http_set_base_url(ctx, base);
	mite_http_set_timeouts(ctx, 0, 20);
	harness_txn_begin(ctx, "endless");
	/* The default limit (16 MiB): the process's peak grows by about
	 * that, where an unbounded buffer grows by gigabytes in seconds. */
	hwm0 = proc_kib("VmHWM");
	t0 = uv_hrtime();
	cr_assert_eq(mite_http_get(ctx, "/stream/forever", &r), MITE_EIO);
	cr_assert_lt((uv_hrtime() - t0) / 1e9, 10.0);
	cr_assert(strstr(H.fail_msg,
			 "(body_too_large): body over 16777216 bytes (the limit per "
			 "response)"),
		  "%s", H.fail_msg);
	grew = proc_kib("VmHWM") - hwm0;
	fprintf(stderr, "%s: endless body: cut off after %.3f s, peak RSS grew %ld KiB\n",
		engine_is_curl() ? "curl" : "native", (uv_hrtime() - t0) / 1e9, grew);
#ifdef __SANITIZE_ADDRESS__
	/* (ASan: shadow memory, and freed buffers in the quarantine.) */
	cr_assert_lt(grew, 64 * 1024, "peak RSS grew %ld KiB", grew);
#else
	cr_assert_lt(grew, 48 * 1024, "peak RSS grew %ld KiB", grew);
#endif
	/* Discarded: counted, nothing kept; 40 MB pass without growth. */
	hwm0 = proc_kib("VmHWM");
	mite_http_opts o = { .flags = MITE_HTTP_DISCARD_BODY };
	cr_assert_eq(mite_http_request(ctx, "GET", "/stream/40000000", &o, &r), 0);
	cr_assert_eq(r->bytes_in, 40000000);
	cr_assert_eq(r->body_len, 0);
	grew = proc_kib("VmHWM") - hwm0;
	cr_assert_lt(grew, 8 * 1024, "peak RSS grew %ld KiB", grew);
	/* An endless discarded body ends with the request's timeout. */
	o.timeout = 0.3;
	cr_assert_eq(mite_http_request(ctx, "GET", "/stream/forever", &o, &r), MITE_ETIMEDOUT);
	cr_assert_eq(httperr_count("endless", "GET", "timeout"), 1);
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
}

struct sunk {
	uint64_t bytes, stop_after;
	int calls;
	char first[16];
};

static int sink_cb(void *arg, const char *data, size_t len)
{
	struct sunk *k = arg;

	if (k->bytes < sizeof(k->first) - 1) {
		size_t n = sizeof(k->first) - 1 - k->bytes < len ? sizeof(k->first) - 1 - k->bytes
								 : len;
		memcpy(k->first + k->bytes, data, n);
	}
	k->bytes += len;
	k->calls++;
	return k->stop_after && k->bytes >= k->stop_after;
}

HTTP_TEST(body_streamed_to_a_callback)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	struct sunk k = { 0 };
	mite_http_opts o = { .body_cb = sink_cb, .body_arg = &k };

	mite_http_set_base_url(ctx, base);
	harness_txn_begin(ctx, "sink");
	/* Every byte goes to the callback, none is kept, no limit applies. */
	mite_http_set_body_limit(ctx, 10, 0);
	cr_assert_eq(mite_http_request(ctx, "GET", "/stream/3000000?chunked=1", &o, &r), 0);
	cr_assert_eq(k.bytes, 3000000);
	cr_assert_gt(k.calls, 1);
	cr_assert_str_eq(k.first, "abcdefghijklmno");
	cr_assert_eq(r->bytes_in, 3000000);
	cr_assert_eq(r->body_len, 0);
	cr_assert_str_eq(r->body, "");
	/* Stopping: the request ends there, successfully, the connection
	 * closed. */
	k = (struct sunk){ .stop_after = 100000 };
	cr_assert_eq(mite_http_request(ctx, "GET", "/stream/forever", &o, &r), 0, "%s", H.fail_msg);
	cr_assert_eq(r->status, 200);
	cr_assert_geq(k.bytes, 100000);
	cr_assert_eq(r->bytes_in, k.bytes);
	{
		int rc = mite_http_get(ctx, "/", &r);
		cr_assert_eq(rc, 0, "rc %d: %s", rc, H.fail_msg);
	}
	cr_assert_eq(r->reused, 0);
	/* A followed redirect's body is not the journey's. */
	k = (struct sunk){ 0 };
	cr_assert_eq(mite_http_request(ctx, "GET", "/redirect/2", &o, &r), 0);
	cr_assert_eq(r->redirects, 2);
	cr_assert_str_eq(k.first, "ok\n");
	cr_assert_eq(k.bytes, 3);
	cr_assert_eq(H.nfail, 0);
	cr_assert_eq(http_count("sink", "GET", "200"), 4);
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
}

HTTP_TEST(no_status_line)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	char want[256];

	mite_http_set_base_url(ctx, base);
	harness_txn_begin(ctx, "09");
	cr_assert_eq(mite_http_get(ctx, "/no-status-line", &r), MITE_EIO);
	cr_assert_null(r);
	cr_assert_eq(httperr_count("09", "GET", "other"), 1);
	snprintf(want, sizeof(want),
		 "GET %s/no-status-line failed (other): no status line in the "
		 "reply (HTTP/0.9, or not HTTP)",
		 base);
	cr_assert_str_eq(H.fail_msg, want);
	cr_assert_eq(mite_http_get(ctx, "/", &r), 0);
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
}

HTTP_TEST(idle_connection_closed_by_the_server)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	cJSON *st;

	mite_http_set_base_url(ctx, base);
	cJSON_Delete(target_get_json("/stats/reset"));
	cr_assert_eq(mite_http_get(ctx, "/idle-close/20", &r), 0);
	run_for(150); /* the server closes the idle connection meanwhile */
	cr_assert_eq(mite_http_get(ctx, "/", &r), 0);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(H.nfail, 0);
	st = target_get_json("/stats");
	cr_expect_eq(jnum(st, "received", NULL), 2);
	cJSON_Delete(st);
	harness_ctx_free(ctx);
}

HTTP_TEST(host_names_resolve)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	char url[128];

	/* "localhost" comes from /etc/hosts: no resolver off this host. */
	snprintf(url, sizeof(url), "http://localhost:%d/json", target_port);
	cr_assert_eq(mite_http_get(ctx, url, &r), 0);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(r->reused, 0);
	cr_assert_geq(r->t.dns, 0);
	cr_assert(strcmp(r->primary_ip, "127.0.0.1") == 0 || strcmp(r->primary_ip, "::1") == 0,
		  "%s", r->primary_ip);
	cr_assert_eq(mite_http_get(ctx, url, &r), 0);
	cr_assert_eq(r->reused, 1);
	/* The Host header says the name and port. */
	snprintf(url, sizeof(url), "http://LocalHost:%d/echo", target_port);
	cr_assert_eq(mite_http_get(ctx, url, &r), 0);
	cJSON *j = cJSON_Parse(r->body);
	char want[64];
	snprintf(want, sizeof(want), "LocalHost:%d", target_port);
	cr_assert_str_eq(
		cJSON_GetObjectItem(cJSON_GetObjectItem(j, "headers"), "host")->valuestring, want);
	cJSON_Delete(j);
	cr_assert_eq(H.nfail, 0);
	harness_ctx_free(ctx);
}

/* GET /set-cookie-raw with each value a Set-Cookie header. */
static void set_cookies(mite_ctx *ctx, const char *const *values)
{
	char url[2048], *v;
	size_t n = 0;
	mite_http_response *r;

	n = (size_t)snprintf(url, sizeof(url), "/set-cookie-raw?x=1");
	for (; *values; values++) {
		cr_assert_lt(n, sizeof(url) - 1);
		n += (size_t)snprintf(url + n, sizeof(url) - n, "&v=");
		v = url + n;
		cr_assert_lt(mite_http_escape(v, sizeof(url) - n, *values),
			     (long)(sizeof(url) - n));
		n += strlen(v);
	}
	cr_assert_eq(mite_http_get(ctx, url, &r), 0);
	cr_assert_eq(r->status, 200);
}

/* The cookies the target receives for path, as "a=1; b=2" sorted. */
static const char *cookies_at(mite_ctx *ctx, const char *path)
{
	static char out[1024];
	mite_http_response *r;
	char url[256];
	cJSON *j, *it;
	size_t n = 0;

	snprintf(url, sizeof(url), "/cookies%s", path);
	cr_assert_eq(mite_http_get(ctx, url, &r), 0);
	j = cJSON_Parse(r->body);
	cr_assert_not_null(j);
	out[0] = 0;
	cJSON_ArrayForEach(it, j)
	{
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s=%s", n ? "; " : "",
				      it->string, it->valuestring);
	}
	cJSON_Delete(j);
	return out;
}

HTTP_TEST(cookie_rules_end_to_end)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);

	mite_http_set_base_url(ctx, base);
	set_cookies(ctx,
		    (const char *const[]){
			    "a=1; Path=/", "b=2; Path=/cookies/deep", "c=3; Path=/other",
			    "d=4; Domain=127.0.0.1", /* the host itself: fine */
			    "e=5; Domain=example.com", /* not this host: ignored */
			    "f=6; Max-Age=3600", "g=7; Expires=Wed, 09 Jun 2100 10:18:14 GMT",
			    "h=8; Secure", /* over http: ignored */
			    NULL });
	cr_assert_str_eq(cookies_at(ctx, ""), "a=1; d=4; f=6; g=7");
	cr_assert_str_eq(cookies_at(ctx, "/deep/x"), "b=2; a=1; d=4; f=6; g=7");
	/* Replaced, then deleted two ways. */
	set_cookies(ctx,
		    (const char *const[]){ "a=one; Path=/", "f=x; Max-Age=0",
					   "g=x; Expires=Thu, 01 Jan 1970 00:00:01 GMT", NULL });
	cr_assert_str_eq(cookies_at(ctx, ""), "a=one; d=4");
	/* A cookie with a short life is gone once it is over. */
	set_cookies(ctx, (const char *const[]){ "s=1; Max-Age=1", NULL });
	cr_assert_str_eq(cookies_at(ctx, ""), "a=one; d=4; s=1");
	run_for(2100);
	cr_assert_str_eq(cookies_at(ctx, ""), "a=one; d=4");
	/* A new iteration starts empty. */
	http_sdk_new_iteration(ctx);
	cr_assert_str_eq(cookies_at(ctx, ""), "");
	cr_assert_eq(H.nfail, 0);
	harness_ctx_free(ctx);
}

/* The bytes of the coroutine's stack a journey's HTTP calls touch below its
 * own frame: the runner commits a journey's stack lazily, a page at a time,
 * and an idle instance should cost one page. */
struct depth {
	size_t warmup, used, fail;
	const char *what;
	int rc;
};

static __attribute__((noinline)) void paint(volatile char *lo, size_t n)
{
	for (size_t i = 0; i < n; i++)
		lo[i] = (char)0xa5;
}

/* Repaints the stack below the journey's frame, runs x, and keeps in
 * *used the most bytes any call used. */
#define MEASURE(x)                                                                    \
	do {                                                                          \
		size_t i_;                                                            \
		paint(lo, 16384 - 512);                                               \
		x;                                                                    \
		for (i_ = 0; i_ < 16384 - 512 && (unsigned char)lo[i_] == 0xa5; i_++) \
			;                                                             \
		if ((size_t)(top - (lo + i_)) > *used) {                              \
			*used = (size_t)(top - (lo + i_));                            \
			if (used == &d->used)                                         \
				d->what = #x;                                         \
		}                                                                     \
	} while (0)

static int depth_journey(mite_ctx *ctx, void *arg)
{
	struct depth *d = arg;
	volatile char mark = 0;
	/* (Through an integer: the bytes below are no object's.) */
	char *top = (char *)(uintptr_t)&mark, *lo = (char *)((uintptr_t)top - 16384);
	mite_http_response *r = NULL;
	int rc = 0;

	/* Twice: the first pass resolves every library function's PLT entry
	 * (lazy binding saves the whole register file on the stack, once per
	 * function per process), the second measures. */
	for (int pass = 0; pass < 2; pass++) {
		size_t *used = pass ? &d->used : &d->warmup;
		size_t *fail = pass ? &d->fail : &d->warmup;
		http_sdk_new_iteration(ctx);
		harness_txn_begin(ctx, "depth");
		MEASURE(mite_http_set_base_url(ctx, base));
		MEASURE(mite_http_set_header(ctx, "X-A", "a"));
		MEASURE(rc |= mite_http_get(ctx, "/", &r));
		MEASURE(rc |= mite_http_get(ctx, "/set-cookie?a=1", &r));
		MEASURE(rc |= mite_http_get(ctx, "/redirect/2", &r));
		MEASURE(rc |= mite_http_post_json(ctx, "/echo", "{\"a\":1}", &r));
		MEASURE(rc |= mite_http_get(ctx, "/chunked/2", &r));
		MEASURE(rc |= mite_http_get(ctx, "/status/503", &r));
		used = fail; /* a failure's path too, on its own */
		MEASURE(mite_http_expect_status(ctx, r, 200));
		used = pass ? &d->used : &d->warmup;
		MEASURE(mite_http_response_free(ctx, r));
		MEASURE(rc |= mite_http_get(ctx, "/", NULL));
		harness_txn_end(ctx);
	}
	d->rc = rc;
	return 0;
}

HTTP_TEST(a_request_stays_within_a_small_stack)
{
	struct depth d = { 0 };
	mite_ctx *ctx;

#if defined(__SANITIZE_ADDRESS__) || defined(__has_feature)
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
	cr_skip_test("ASan's frames are not the release build's");
#endif
#endif
	H.http_events = 1;
	ctx = harness_ctx(depth_journey, &d);
	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(d.rc, 0);
	fprintf(stderr,
		"%s: stack below the journey's frame: %zu bytes, by %s; %zu to record a "
		"failure; %zu on first calls\n",
		engine_is_curl() ? "curl" : "native", d.used, d.what, d.fail, d.warmup);
	/* The runner's frames above a journey's take about 1 KiB of its first
	 * page. libcurl's own frames are deeper than ours. */
	cr_expect_lt(d.used, engine_is_curl() ? 3072 : 1536, "%s used %zu bytes of stack", d.what,
		     d.used);
	cr_expect_lt(d.fail, 2560, "recording a failure used %zu bytes of stack", d.fail);
	harness_ctx_free(ctx);
}

/* ---- TLS ------------------------------------------------------------------------ */

/* Certificates made by tests/tls-certs.sh, and openssl s_server serving one
 * of them. Loopback only; each server is killed by pid. Every TLS test
 * runs on both clients (suites "tls" and "tls_curl"), which must word
 * every failure alike: the expected texts are libcurl's. */
static char tls_dir[64];

static void tls_setup(void)
{
	char cmd[512];
	const char *src = getenv("top_srcdir");

	setup();
	snprintf(tls_dir, sizeof(tls_dir), "/tmp/mite-tls.XXXXXX");
	cr_assert_not_null(mkdtemp(tls_dir));
	snprintf(cmd, sizeof(cmd), "sh %s/tests/tls-certs.sh %s", src ? src : "..", tls_dir);
	cr_assert_eq(system(cmd), 0, "%s failed", cmd);
}

static void tls_setup_curl(void)
{
	tls_setup();
	H.http_engine = "curl";
}

static void tls_teardown(void)
{
	char cmd[128];

	teardown(); /* (checks which client carried the requests) */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tls_dir);
	cr_expect_eq(system(cmd), 0);
}

/* Starts s_server with certificate `name` and more arguments (NULL
 * terminated, at most 8); returns its port, *pid its pid. */
static int tls_server_args(const char *name, pid_t *pid, const char *const *more)
{
	char cert[128], key[128], line[256] = "";
	const char *argv[32];
	int fds[2], port = 0, n = 0;
	FILE *f;

	snprintf(cert, sizeof(cert), "%s/%s.pem", tls_dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", tls_dir, name);
	for (const char *a0[] = { "openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert,
				  "-key", key, "-www", NULL },
			*const *a = a0;
	     *a; a++)
		argv[n++] = *a;
	for (; more && *more && n < 30; more++)
		argv[n++] = *more;
	argv[n] = NULL;
	cr_assert_eq(pipe(fds), 0);
	*pid = fork();
	cr_assert_geq(*pid, 0);
	if (*pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int null = open("/dev/null", O_WRONLY);
		dup2(fds[1], 1);
		dup2(null, 2); /* its handshake errors are the test's expected ones */
		close(fds[0]);
		close(fds[1]);
		execvp("openssl", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "ACCEPT 127.0.0.1:%d", &port) == 1)
			break;
	fclose(f);
	cr_assert_gt(port, 0, "openssl s_server did not start (%s)", name);
	return port;
}

/* s_server for one connection. */
static int tls_server(const char *name, pid_t *pid)
{
	return tls_server_args(name, pid, (const char *const[]){ "-naccept", "1", NULL });
}

static void tls_server_stop(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

static void tls_path(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "%s/%s", tls_dir, file);
}

TestSuite(tls, .init = tls_setup, .fini = tls_teardown, .timeout = 60);
TestSuite(tls_curl, .init = tls_setup_curl, .fini = tls_teardown, .timeout = 60);

#define TLS_TEST(name)                 \
	static void name##_body(void); \
	Test(tls, name)                \
	{                              \
		name##_body();         \
	}                              \
	Test(tls_curl, name)           \
	{                              \
		name##_body();         \
	}                              \
	static void name##_body(void)

TLS_TEST(each_failed_check_has_its_own_text)
{
	static const struct {
		const char *cert, *want;
	} cases[] = {
		{ "good", NULL },
		{ "other",
		  "name mismatch: SSL: no alternative certificate subject name matches target "
		  "host name '127.0.0.1'" },
		{ "expired",
		  "certificate expired: SSL certificate problem: certificate has expired" },
		{ "future",
		  "certificate not yet valid: SSL certificate problem: certificate is not yet "
		  "valid" },
		{ "rogue",
		  "unknown CA: SSL certificate problem: unable to get local issuer certificate" },
	};
	char ca[128], url[128], want[512];
	mite_http_response *r;

	tls_path(ca, sizeof(ca), "ca.pem");
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		mite_ctx *ctx = harness_ctx(NULL, NULL);
		pid_t pid;
		int port = tls_server(cases[i].cert, &pid), rc;

		cr_assert_eq(mite_http_set_ca_file(ctx, ca), 0);
		mite_http_set_timeouts(ctx, 5, 10);
		harness_txn_begin(ctx, "tls");
		snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
		rc = mite_http_get(ctx, url, &r);
		tls_server_stop(pid);
		if (!cases[i].want) {
			cr_assert_eq(rc, 0, "%s: %s", cases[i].cert, H.fail_msg);
			cr_assert_eq(r->status, 200);
			cr_expect_eq(r->tls_version, 13);
			cr_expect_eq(r->reused, 0);
			cr_expect_gt(r->t.tls, 0, "the tls phase is timed");
			cr_expect_gt(r->t.ttfb, 0);
		} else {
			cr_assert_eq(rc, MITE_EIO, "%s", cases[i].cert);
			snprintf(want, sizeof(want), "GET %s failed (tls): %s", url, cases[i].want);
			cr_assert_str_eq(H.fail_msg, want);
		}
		harness_txn_end(ctx);
		harness_ctx_free(ctx);
	}
	cr_assert_eq(httperr_count("tls", "GET", "tls"), 4);
	cr_assert_eq(http_count("tls", "GET", "200"), 1);

	/* Verification on by default: the system's CAs do not know ours. */
	{
		mite_ctx *ctx = harness_ctx(NULL, NULL);
		pid_t pid;
		int port = tls_server("good", &pid);

		harness_txn_begin(ctx, "tls");
		snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
		cr_assert_eq(mite_http_get(ctx, url, &r), MITE_EIO);
		tls_server_stop(pid);
		snprintf(want, sizeof(want),
			 "GET %s failed (tls): unknown CA: SSL certificate problem: "
			 "unable to get local issuer certificate",
			 url);
		cr_assert_str_eq(H.fail_msg, want);
		harness_txn_end(ctx);
		harness_ctx_free(ctx);
	}

	/* Without verification the expired one is fine. */
	{
		mite_ctx *ctx = harness_ctx(NULL, NULL);
		pid_t pid;
		int port = tls_server("expired", &pid);

		mite_http_set_tls_verify(ctx, 0);
		snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
		cr_assert_eq(mite_http_get(ctx, url, &r), 0, "%s", H.fail_msg);
		tls_server_stop(pid);
		cr_assert_eq(r->status, 200);
		harness_ctx_free(ctx);
	}
}

/* A server that reads what comes (a ClientHello), then sends `reply` (may
 * be NULL) and closes; its port. One connection. */
static int bad_tls_server(const char *reply, size_t len, pid_t *pid)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int ls = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_eq(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(ls, 4), 0);
	cr_assert_eq(getsockname(ls, (struct sockaddr *)&a, &al), 0);
	*pid = fork();
	cr_assert_geq(*pid, 0);
	if (*pid == 0) {
		char buf[4096];
		int c;

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		c = accept(ls, NULL, NULL);
		if (c < 0)
			_exit(1);
		/* All of the ClientHello, so that the close is a FIN, not a
		 * reset of unread data. */
		usleep(100000);
		if (recv(c, buf, sizeof(buf), MSG_DONTWAIT) < 0)
			_exit(1);
		if (reply && send(c, reply, len, 0) < 0)
			_exit(1);
		shutdown(c, SHUT_WR);
		usleep(200000);
		_exit(0);
	}
	close(ls);
	return ntohs(a.sin_port);
}

TLS_TEST(broken_handshakes_fail_cleanly)
{
	/* A TLS record header promising a ServerHello that never comes whole. */
	static const char partial[] = "\x16\x03\x03\x00\x50\x02\x00\x00\x4c\x03\x03";
	char url[128], want[512];
	mite_http_response *r;
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	pid_t pid;
	int port;

	mite_http_set_timeouts(ctx, 5, 10);
	harness_txn_begin(ctx, "tls");

	/* Not TLS at all: a plain HTTP server answers the ClientHello. */
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", target_port);
	cr_assert_eq(mite_http_get(ctx, url, &r), MITE_EIO);
	snprintf(want, sizeof(want),
		 "GET %s failed (tls): handshake failed: OpenSSL/%s: "
		 "error:0A00010B:SSL routines::wrong version number",
		 url, OpenSSL_version(OPENSSL_VERSION_STRING));
	cr_assert_str_eq(H.fail_msg, want);

	/* Closed before any reply. */
	port = bad_tls_server(NULL, 0, &pid);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
	cr_assert_eq(mite_http_get(ctx, url, &r), MITE_EIO);
	tls_server_stop(pid);
	snprintf(want, sizeof(want),
		 "GET %s failed (tls): handshake failed: OpenSSL SSL_connect: "
		 "SSL_ERROR_SYSCALL in connection to 127.0.0.1:%d ",
		 url, port);
	cr_assert_str_eq(H.fail_msg, want);

	/* Closed in the middle of a record. */
	port = bad_tls_server(partial, sizeof(partial) - 1, &pid);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
	cr_assert_eq(mite_http_get(ctx, url, &r), MITE_EIO);
	tls_server_stop(pid);
	snprintf(want, sizeof(want),
		 "GET %s failed (tls): handshake failed: OpenSSL SSL_connect: "
		 "SSL_ERROR_SYSCALL in connection to 127.0.0.1:%d ",
		 url, port);
	cr_assert_str_eq(H.fail_msg, want);

	/* Garbage that looks like no record. */
	port = bad_tls_server("garbage garbage garbage garbage\r\n", 33, &pid);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
	cr_assert_eq(mite_http_get(ctx, url, &r), MITE_EIO);
	tls_server_stop(pid);
	snprintf(want, sizeof(want),
		 "GET %s failed (tls): handshake failed: OpenSSL/%s: "
		 "error:0A00010B:SSL routines::wrong version number",
		 url, OpenSSL_version(OPENSSL_VERSION_STRING));
	cr_assert_str_eq(H.fail_msg, want);

	harness_txn_end(ctx);
	cr_assert_eq(httperr_count("tls", "GET", "tls"), 4);
	harness_ctx_free(ctx);
}

TLS_TEST(client_certificate)
{
	char ca[128], cert[128], key[128], url[128], want[512];
	mite_http_response *r;
	mite_ctx *ctx;
	pid_t pid;
	int port;

	tls_path(ca, sizeof(ca), "ca.pem");
	tls_path(cert, sizeof(cert), "client.pem");
	tls_path(key, sizeof(key), "client.key");
	/* The server asks for a certificate and checks it against our CA. */
	port = tls_server_args("good", &pid,
			       (const char *const[]){ "-Verify", "1", "-CAfile", ca, NULL });
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);

	/* Sent, its key unlocked with its password: the server saw it. */
	ctx = harness_ctx(NULL, NULL);
	cr_assert_eq(mite_http_set_ca_file(ctx, ca), 0);
	cr_assert_eq(mite_http_set_client_cert(ctx, cert, key, "mite-pass"), 0);
	harness_txn_begin(ctx, "cert");
	cr_assert_eq(mite_http_request(
			     ctx, "GET", url,
			     (&(const mite_http_opts){ .flags = MITE_HTTP_NEW_CONNECTION }), &r),
		     0, "%s", H.fail_msg);
	cr_assert_eq(r->status, 200);
	cr_assert_not_null(strstr(r->body, "Client certificate"), "%s", r->body);
	cr_assert_not_null(strstr(r->body, "CN=client"), "%s", r->body);

	/* None: the server refuses (TLS 1.3: after the handshake, so the
	 * failure is the first read's, as libcurl says it). */
	mite_http_set_client_cert(ctx, NULL, NULL, NULL);
	cr_assert_eq(mite_http_request(
			     ctx, "GET", url,
			     (&(const mite_http_opts){ .flags = MITE_HTTP_NEW_CONNECTION }), &r),
		     MITE_EIO);
	snprintf(want, sizeof(want),
		 "GET %s failed (reset): Failure when receiving data from the peer", url);
	cr_assert_str_eq(H.fail_msg, want);

	/* A file that does not load: libcurl's words, class tls. */
	mite_http_set_client_cert(ctx, "/nonexistent/mite-client.pem", NULL, NULL);
	cr_assert_eq(mite_http_get(ctx, url, &r), MITE_EIO);
	snprintf(
		want, sizeof(want),
		"GET %s failed (tls): could not load PEM client certificate from "
		"/nonexistent/mite-client.pem, OpenSSL error error:80000002:system library::No such "
		"file or directory, (no key found, wrong pass phrase, or wrong file format?)",
		url);
	cr_assert_str_eq(H.fail_msg, want);

	/* A wrong password. */
	mite_http_set_client_cert(ctx, cert, key, "not-the-pass");
	cr_assert_eq(mite_http_get(ctx, url, &r), MITE_EIO);
	snprintf(want, sizeof(want),
		 "GET %s failed (tls): unable to set private key file: '%s' type PEM", url, key);
	cr_assert_str_eq(H.fail_msg, want);
	harness_txn_end(ctx);
	tls_server_stop(pid);
	cr_assert_eq(httperr_count("cert", "GET", "tls"), 2);
	cr_assert_eq(httperr_count("cert", "GET", "reset"), 1);
	harness_ctx_free(ctx);

	/* A CA file that does not load. */
	ctx = harness_ctx(NULL, NULL);
	mite_http_set_ca_file(ctx, "/nonexistent/mite-ca.pem");
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", target_port);
	cr_assert_eq(mite_http_get(ctx, url, &r), MITE_EIO);
	snprintf(want, sizeof(want),
		 "GET %s failed (tls): error setting certificate file: "
		 "/nonexistent/mite-ca.pem",
		 url);
	cr_assert_str_eq(H.fail_msg, want);
	harness_ctx_free(ctx);
}

/* GET url on a new connection; its response (the test fails otherwise). */
static mite_http_response *tls_get_new(mite_ctx *ctx, const char *url)
{
	mite_http_response *r = NULL;

	cr_assert_eq(mite_http_request(
			     ctx, "GET", url,
			     (&(const mite_http_opts){ .flags = MITE_HTTP_NEW_CONNECTION }), &r),
		     0, "%s", H.fail_msg);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(r->reused, 0);
	return r;
}

TLS_TEST(sessions_resume_and_versions)
{
	char ca[128], url[128];
	mite_http_response *r;
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	pid_t pid;
	int port = tls_server_args("good", &pid, NULL); /* (any number of connections) */

	tls_path(ca, sizeof(ca), "ca.pem");
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
	cr_assert_eq(mite_http_set_ca_file(ctx, ca), 0);

	/* The first connection makes a full handshake; the next ones resume
	 * its session (s_server says so too). */
	r = tls_get_new(ctx, url);
	cr_assert_eq(r->tls_resumed, 0);
	cr_assert_not_null(strstr(r->body, "New, TLSv1.3"), "%s", r->body);
	for (int i = 0; i < 3; i++) {
		r = tls_get_new(ctx, url);
		cr_assert_eq(r->tls_resumed, 1, "connection %d", i + 2);
		cr_assert_eq(r->tls_version, 13);
		cr_assert_not_null(strstr(r->body, "Reused, TLSv1.3"), "%s", r->body);
		mite_http_response_free(ctx, r);
	}

	/* Resumption off: full handshakes only. */
	cr_assert_eq(mite_http_set_tls_resumption(ctx, 0), 0);
	for (int i = 0; i < 2; i++) {
		r = tls_get_new(ctx, url);
		cr_assert_eq(r->tls_resumed, 0);
		cr_assert_not_null(strstr(r->body, "New, TLSv1.3"), "%s", r->body);
	}
	cr_assert_eq(mite_http_set_tls_resumption(ctx, 1), 0);

	/* TLS 1.2 only, then resumed too. */
	cr_assert_eq(mite_http_set_tls_versions(ctx, MITE_HTTP_TLS1_2, MITE_HTTP_TLS1_2), 0);
	r = tls_get_new(ctx, url);
	cr_assert_eq(r->tls_version, 12);
	cr_assert_not_null(strstr(r->body, "TLSv1.2"), "%s", r->body);
	r = tls_get_new(ctx, url);
	cr_assert_eq(r->tls_version, 12);
	cr_assert_eq(r->tls_resumed, 1);

	/* Bad values are refused. */
	cr_assert_eq(mite_http_set_tls_versions(ctx, 11, 0), MITE_EINVAL);
	cr_assert_eq(mite_http_set_tls_versions(ctx, MITE_HTTP_TLS1_3, MITE_HTTP_TLS1_2),
		     MITE_EINVAL);

	/* A server that speaks neither: TLS 1.3 only against TLS 1.2 only. */
	{
		pid_t p2;
		int port2 = tls_server_args(
			"good", &p2, (const char *const[]){ "-tls1_2", "-naccept", "1", NULL });
		char url2[128];

		cr_assert_eq(mite_http_set_tls_versions(ctx, MITE_HTTP_TLS1_3, 0), 0);
		snprintf(url2, sizeof(url2), "https://127.0.0.1:%d/", port2);
		harness_txn_begin(ctx, "tls");
		cr_assert_eq(mite_http_get(ctx, url2, &r), MITE_EIO);
		tls_server_stop(p2);
		cr_assert(strstr(H.fail_msg, "failed (tls): handshake failed: OpenSSL/"), "%s",
			  H.fail_msg);
		harness_txn_end(ctx);
	}
	tls_server_stop(pid);
	harness_ctx_free(ctx);
}

/* ---- HTTP/2 ------------------------------------------------------------------ */

/* Debian's nginx with TLS and HTTP/2 on ephemeral loopback ports, logging
 * "STATUS CONNECTION URI" per request (started by each test, killed by
 * pid). Ports: h2 (TLS, ALPN h2), goaway (the same, but GOAWAY after 5
 * requests a connection), h2c (prior knowledge), h1 (TLS without h2). */
static struct {
	pid_t pid;
	int h2, goaway, h2c, h1;
	char log[128];
} ngx;

#define BIG_BODY (5 << 20)

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	close(s);
	return port;
}

static void nginx_start(void)
{
	char conf[256], big[256], path[256];
	FILE *f;

	ngx.h2 = free_port();
	ngx.goaway = free_port();
	ngx.h2c = free_port();
	ngx.h1 = free_port();
	snprintf(ngx.log, sizeof(ngx.log), "%s/access.log", tls_dir);
	snprintf(big, sizeof(big), "%s/big.bin", tls_dir);
	f = fopen(big, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < BIG_BODY; i++)
		fputc((i * 7) % 251, f);
	fclose(f);
	snprintf(conf, sizeof(conf), "%s/nginx.conf", tls_dir);
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	fprintf(f,
		"%8$sdaemon off; worker_processes 1; pid %1$s/nginx.pid; error_log %1$s/error.log warn;\n"
		"events { worker_connections 1024; }\n"
		"http { log_format mite '$status $connection $request_uri'; access_log %2$s mite;\n"
		" client_body_temp_path %1$s; proxy_temp_path %1$s; fastcgi_temp_path %1$s;\n"
		" uwsgi_temp_path %1$s; scgi_temp_path %1$s; keepalive_requests 1000000;\n"
		" ssl_certificate %1$s/good.pem; ssl_certificate_key %1$s/good.key;\n"
		" server { listen 127.0.0.1:%3$d ssl http2; location = / { return 200 \"ok\\n\"; }\n"
		"  location = /rst { return 444; } location = /big { alias %4$s; }\n"
		"  location /up/ { root %1$s; dav_methods PUT; client_max_body_size 0; } }\n"
		" server { listen 127.0.0.1:%5$d ssl http2; keepalive_requests 5;\n"
		"  location / { return 200 \"ok\\n\"; } }\n"
		" server { listen 127.0.0.1:%6$d http2; location / { return 200 \"ok\\n\"; } }\n"
		" server { listen 127.0.0.1:%7$d ssl; location / { return 200 \"ok\\n\"; }\n"
		"  location /up/ { root %1$s; dav_methods PUT; client_max_body_size 0; } }\n"
		"}\n",
		tls_dir, ngx.log, ngx.h2, big, ngx.goaway, ngx.h2c, ngx.h1,
		/* (the workers write uploads into the test's folder: as root, they
		 * would be nobody otherwise) */
		geteuid() == 0 ? "user root; " : "");
	fclose(f);
	ngx.pid = fork();
	cr_assert_geq(ngx.pid, 0);
	if (ngx.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execlp("nginx", "nginx", "-c", conf, (char *)NULL);
		_exit(127);
	}
	/* Up when it answers. */
	snprintf(path, sizeof(path), "%s/nginx.pid", tls_dir);
	for (int i = 0; i < 100 && access(path, F_OK) != 0; i++)
		usleep(20000);
	cr_assert_eq(access(path, F_OK), 0, "nginx did not start (apt-get install nginx-light)");
	usleep(50000);
}

static void nginx_stop(void)
{
	int st;

	if (ngx.pid > 0) {
		kill(ngx.pid, SIGQUIT);
		waitpid(ngx.pid, &st, 0);
		ngx.pid = 0;
	}
}

/* The log's lines so far: how many, how many with status `status` (0:
 * any), and how many distinct connections carried them. Empties it. */
static int nginx_log(int status, int *conns)
{
	char line[512];
	long seen[4096];
	int n = 0, nc = 0;
	FILE *f;

	usleep(100000); /* (nginx logs after the response) */
	f = fopen(ngx.log, "r+");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		int st;
		long c;
		int known = 0;
		if (sscanf(line, "%d %ld", &st, &c) != 2 || (status && st != status))
			continue;
		n++;
		for (int i = 0; i < nc; i++)
			known |= seen[i] == c;
		if (!known && nc < 4096)
			seen[nc++] = c;
	}
	cr_assert_eq(ftruncate(fileno(f), 0), 0);
	fclose(f);
	if (conns)
		*conns = nc;
	return n;
}

static void h2_setup(void)
{
	tls_setup();
	nginx_start();
}

static void h2_setup_curl(void)
{
	h2_setup();
	H.http_engine = "curl";
}

static void h2_teardown(void)
{
	nginx_stop();
	tls_teardown();
}

TestSuite(h2, .init = h2_setup, .fini = h2_teardown, .timeout = 60);
TestSuite(h2_curl, .init = h2_setup_curl, .fini = h2_teardown, .timeout = 60);

#define H2_TEST(name)                  \
	static void name##_body(void); \
	Test(h2, name)                 \
	{                              \
		name##_body();         \
	}                              \
	Test(h2_curl, name)            \
	{                              \
		name##_body();         \
	}                              \
	static void name##_body(void)

/* An instance's session for HTTP/2 on port (TLS unless h2c). */
static void h2_session(mite_ctx *ctx, int version)
{
	char ca[128];

	tls_path(ca, sizeof(ca), "ca.pem");
	cr_assert_eq(mite_http_set_ca_file(ctx, ca), 0);
	cr_assert_eq(mite_http_set_version(ctx, version), 0);
	mite_http_set_timeouts(ctx, 5, 10);
}

struct h2_job {
	const char *url;
	int n, ok, version, rc;
};

static int h2_journey(mite_ctx *ctx, void *arg)
{
	struct h2_job *j = arg;
	mite_http_response *r;

	h2_session(ctx, MITE_HTTP_V2);
	harness_txn_begin(ctx, "h2");
	for (int i = 0; i < j->n; i++) {
		if ((j->rc = mite_http_get(ctx, j->url, &r)) != 0)
			break;
		j->ok += r->status == 200;
		j->version = r->http_version;
		mite_http_response_free(ctx, r);
	}
	harness_txn_end(ctx);
	return 0;
}

/* 20 instances at once, 5 requests each, on one HTTP/2 connection
 * (natively: the first one opens it, the others wait for it). */
H2_TEST(multiplexing)
{
	struct h2_job jobs[20];
	mite_ctx *ctxs[20];
	char url[128];
	int conns, total;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", ngx.h2);
	for (int i = 0; i < 20; i++) {
		jobs[i] = (struct h2_job){ .url = url, .n = 5 };
		ctxs[i] = harness_ctx(h2_journey, &jobs[i]);
	}
	cr_assert_eq(harness_run(20), 0);
	for (size_t i = 0; i < sizeof(ctxs) / sizeof(*ctxs); i++)
		harness_ctx_free(ctxs[i]);
	for (int i = 0; i < 20; i++) {
		cr_assert_eq(jobs[i].rc, 0, "%s", H.fail_msg);
		cr_assert_eq(jobs[i].ok, 5);
		cr_assert_eq(jobs[i].version, 20);
	}
	total = nginx_log(200, &conns);
	cr_assert_eq(total, 100);
	cr_assert_eq(http_count("h2", "GET", "200"), 100);
	if (!engine_is_curl())
		cr_assert_eq(conns, 1, "%d connections", conns);
	else
		cr_assert_leq(conns, 20);
	fprintf(stderr, "%s: 100 requests of 20 instances on %d connection(s)\n",
		engine_is_curl() ? "curl" : "native", conns);
}

/* A batch on an HTTP/2 session: every request at once, as streams of one
 * connection (natively; libcurl multiplexes them on its multi handle). */
H2_TEST(batch_streams_on_one_connection)
{
	enum { N = 10 };
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_req q[N];
	char url[128];
	int conns;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", ngx.h2);
	h2_session(ctx, MITE_HTTP_V2);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++)
			q[i] = (mite_http_req){ .url = url };
		cr_assert_eq(mite_http_batch(ctx, q, N), 0, "%s", H.fail_msg);
		for (int i = 0; i < N; i++) {
			cr_assert_eq(q[i].rc, 0);
			cr_assert_eq(q[i].resp->status, 200);
			cr_assert_eq(q[i].resp->http_version, 20);
			cr_assert_str_eq(q[i].resp->body, "ok\n");
		}
		mite_http_batch_free(ctx, q, N);
	}
	cr_assert_eq(nginx_log(200, &conns), 3 * N);
	cr_assert_eq(conns, 1, "%d connections", conns);
	harness_ctx_free(ctx);
}

/* The FNV-1a hash of a file's bytes, and its size. */
static uint64_t file_hash(const char *path, size_t *size)
{
	static unsigned char buf[65536];
	uint64_t h = 0xcbf29ce484222325ULL;
	FILE *f = fopen(path, "r");
	size_t k;

	cr_assert_not_null(f, "%s", path);
	*size = 0;
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0) {
		h = fnv1a(h, buf, k);
		*size += k;
	}
	fclose(f);
	return h;
}

/* A 24 MiB body file through TLS: over HTTP/2 (DATA frames as the
 * windows allow) and over HTTP/1.1; nginx (WebDAV PUT) stores what came,
 * byte for byte. */
H2_TEST(body_file_upload_tls)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	char path[128], url[128], got[128];
	uint64_t hash;
	size_t size;
	static const struct {
		int *port;
		const char *name;
		int version;
	} to[] = { { &ngx.h2, "a.bin", 20 }, { &ngx.h1, "b.bin", 11 } };

	snprintf(path, sizeof(path), "%s/upload.bin", tls_dir);
	snprintf(got, sizeof(got), "%s/up", tls_dir);
	cr_assert_eq(mkdir(got, 0755), 0);
	hash = upload_file(path, UPLOAD_SIZE);
	h2_session(ctx, MITE_HTTP_V2);
	mite_http_set_timeouts(ctx, 5, 30);
	for (size_t i = 0; i < sizeof(to) / sizeof(*to); i++) {
		snprintf(url, sizeof(url), "https://127.0.0.1:%d/up/%s", *to[i].port, to[i].name);
		cr_assert_eq(mite_http_request(ctx, "PUT", url,
					       &(mite_http_opts){ .body_file = path }, &r),
			     0, "%s", H.fail_msg);
		cr_assert_eq(r->status, 201, "%d", r->status);
		cr_assert_eq(r->http_version, to[i].version);
		snprintf(got, sizeof(got), "%s/up/%s", tls_dir, to[i].name);
		cr_assert_eq(file_hash(got, &size), hash, "%s differs", to[i].name);
		cr_assert_eq(size, UPLOAD_SIZE);
		unlink(got);
	}
	cr_assert_eq(H.nfail, 0, "%s", H.fail_msg);
	harness_ctx_free(ctx);
	unlink(path);
	snprintf(got, sizeof(got), "%s/up", tls_dir);
	rmdir(got);
}

/* A stream limit: 20 instances, at most 4 streams a connection. */
Test(h2, stream_limit_opens_more_connections)
{
	struct h2_job jobs[20];
	mite_ctx *ctxs[20];
	char url[128];
	int conns;

	H.http2_max_streams = "4";
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", ngx.h2);
	for (int i = 0; i < 20; i++) {
		jobs[i] = (struct h2_job){ .url = url, .n = 3 };
		ctxs[i] = harness_ctx(h2_journey, &jobs[i]);
	}
	cr_assert_eq(harness_run(20), 0);
	for (size_t i = 0; i < sizeof(ctxs) / sizeof(*ctxs); i++)
		harness_ctx_free(ctxs[i]);
	for (int i = 0; i < 20; i++)
		cr_assert_eq(jobs[i].ok, 3, "%s", H.fail_msg);
	cr_assert_eq(nginx_log(200, &conns), 60);
	cr_assert_eq(conns, 5, "20 instances at 4 streams a connection: %d connections", conns);
}

/* GOAWAY after every 5 requests of a connection: streams the server did
 * not take go again on a new connection; every request succeeds once. */
H2_TEST(goaway)
{
	struct h2_job jobs[10];
	mite_ctx *ctxs[10];
	char url[128];
	int conns;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", ngx.goaway);
	for (int i = 0; i < 10; i++) {
		jobs[i] = (struct h2_job){ .url = url, .n = 6 };
		ctxs[i] = harness_ctx(h2_journey, &jobs[i]);
	}
	cr_assert_eq(harness_run(20), 0);
	for (size_t i = 0; i < sizeof(ctxs) / sizeof(*ctxs); i++)
		harness_ctx_free(ctxs[i]);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(jobs[i].ok, 6, "instance %d: %s", i, H.fail_msg);
	cr_assert_eq(H.nfail, 0, "%s", H.fail_msg);
	cr_assert_eq(nginx_log(200, &conns), 60);
	cr_assert_geq(conns, 12, "60 requests at 5 a connection on %d connections", conns);
	cr_assert_eq(http_count("h2", "GET", "200"), 60);
}

/* A stream the server resets (nginx's 444 on HTTP/2): class reset, and the
 * connection carries on. */
H2_TEST(rst_stream)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	char url[128], want[256];

	h2_session(ctx, MITE_HTTP_V2);
	harness_txn_begin(ctx, "h2");
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", ngx.h2);
	cr_assert_eq(mite_http_get(ctx, url, &r), 0, "%s", H.fail_msg);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/rst", ngx.h2);
	cr_assert_eq(mite_http_get(ctx, url, &r), MITE_EIO);
	snprintf(want, sizeof(want),
		 "GET %s failed (reset): Stream error in the HTTP/2 framing layer", url);
	cr_assert_str_eq(H.fail_msg, want);
	cr_assert_eq(httperr_count("h2", "GET", "reset"), 1);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", ngx.h2);
	cr_assert_eq(mite_http_get(ctx, url, &r), 0, "%s", H.fail_msg);
	cr_assert_eq(r->http_version, 20);
	if (!engine_is_curl())
		cr_assert_eq(r->reused, 1, "the connection outlived the reset stream");
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
}

/* A 5 MiB body: far beyond the windows (flow control), kept whole; then
 * over a 1 MiB limit: class body_too_large, the stream reset, the
 * connection carries on; streamed; discarded. */
H2_TEST(large_body_and_limits)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	char url[128], want[256];
	int conns;

	h2_session(ctx, MITE_HTTP_V2);
	harness_txn_begin(ctx, "h2");
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/big", ngx.h2);
	cr_assert_eq(mite_http_get(ctx, url, &r), 0, "%s", H.fail_msg);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(r->http_version, 20);
	cr_assert_eq(r->body_len, BIG_BODY);
	for (size_t i = 0; i < r->body_len; i++)
		if ((unsigned char)r->body[i] != (i * 7) % 251)
			cr_assert_fail("byte %zu differs", i);
	mite_http_response_free(ctx, r);

	cr_assert_eq(mite_http_set_body_limit(ctx, 1 << 20, 0), 0);
	cr_assert_eq(mite_http_get(ctx, url, &r), MITE_EIO);
	snprintf(want, sizeof(want),
		 "GET %s failed (body_too_large): body over 1048576 bytes (the "
		 "limit per response)",
		 url);
	cr_assert_str_eq(H.fail_msg, want);
	cr_assert_eq(httperr_count("h2", "GET", "body_too_large"), 1);

	/* Discarded: counted, no limit. */
	cr_assert_eq(mite_http_request(ctx, "GET", url,
				       (&(const mite_http_opts){ .flags = MITE_HTTP_DISCARD_BODY }),
				       &r),
		     0, "%s", H.fail_msg);
	cr_assert_eq(r->bytes_in, BIG_BODY);
	cr_assert_eq(r->body_len, 0);
	harness_txn_end(ctx);
	harness_ctx_free(ctx);
	nginx_log(0, &conns);
	if (!engine_is_curl())
		cr_assert_eq(conns, 1,
			     "a body over its limit reset its stream only: %d connections", conns);
}

/* h2c with prior knowledge on http://; HTTP/2 asked of a TLS server without
 * it: HTTP/1.1, for every instance (those that waited for the connection
 * too). */
H2_TEST(h2c_and_fallback)
{
	mite_ctx *ctx = harness_ctx(NULL, NULL);
	mite_http_response *r;
	struct h2_job jobs[5];
	mite_ctx *ctxs[5];
	char url[128];

	h2_session(ctx, MITE_HTTP_V2_PRIOR);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ngx.h2c);
	cr_assert_eq(mite_http_get(ctx, url, &r), 0, "%s", H.fail_msg);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(r->http_version, 20);
	harness_ctx_free(ctx);

	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", ngx.h1);
	for (int i = 0; i < 5; i++) {
		jobs[i] = (struct h2_job){ .url = url, .n = 2 };
		ctxs[i] = harness_ctx(h2_journey, &jobs[i]);
	}
	cr_assert_eq(harness_run(20), 0);
	for (size_t i = 0; i < sizeof(ctxs) / sizeof(*ctxs); i++)
		harness_ctx_free(ctxs[i]);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(jobs[i].ok, 2, "%s", H.fail_msg);
		cr_assert_eq(jobs[i].version, 11);
	}
	cr_assert_eq(nginx_log(200, NULL), 11);
}

/* ---- the pieces alone: response parser, URLs, cookie jar ------------------------ */

TestSuite(http1, .timeout = 30);

struct parsed {
	http1_parser p;
	http1_buf head, body;
	int rc; /* the first error, or 0 */
	int done;
	size_t used; /* bytes consumed */
};

/* Feeds resp to a fresh parser in pieces of `step` bytes (0: whole), then
 * an EOF when eof is set. */
static void parse(struct parsed *r, const char *resp, size_t len, size_t step, int head_req,
		  int eof)
{
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	http1_parser_init(&r->p, head_req, 0, &r->head, &r->body);
	while (off < len && !r->rc) {
		size_t n = step && len - off > step ? step : len - off;
		ssize_t k = http1_parse(&r->p, resp + off, n);
		if (k < 0) {
			r->rc = (int)k;
			break;
		}
		r->used += (size_t)k;
		off += (size_t)k;
		if (http1_done(&r->p))
			break;
	}
	if (!r->rc && eof && !http1_done(&r->p))
		r->rc = http1_parse_eof(&r->p);
	r->done = http1_done(&r->p);
}

static void parsed_free(struct parsed *r)
{
	free(r->head.p);
	free(r->body.p);
}

/* The idx-th header line of a parsed head ("Name:value"). */
static const char *head_line(const struct parsed *r, int idx)
{
	size_t off = 0;

	while (off < r->head.len) {
		if (idx-- == 0)
			return r->head.p + off;
		off += strlen(r->head.p + off) + 1;
	}
	return NULL;
}

Test(http1, every_split_of_a_response_parses_alike)
{
	static const char *const resps[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  a  \r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"2;ext=\"x\"\r\nhe\r\n3\r\nllo\r\n0\r\nX-Trailer: t\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\nContent-Length: 5\n\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 99\r\n\r\n"
		"5\r\nhello\r\n0\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(resps) / sizeof(*resps); i++) {
		size_t len = strlen(resps[i]);
		for (size_t step = 0; step <= len; step++) {
			struct parsed r;
			parse(&r, resps[i], len, step, 0, 0);
			cr_assert_eq(r.rc, 0, "resp %zu step %zu: %d", i, step, r.rc);
			cr_assert(r.done, "resp %zu step %zu", i, step);
			cr_assert_eq(r.used, len, "resp %zu step %zu", i, step);
			cr_assert_eq(r.p.status, 200);
			cr_assert_eq(r.p.version, 11);
			cr_assert(r.p.keep_alive);
			cr_assert_eq(r.body.len, 5);
			cr_assert_str_eq(r.body.p, "hello");
			cr_assert_eq(r.p.body_bytes, 5);
			if (i == 0)
				cr_assert_str_eq(head_line(&r, 1), "X-A:a");
			parsed_free(&r);
		}
	}
}

Test(http1, framing)
{
	struct parsed r;
	const char *s;

	/* HEAD and 204/304: no body whatever the length says. */
	s = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
	parse(&r, s, strlen(s), 0, 1, 0);
	cr_assert(r.done && r.body.len == 0 && r.p.keep_alive);
	parsed_free(&r);
	s = "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nNEXT";
	parse(&r, s, strlen(s), 0, 0, 0);
	cr_assert(r.done);
	cr_assert_eq(r.used, strlen(s) - 4, "the rest belongs to no response");
	parsed_free(&r);
	/* HTTP/1.0: closes unless it says keep-alive; no length: the close
	 * ends the body. */
	s = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
	parse(&r, s, strlen(s), 0, 0, 0);
	cr_assert(r.done && !r.p.keep_alive && r.p.version == 10);
	parsed_free(&r);
	s = "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok";
	parse(&r, s, strlen(s), 0, 0, 0);
	cr_assert(r.done && r.p.keep_alive);
	parsed_free(&r);
	s = "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n";
	parse(&r, s, strlen(s), 0, 0, 0);
	cr_assert(r.done && !r.p.keep_alive);
	parsed_free(&r);
	s = "HTTP/1.1 200 OK\r\n\r\nuntil the close";
	parse(&r, s, strlen(s), 3, 0, 0);
	cr_assert(!r.done && !r.rc);
	cr_assert_eq(http1_parse_eof(&r.p), HTTP1_OK);
	cr_assert_str_eq(r.body.p, "until the close");
	cr_assert(!r.p.keep_alive);
	parsed_free(&r);
	/* An early close. */
	s = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort";
	parse(&r, s, strlen(s), 0, 0, 1);
	cr_assert_eq(r.rc, HTTP1_EPARTIAL);
	parsed_free(&r);
	parse(&r, "", 0, 0, 0, 1);
	cr_assert_eq(r.rc, HTTP1_ENOTHING);
	parsed_free(&r);
	/* obs-fold joins the lines; repeated headers stay apart. */
	s = "HTTP/1.1 200 OK\r\nX-F: a\r\n  b\r\nSet-Cookie: 1\r\nSet-Cookie: 2\r\nContent-Length: 0\r\n\r\n";
	parse(&r, s, strlen(s), 1, 0, 0);
	cr_assert_str_eq(head_line(&r, 0), "X-F:a b");
	cr_assert_str_eq(head_line(&r, 1), "Set-Cookie:1");
	cr_assert_str_eq(head_line(&r, 2), "Set-Cookie:2");
	parsed_free(&r);
	/* Equal repeated lengths are one length. */
	s = "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok";
	parse(&r, s, strlen(s), 0, 0, 0);
	cr_assert(r.done && r.body.len == 2);
	parsed_free(&r);
}

Test(http1, malformed_responses_fail)
{
	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 200OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nNo-Colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\n folded-first: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1234567890abcdef0\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		for (size_t step = 0; step < 4; step++) {
			struct parsed r;
			parse(&r, bad[i], strlen(bad[i]), step, 0, 0);
			cr_assert_eq(r.rc, HTTP1_EPARSE, "bad %zu step %zu: rc %d", i, step, r.rc);
			parsed_free(&r);
		}
	}
	/* A NUL in the head. */
	struct parsed r;
	parse(&r, "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", 27, 0, 0, 0);
	cr_assert_eq(r.rc, HTTP1_EPARSE);
	parsed_free(&r);
}

Test(http1, no_status_line_fails_at_once)
{
	static const char *const bad[] = {
		"ICY 200 OK\r\n\r\n",          "hello",
		"\r\nHTTP/1.1 200 OK\r\n\r\n", "HTTP:",
		"http/1.1 200 OK\r\n\r\n",     "HTTP/1.1 100 Continue\r\n\r\nX"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		for (size_t step = 0; step < 4; step++) {
			struct parsed r;
			parse(&r, bad[i], strlen(bad[i]), step, 0, 1);
			cr_assert_eq(r.rc, HTTP1_EHTTP09, "bad %zu step %zu: rc %d", i, step, r.rc);
			parsed_free(&r);
		}
	}
	/* A prefix of a status line is not refused yet. */
	struct parsed r;
	parse(&r, "HTTP", 4, 1, 0, 1);
	cr_assert_eq(r.rc, HTTP1_EPARTIAL);
	parsed_free(&r);
}

/* Feeds resp in steps with a body limit. */
static void parse_limited(struct parsed *r, const char *resp, size_t len, size_t step,
			  uint64_t max_body)
{
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	http1_parser_init(&r->p, 0, 0, &r->head, &r->body);
	r->p.max_body = max_body;
	while (off < len && !r->rc && !http1_done(&r->p)) {
		size_t n = step && len - off > step ? step : len - off;
		ssize_t k = http1_parse(&r->p, resp + off, n);
		if (k < 0)
			r->rc = (int)k;
		else
			off += (size_t)k;
	}
	if (!r->rc && !http1_done(&r->p))
		r->rc = http1_parse_eof(&r->p);
	r->done = http1_done(&r->p);
}

Test(http1, body_limit)
{
	static const char *const resps[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n012\r\n7\r\n3456789\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n0123456789",
	};
	for (size_t i = 0; i < sizeof(resps) / sizeof(*resps); i++) {
		size_t len = strlen(resps[i]);
		for (size_t step = 0; step <= 7; step++) {
			struct parsed r;
			/* At the limit: whole, in a buffer of at most limit + 1. */
			parse_limited(&r, resps[i], len, step, 10);
			cr_assert_eq(r.rc, 0, "resp %zu step %zu: %d", i, step, r.rc);
			cr_assert(r.done);
			cr_assert_str_eq(r.body.p, "0123456789");
			cr_assert_leq(r.body.cap, 11, "cap %zu", r.body.cap);
			parsed_free(&r);
			/* One byte under: refused before it is kept. */
			parse_limited(&r, resps[i], len, step, 9);
			cr_assert_eq(r.rc, HTTP1_EBODYSIZE, "resp %zu step %zu: %d", i, step, r.rc);
			cr_assert_leq(r.body.len, 9);
			cr_assert_leq(r.body.cap, 10, "cap %zu", r.body.cap);
			parsed_free(&r);
		}
	}
	/* Discarded bodies and HEAD keep nothing: no limit. */
	struct parsed r;
	memset(&r, 0, sizeof(r));
	http1_parser_init(&r.p, 0, 1, &r.head, &r.body);
	r.p.max_body = 1;
	cr_assert_eq(http1_parse(&r.p, resps[0], strlen(resps[0])), (ssize_t)strlen(resps[0]));
	cr_assert(http1_done(&r.p));
	cr_assert_eq(r.p.body_bytes, 10);
	parsed_free(&r);
}

Test(http1, heads_and_trailers_are_bounded)
{
	size_t n = HTTP1_MAX_HEAD + 100;
	char *big = malloc(n + 64);
	struct parsed r;
	int len;

	len = snprintf(big, 64, "HTTP/1.1 200 OK\r\nX-Big: ");
	memset(big + len, 'b', n);
	parse(&r, big, (size_t)len + n, 1000, 0, 0);
	cr_assert_eq(r.rc, HTTP1_EHEADSIZE);
	cr_assert_leq(r.head.cap, 2 * HTTP1_MAX_HEAD, "the buffer stayed bounded: %zu", r.head.cap);
	parsed_free(&r);
	/* Trailers too, and chunk extensions. */
	len = snprintf(big, 64, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: ");
	memset(big + len, 't', n);
	parse(&r, big, (size_t)len + n, 0, 0, 0);
	cr_assert_eq(r.rc, HTTP1_EHEADSIZE);
	parsed_free(&r);
	/* The head and the trailers share the budget. */
	{
		char *t = malloc(HTTP1_MAX_HEAD + 256);
		size_t hl, k;
		hl = (size_t)snprintf(t, 256,
				      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: ");
		memset(t + hl, 'h', HTTP1_MAX_HEAD / 2);
		hl += HTTP1_MAX_HEAD / 2;
		memcpy(t + hl, "\r\n\r\n0\r\nT: ", 10);
		k = hl + 10;
		memset(t + k, 't', HTTP1_MAX_HEAD / 2);
		k += HTTP1_MAX_HEAD / 2;
		memcpy(t + k, "\r\n\r\n", 4);
		parse(&r, t, k + 4, 0, 0, 0);
		cr_assert_eq(r.rc, HTTP1_EHEADSIZE);
		parsed_free(&r);
		free(t);
	}
	len = snprintf(big, 64, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;");
	memset(big + len, 'e', n);
	parse(&r, big, (size_t)len + n, 0, 0, 0);
	cr_assert_eq(r.rc, HTTP1_EPARSE);
	parsed_free(&r);
	free(big);
}

Test(http1, urls)
{
	http1_url u;
	char buf[256];

	cr_assert_eq(http1_url_parse("http://h.example:8080/a/b?q=1#frag", &u), 0);
	cr_assert_eq(u.https, 0);
	cr_assert_eq(u.port, 8080);
	cr_assert(u.host_len == 9 && strncmp(u.host, "h.example", 9) == 0);
	cr_assert(u.hostport_len == 14 && strncmp(u.hostport, "h.example:8080", 14) == 0);
	cr_assert(u.path_len == 8 && strncmp(u.path, "/a/b?q=1", 8) == 0);
	cr_assert_eq(u.pathonly_len, 4);
	cr_assert_eq(http1_url_parse("HTTPS://[::1]/", &u), 0);
	cr_assert(u.https && u.port == 443 && u.host_len == 3 && strncmp(u.host, "::1", 3) == 0);
	cr_assert_eq(http1_url_parse("http://h", &u), 0);
	cr_assert(u.path_len == 1 && u.path[0] == '/');
	static const char *const bad[] = { "ftp://h/",     "http://",          "http://u:p@h/",
					   "http://h:0/",  "http://h:65536/",  "http://h:/",
					   "http://h/a b", "http://h?q",       "//h/",
					   "http://[::1/", "http://h\xc3\xa9/" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_assert_eq(http1_url_parse(bad[i], &u), -EINVAL, "%s", bad[i]);

	static const char *const res[][3] = {
		{ "http://h/a/b/c?x", "d", "http://h/a/b/d" },
		{ "http://h/a/b/c", "../d?y=1#f", "http://h/a/d?y=1" },
		{ "http://h/a/b/c", "/e/./f/../g", "http://h/e/g" },
		{ "http://h/a/b/c", "?q", "http://h/a/b/c?q" },
		{ "http://h", "x", "http://h/x" },
		{ "http://h:81/a", "//o:82/p", "http://o:82/p" },
		{ "http://h/a", "https://s/t", "https://s/t" },
		{ "http://h/a/b", "../../../x", "http://h/x" },
		{ "http://h/a/b/", ".", "http://h/a/b/" },
		{ "http://h/redirect/2", "/redirect/1", "http://h/redirect/1" },
	};
	for (size_t i = 0; i < sizeof(res) / sizeof(*res); i++) {
		long n = http1_url_resolve(buf, sizeof(buf), res[i][0], res[i][1]);
		cr_assert_str_eq(buf, res[i][2], "%s + %s", res[i][0], res[i][1]);
		cr_assert_eq(n, (long)strlen(res[i][2]));
	}
	/* Too small: the length needed (an upper bound), whole on a retry. */
	long n = http1_url_resolve(buf, 8, "http://h/a/b/c", "d");
	cr_assert_geq(n, (long)strlen("http://h/a/b/d"));
	cr_assert_eq(strlen(buf), 7);
	cr_assert_eq(http1_url_resolve(buf, sizeof(buf), "ftp://h/", "x"), -EINVAL);
}

/* ---- the cookie jar ----------------------------------------------------------- */

#define NOW INT64_C(1700000000)

static void jar_set(cookie_jar *j, const char *v, const char *host, const char *path, int https,
		    int64_t now)
{
	cookie_jar_set(j, v, strlen(v), host, strlen(host), path, strlen(path), https, now);
}

static const char *jar_get(const cookie_jar *j, const char *host, const char *path, int https,
			   int64_t now)
{
	static char buf[512];
	size_t n = cookie_jar_header(j, buf, sizeof(buf), host, strlen(host), path, strlen(path),
				     https, now);
	cr_assert_lt(n, sizeof(buf));
	return buf;
}

Test(http1, cookie_paths)
{
	cookie_jar j = { 0 };

	jar_set(&j, "root=1; Path=/", "h", "/", 0, NOW);
	jar_set(&j, "docs=2; Path=/docs", "h", "/", 0, NOW);
	jar_set(&j, "slash=3; Path=/docs/", "h", "/", 0, NOW);
	jar_set(&j, "dflt=4", "h", "/app/page", 0, NOW); /* default path: /app */
	jar_set(&j, "top=5", "h", "/page", 0, NOW); /* default path: / */
	cr_assert_str_eq(jar_get(&j, "h", "/", 0, NOW), "root=1; top=5");
	cr_assert_str_eq(jar_get(&j, "h", "/docs", 0, NOW), "docs=2; root=1; top=5");
	cr_assert_str_eq(jar_get(&j, "h", "/docs/x", 0, NOW), "slash=3; docs=2; root=1; top=5");
	cr_assert_str_eq(jar_get(&j, "h", "/docsx", 0, NOW), "root=1; top=5");
	cr_assert_str_eq(jar_get(&j, "h", "/app", 0, NOW), "dflt=4; root=1; top=5");
	cr_assert_str_eq(jar_get(&j, "h", "/application", 0, NOW), "root=1; top=5");
	/* A Path not starting with '/' is the default path. */
	jar_set(&j, "rel=6; Path=x", "h", "/a/b", 0, NOW);
	cr_assert_str_eq(jar_get(&j, "h", "/a/c", 0, NOW), "rel=6; root=1; top=5");
	cookie_jar_clear(&j);
	cr_assert(cookie_jar_empty(&j));
	cr_assert_str_eq(jar_get(&j, "h", "/", 0, NOW), "");
}

Test(http1, cookie_domains)
{
	cookie_jar j = { 0 };

	jar_set(&j, "host=1", "www.example.com", "/", 0, NOW); /* host-only */
	jar_set(&j, "dom=2; Domain=.Example.COM", "www.example.com", "/", 0, NOW);
	cr_assert_eq(cookie_jar_set(&j, "other=3; Domain=example.org", 26, "www.example.com", 15,
				    "/", 1, 0, NOW),
		     0);
	cr_assert_eq(
		cookie_jar_set(&j, "tld=4; Domain=com", 17, "www.example.com", 15, "/", 1, 0, NOW),
		0);
	cr_assert_str_eq(jar_get(&j, "www.example.com", "/", 0, NOW), "host=1; dom=2");
	cr_assert_str_eq(jar_get(&j, "WWW.Example.com", "/", 0, NOW), "host=1; dom=2");
	cr_assert_str_eq(jar_get(&j, "api.example.com", "/", 0, NOW), "dom=2");
	cr_assert_str_eq(jar_get(&j, "example.com", "/", 0, NOW), "dom=2");
	cr_assert_str_eq(jar_get(&j, "badexample.com", "/", 0, NOW), "");
	/* IP addresses match only themselves. */
	jar_set(&j, "ip=5; Domain=0.0.1", "127.0.0.1", "/", 0, NOW);
	jar_set(&j, "ip=6; Domain=127.0.0.1", "127.0.0.1", "/", 0, NOW);
	cr_assert_str_eq(jar_get(&j, "127.0.0.1", "/", 0, NOW), "ip=6");
	cookie_jar_clear(&j);
}

Test(http1, cookie_deletion_and_expiry)
{
	cookie_jar j = { 0 };

	jar_set(&j, "a=1", "h", "/", 0, NOW);
	jar_set(&j, "b=2; Max-Age=60", "h", "/", 0, NOW);
	jar_set(&j, "c=3; Expires=Wed, 09 Jun 2100 10:18:14 GMT", "h", "/", 0, NOW);
	jar_set(&j, "d=4; Expires=Wed, 09 Jun 2100 10:18:14 GMT; Max-Age=10", "h", "/", 0, NOW);
	cr_assert_str_eq(jar_get(&j, "h", "/", 0, NOW), "a=1; b=2; c=3; d=4");
	/* Max-Age wins over Expires; time passes. */
	cr_assert_str_eq(jar_get(&j, "h", "/", 0, NOW + 30), "a=1; b=2; c=3");
	cr_assert_str_eq(jar_get(&j, "h", "/", 0, NOW + 61), "a=1; c=3");
	/* Replacing keeps the place; deleting needs name, domain and path. */
	jar_set(&j, "a=one", "h", "/", 0, NOW);
	cr_assert_str_eq(jar_get(&j, "h", "/", 0, NOW), "a=one; b=2; c=3; d=4");
	jar_set(&j, "a=; Max-Age=0; Path=/other", "h", "/", 0, NOW);
	cr_assert_str_eq(jar_get(&j, "h", "/", 0, NOW), "a=one; b=2; c=3; d=4");
	jar_set(&j, "a=; Max-Age=0", "h", "/", 0, NOW);
	jar_set(&j, "b=; Max-Age=-1", "h", "/", 0, NOW);
	jar_set(&j, "c=; Expires=Thu, 01-Jan-1970 00:00:01 GMT", "h", "/", 0, NOW);
	cr_assert_str_eq(jar_get(&j, "h", "/", 0, NOW), "d=4");
	/* Bad attributes are ignored, not the cookie. */
	jar_set(&j, "e=5; Max-Age=abc; Expires=not a date", "h", "/", 0, NOW);
	cr_assert_str_eq(jar_get(&j, "h", "/", 0, NOW + 1000000000), "e=5");
	cookie_jar_clear(&j);
}

Test(http1, cookie_secure_malformed_and_bounds)
{
	cookie_jar j = { 0 };
	char big[COOKIE_MAX_SIZE + 16];

	/* Secure: set only over https, sent only over https. */
	jar_set(&j, "s=1; Secure", "h", "/", 0, NOW);
	cr_assert(cookie_jar_empty(&j));
	jar_set(&j, "s=1; Secure; HttpOnly; SameSite=Lax", "h", "/", 1, NOW);
	cr_assert_str_eq(jar_get(&j, "h", "/", 1, NOW), "s=1");
	cr_assert_str_eq(jar_get(&j, "h", "/", 0, NOW), "");
	/* No '=', an empty name, control characters: ignored. */
	jar_set(&j, "novalue", "h", "/", 0, NOW);
	jar_set(&j, "=x", "h", "/", 0, NOW);
	jar_set(&j, "c=a\x01b", "h", "/", 0, NOW);
	jar_set(&j, " q = \"quoted v\" ; Path=/", "h", "/", 0, NOW);
	jar_set(&j, "eq=a=b", "h", "/", 0, NOW);
	cr_assert_str_eq(jar_get(&j, "h", "/", 1, NOW), "s=1; q=\"quoted v\"; eq=a=b");
	/* Too large: ignored. */
	memset(big, 'v', sizeof(big));
	memcpy(big, "big=", 4);
	cr_assert_eq(cookie_jar_set(&j, big, sizeof(big), "h", 1, "/", 1, 0, NOW), 0);
	/* At most COOKIE_MAX: the oldest goes. */
	for (int i = 0; i < COOKIE_MAX + 10; i++) {
		char c[32];
		snprintf(c, sizeof(c), "n%d=%d", i, i);
		jar_set(&j, c, "h", "/", 0, NOW);
	}
	cr_assert_eq(j.n, COOKIE_MAX);
	cr_assert(strstr(jar_get(&j, "h", "/", 0, NOW), "n73=73"));
	cr_assert_null(strstr(jar_get(&j, "h", "/", 0, NOW), "s=1"));
	cookie_jar_clear(&j);
}

Test(http1, cookie_dates)
{
	int64_t t;

	cr_assert_eq(cookie_parse_date("Wed, 09 Jun 2021 10:18:14 GMT", 29, &t), 0);
	cr_assert_eq(t, 1623233894);
	cr_assert_eq(cookie_parse_date("Wednesday, 09-Jun-21 10:18:14 GMT", 33, &t), 0);
	cr_assert_eq(t, 1623233894);
	cr_assert_eq(cookie_parse_date("Wed Jun  9 10:18:14 2021", 24, &t), 0);
	cr_assert_eq(t, 1623233894);
	cr_assert_eq(cookie_parse_date("Thu, 01 Jan 1970 00:00:00 GMT", 29, &t), 0);
	cr_assert_eq(t, 0);
	cr_assert_eq(cookie_parse_date("Sat, 29 Feb 2020 23:59:59 GMT", 29, &t), 0);
	cr_assert_eq(t, 1583020799);
	cr_assert_eq(cookie_parse_date("not a date", 10, &t), -1);
	cr_assert_eq(cookie_parse_date("Wed, 32 Jun 2021 10:18:14 GMT", 29, &t), -1);
	cr_assert_eq(cookie_parse_date("Wed, 09 Jun 2021 25:18:14 GMT", 29, &t), -1);
	cr_assert_eq(cookie_parse_date("Wed, 09 Jun 1500 10:18:14 GMT", 29, &t), -1);
}
