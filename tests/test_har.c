/* test_har.c - `mitectl har convert`'s pieces: C string escaping (checked
 * by compiling what it writes), URLs, base64, the refusal of bad HAR
 * files field by field, and the plan (filters, redirect chains,
 * transactions, think times, headers). */
#include "har/har.h"
#include "har/har_body.h"
#include "har/har_cstr.h"
#include "har/har_emit.h"
#include "har/har_plan.h"
#include "har/har_url.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- C string literals ------------------------------------------------- */

/* What har_cstr_write makes of len bytes of s (the caller frees). */
static char *lit(const void *s, size_t len, size_t wrap)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	cr_assert_not_null(f);
	cr_assert_eq(har_cstr_write(f, s, len, wrap, "\t"), 0);
	fclose(f);
	return out;
}

#define LIT_EQ(bytes, want)                                    \
	do {                                                   \
		char *got_ = lit(bytes, sizeof(bytes) - 1, 0); \
		cr_expect_str_eq(got_, want);                  \
		free(got_);                                    \
	} while (0)

Test(cstr, escapes)
{
	LIT_EQ("plain text", "\"plain text\"");
	LIT_EQ("a\"b\\c", "\"a\\\"b\\\\c\"");
	LIT_EQ("l1\nl2\r\tx", "\"l1\\nl2\\r\\tx\"");
	LIT_EQ("", "\"\"");
	/* A hex escape would swallow the digits after it; three-digit octal
	 * never does. */
	LIT_EQ("\0"
	       "1",
	       "\"\\0001\"");
	LIT_EQ("\xff"
	       "ab",
	       "\"\\377ab\"");
	LIT_EQ("\x7f\x01", "\"\\177\\001\"");
	LIT_EQ("caf\xc3\xa9", "\"caf\\303\\251\"");
}

Test(cstr, no_trigraph_forms)
{
	LIT_EQ("a?"
	       "?=b",
	       "\"a?\\?=b\"");
	LIT_EQ("?"
	       "?"
	       "?/",
	       "\"?\\?\\?/\"");
	LIT_EQ("?x?", "\"?x?\"");
	/* After an escaped '?', the next one is escaped too: "\??" would hold
	 * a trigraph. */
	LIT_EQ("????", "\"?\\?\\?\\?\"");
}

Test(cstr, wraps_between_escapes_and_after_newlines)
{
	char *s = lit("abc\ndef\"ghi", 11, 5);

	/* Pieces of at most 5 source characters, a new one after \n; the
	 * escape \" stays whole. */
	cr_expect_str_eq(s, "\"abc\\n\"\n\t\"def\\\"\"\n\t\"ghi\"");
	free(s);
	s = lit("??????", 6, 3);
	/* No piece ends in a '?' that the next piece's '?' would pair with. */
	cr_expect_str_eq(s, "\"?\\?\"\n\t\"?\\?\"\n\t\"?\\?\"");
	free(s);
}

/* Compiles a program that writes the literal's bytes and checks they come
 * back, with trigraphs on (ISO C11) and warnings as errors. */
static void round_trip(const unsigned char *bytes, size_t len, size_t wrap)
{
	char dir[] = "/tmp/test-har-XXXXXX", path[128], cmd[512], *out = NULL;
	FILE *f;
	size_t n;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.c", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("#include <stdio.h>\nstatic const char s[] =\n\t", f);
	har_cstr_write(f, bytes, len, wrap, "\t");
	fputs(";\nint main(void)\n{\n\tfwrite(s, 1, sizeof(s) - 1, stdout);\n\treturn 0;\n}\n", f);
	fclose(f);
	snprintf(
		cmd, sizeof(cmd),
		"cd %s && cc -std=c11 -Wall -Wextra -Wtrigraphs -Werror t.c -o t 2>cc.err && ./t > out",
		dir);
	cr_assert_eq(system(cmd), 0, "the literal did not compile (%s/cc.err)", dir);
	snprintf(path, sizeof(path), "%s/out", dir);
	f = fopen(path, "rb");
	cr_assert_not_null(f);
	out = malloc(len + 16);
	n = fread(out, 1, len + 16, f);
	fclose(f);
	cr_expect_eq(n, len, "%zu bytes came back, %zu went in", n, len);
	cr_expect(memcmp(out, bytes, len) == 0, "the bytes differ");
	free(out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(cstr, every_byte_round_trips_through_the_compiler)
{
	/* Every trigraph, also after an escaped '?' and at a wrap. */
	static const char tri[] = "?"
				  "?=?"
				  "?/?"
				  "?'?"
				  "?(?"
				  "?)?"
				  "?!?"
				  "?<?"
				  "?>?"
				  "?-?"
				  "?"
				  "?=";
	unsigned char b[256 * 3 + sizeof(tri) - 1];
	unsigned seed = 12345;

	for (int i = 0; i < 256; i++)
		b[i] = (unsigned char)i;
	memcpy(b + 256, tri, sizeof(tri) - 1);
	/* Then digits and '?' after every kind of escape, and noise. */
	for (int i = 256 + (int)sizeof(tri) - 1; i < (int)sizeof(b); i++) {
		static const char pick[] = "?"
					   "?=/'()!<>-0123456789abcdefABCDEF\\\"\n\0";
		seed = seed * 1103515245u + 12345u;
		b[i] = (seed >> 16) % 3 ? (unsigned char)pick[(seed >> 8) % (sizeof(pick) - 1)]
					: (unsigned char)(seed >> 8);
	}
	round_trip(b, sizeof(b), 0);
	round_trip(b, sizeof(b), 7);
}

Test(cstr, bytes_array)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	har_cstr_bytes(f, "\x00\x89?", 3, "  ");
	fclose(f);
	cr_expect_str_eq(out, "{\n  0x00, 0x89, 0x3f,\n");
	free(out);
}

static char *comment(const char *s, size_t max)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	har_cstr_comment(f, s, max);
	fclose(f);
	return out;
}

Test(cstr, comments_cannot_end_early)
{
	char *c = comment("a*/b/*c?"
			  "?=d\ne\xff"
			  "f caf\xc3\xa9",
			  100);

	cr_expect_str_eq(c, "a* /b/ *c? ?=d e?f caf\xc3\xa9");
	free(c);
	c = comment("abcdef", 3);
	cr_expect_str_eq(c, "abc...");
	free(c);
	/* A multi-byte character is never cut. */
	c = comment("ab\xc3\xa9", 3);
	cr_expect_str_eq(c, "ab...");
	free(c);
}

Test(cstr, config_strings)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	har_cstr_config(f, "a\"b\\c\nd");
	fclose(f);
	cr_expect_str_eq(out, "\"a\\\"b\\\\c\\x0ad\"");
	free(out);
}

Test(cstr, utf8)
{
	cr_expect_eq(har_cstr_utf8_seq((const unsigned char *)"\xc3\xa9", 2), 2);
	cr_expect_eq(har_cstr_utf8_seq((const unsigned char *)"\xe2\x98\x95", 3), 3);
	cr_expect_eq(har_cstr_utf8_seq((const unsigned char *)"\xe2\x98", 2), 0); /* cut */
	cr_expect_eq(har_cstr_utf8_seq((const unsigned char *)"\xc0\x80", 2), 0); /* overlong */
	cr_expect_eq(har_cstr_utf8_seq((const unsigned char *)"\xed\xa0\x80", 3),
		     0); /* surrogate */
	cr_expect_eq(har_cstr_utf8_seq((const unsigned char *)"\xf4\x90\x80\x80", 4),
		     0); /* > U+10FFFF */
	cr_expect(har_cstr_is_text("a\tb\r\n\xc3\xa9", 7));
	cr_expect(!har_cstr_is_text("a\0b", 3));
	cr_expect(!har_cstr_is_text("a\x7f", 2));
	cr_expect(!har_cstr_is_text("\xff", 1));
}

/* ---- URLs and bodies ----------------------------------------------------- */

static void split_ok(const char *url, const char *origin, const char *host, const char *target)
{
	char *o, *h, *t;
	const char *why = NULL;

	cr_assert_eq(har_url_split(url, &o, &h, &t, &why), 0, "%s: %s", url, why);
	cr_expect_str_eq(o, origin);
	cr_expect_str_eq(h, host);
	cr_expect_str_eq(t, target);
	free(o);
	free(h);
	free(t);
}

static void split_bad(const char *url, const char *reason)
{
	char *o, *h, *t;
	const char *why = NULL;

	cr_expect_eq(har_url_split(url, &o, &h, &t, &why), -EINVAL, "%s", url);
	cr_expect_str_eq(why, reason, "%s", url);
}

Test(url, split)
{
	split_ok("HTTP://Shop.Test:80/a/b?c=1#frag", "http://shop.test", "shop.test", "/a/b?c=1");
	split_ok("https://h:443", "https://h", "h", "/");
	split_ok("https://h:8443?q", "https://h:8443", "h", "/?q");
	split_ok("http://[::1]:8080/x", "http://[::1]:8080", "[::1]", "/x");
	split_ok("http://h/caf\xc3\xa9 x?q=\"<>\"", "http://h", "h",
		 "/caf%C3%A9%20x?q=%22%3C%3E%22");
	split_bad("ftp://h/", "not an http:// or https:// URL");
	split_bad("http:h", "no \"//\" after the scheme");
	split_bad("http:///x", "no host");
	split_bad("http://u:p@h/", "user info in the URL is not supported");
	split_bad("http://h:99999/", "a bad port");
	split_bad("http://h:/", "a bad port");
	split_bad("http://caf\xc3\xa9.test/", "the host is not ASCII (record its punycode name)");
}

static void resolve(const char *loc, const char *want)
{
	char *r = har_url_resolve("http://h:8080", "/a/b?q", loc);

	if (!want) {
		cr_expect_null(r, "%s", loc);
	} else {
		cr_assert_not_null(r, "%s", loc);
		cr_expect_str_eq(r, want);
	}
	free(r);
}

Test(url, resolve)
{
	resolve("/x", "http://h:8080/x");
	resolve("c", "http://h:8080/a/c");
	resolve("?z", "http://h:8080/a/b?z");
	resolve("//other/p", "http://other/p");
	resolve("HTTPS://Other:443/p#f", "https://other/p");
	resolve("", NULL);
	resolve("ftp://x/", NULL);
}

Test(body, base64)
{
	unsigned char *b;
	size_t n;

	cr_assert_eq(har_body_base64("AAE/+w==", &b, &n, 100), 0);
	cr_expect_eq(n, 4);
	cr_expect(memcmp(b, "\x00\x01\x3f\xfb", 4) == 0);
	free(b);
	cr_assert_eq(har_body_base64("aGk", &b, &n, 100), 0); /* padding optional */
	cr_expect_eq(n, 2);
	free(b);
	cr_assert_eq(har_body_base64("aG\nk=", &b, &n, 100), 0);
	free(b);
	cr_expect_eq(har_body_base64("a", &b, &n, 100), -EINVAL);
	cr_expect_eq(har_body_base64("aGk==", &b, &n, 100), -EINVAL);
	cr_expect_eq(har_body_base64("aG=k", &b, &n, 100), -EINVAL);
	cr_expect_eq(har_body_base64("aGk*", &b, &n, 100), -EINVAL);
	cr_expect_eq(har_body_base64("AAAAAAAA", &b, &n, 5), -E2BIG);
}

Test(body, form)
{
	char *b = NULL;
	size_t n = 0;

	cr_assert_eq(har_body_form_add(&b, &n, "a b", "x&y=z", 100), 0);
	cr_assert_eq(har_body_form_add(&b, &n, "w", "zo\xc3\xab*~", 100), 0);
	cr_expect_str_eq(b, "a+b=x%26y%3Dz&w=zo%C3%AB*%7E");
	cr_expect_eq(har_body_form_add(&b, &n, "k", "0123456789", 10), -E2BIG);
	free(b);
}

/* ---- bad HAR files ----------------------------------------------------------- */

/* har_parse of text must fail with exactly "t.har: " + want. */
static void refused(const char *text, const char *want)
{
	char err[512] = "", full[600];
	har h;

	snprintf(full, sizeof(full), "t.har: %s", want);
	cr_expect_lt(har_parse(&h, "t.har", text, strlen(text), err, sizeof(err)), 0, "%s", text);
	cr_expect_str_eq(err, full);
	cr_expect_eq(h.nentries, 0);
}

#define D "\"startedDateTime\":\"2024-06-01T10:00:00.5+02:00\",\"time\":10"
#define RQ "\"request\":{\"method\":\"GET\",\"url\":\"http://h/\"}"
#define RS "\"response\":{\"status\":200}"
#define ENTRY(...) "{\"log\":{\"entries\":[{" __VA_ARGS__ "}]}}"

Test(bad_har, the_file)
{
	refused("{\"log\": {", "line 1: not valid JSON");
	refused("{\n\"log\":\n[1,]}", "line 3: not valid JSON");
	refused("{\"log\":{\"entries\":[]}} x", "line 1: more after the JSON value");
	refused("[]", "not a HAR file: the top level is not a JSON object");
	refused("{}", "log: missing (not a HAR file)");
	refused("{\"log\":[]}", "(top).log: not an object");
	refused("{\"log\":{}}", "log.entries: missing");
	refused("{\"log\":{\"entries\":{}}}", "log.entries: not an array");
	refused("{\"log\":{\"entries\":[1]}}", "log.entries[0]: not an object");
	refused("{\"log\":{\"creator\":7,\"entries\":[]}}", "log.creator: not an object");
}

Test(bad_har, nul_bytes)
{
	char raw[] = "{\"log\":\0}";

	cr_expect_lt(har_parse(&(har){ 0 }, "t.har", raw, sizeof(raw) - 1, (char[128]){ 0 }, 128),
		     0);
	refused(ENTRY(D ",\"request\":{\"method\":\"GET\",\"url\":\"http://h/\\u0000x\"}," RS),
		"log.entries[0].request.url: holds a NUL byte (\\u0000)");
	refused("{\"log\":{\"x\":\"\xff\\u0000\",\"entries\":[]}}",
		"line 1: a \\u0000 escape in a file that is not UTF-8 (mitectl cannot carry the NUL "
		"byte through)");
}

Test(bad_har, entries)
{
	refused(ENTRY(RQ "," RS), "log.entries[0].startedDateTime: missing");
	refused(ENTRY("\"startedDateTime\":5"), "log.entries[0].startedDateTime: not a string");
	refused(ENTRY("\"startedDateTime\":\"2024-13-01T00:00:00Z\""),
		"log.entries[0].startedDateTime: \"2024-13-01T00:00:00Z\" is not an ISO 8601 date and time");
	refused(ENTRY("\"startedDateTime\":\"2024-06-01T10:00:00+2\""),
		"log.entries[0].startedDateTime: \"2024-06-01T10:00:00+2\" is not an ISO 8601 date and time");
	refused(ENTRY("\"startedDateTime\":\"2024-06-01T10:00:00Z\"," RQ),
		"log.entries[0].time: missing");
	refused(ENTRY("\"startedDateTime\":\"2024-06-01T10:00:00Z\",\"time\":\"1\""),
		"log.entries[0].time: not a number");
	refused(ENTRY(D "," RS), "log.entries[0].request: missing");
	refused(ENTRY(D ",\"request\":[]"), "log.entries[0].request: not an object");
	refused(ENTRY(D "," RQ), "log.entries[0].response: missing");
	refused(ENTRY(D "," RQ ",\"response\":{}"), "log.entries[0].response.status: missing");
	refused(ENTRY(D "," RQ ",\"response\":{\"status\":\"200\"}"),
		"log.entries[0].response.status: not a number");
	refused(ENTRY(D "," RQ ",\"response\":{\"status\":200.5}"),
		"log.entries[0].response.status: 200.5 is not an HTTP status");
	refused(ENTRY(D "," RQ ",\"response\":{\"status\":1000}"),
		"log.entries[0].response.status: 1000 is not an HTTP status");
	refused(ENTRY(D "," RQ
			",\"response\":{\"status\":302,\"headers\":[{\"name\":\"Location\"}]}"),
		"log.entries[0].response.headers[0].value: missing");
	refused(ENTRY(D "," RQ ",\"response\":{\"status\":200,\"content\":{\"mimeType\":1}}"),
		"log.entries[0].response.content.mimeType: not a string");
}

Test(bad_har, requests)
{
	refused(ENTRY(D ",\"request\":{\"url\":\"http://h/\"}," RS),
		"log.entries[0].request.method: missing");
	refused(ENTRY(D ",\"request\":{\"method\":\"G T\",\"url\":\"http://h/\"}," RS),
		"log.entries[0].request.method: \"G T\" is not an HTTP method");
	refused(ENTRY(D ",\"request\":{\"method\":\"GET\"}," RS),
		"log.entries[0].request.url: missing");
	refused(ENTRY(D ",\"request\":{\"method\":\"GET\",\"url\":7}," RS),
		"log.entries[0].request.url: not a string");
	refused(ENTRY(D ",\"request\":{\"method\":\"GET\",\"url\":\"/relative\"}," RS),
		"log.entries[0].request.url: not an absolute URL: \"/relative\"");
	refused(ENTRY(D ",\"request\":{\"method\":\"GET\",\"url\":\"http://u@h/\"}," RS),
		"log.entries[0].request.url: user info in the URL is not supported: \"http://u@h/\"");
	refused(ENTRY(D
		      ",\"request\":{\"method\":\"GET\",\"url\":\"http://h/\",\"headers\":{}}," RS),
		"log.entries[0].request.headers: not an array");
	refused(ENTRY(D
		      ",\"request\":{\"method\":\"GET\",\"url\":\"http://h/\",\"headers\":[{\"value\":\"x\"}]}," RS),
		"log.entries[0].request.headers[0].name: missing");
	refused(ENTRY(D
		      ",\"request\":{\"method\":\"GET\",\"url\":\"http://h/\",\"headers\":[{\"name\":\"a\",\"value\":1}]}," RS),
		"log.entries[0].request.headers[0].value: not a string");
	refused(ENTRY(D
		      ",\"request\":{\"method\":\"POST\",\"url\":\"http://h/\",\"postData\":\"x\"}," RS),
		"log.entries[0].request.postData: not an object");
	refused(ENTRY(D
		      ",\"request\":{\"method\":\"POST\",\"url\":\"http://h/\",\"postData\":{\"text\":\"@\",\"encoding\":\"base64\"}}," RS),
		"log.entries[0].request.postData.text: not valid base64");
	refused(ENTRY(D
		      ",\"request\":{\"method\":\"POST\",\"url\":\"http://h/\",\"postData\":{\"text\":\"x\",\"encoding\":\"gzip\"}}," RS),
		"log.entries[0].request.postData.encoding: \"gzip\" is not \"base64\"");
	refused(ENTRY(D
		      ",\"request\":{\"method\":\"POST\",\"url\":\"http://h/\",\"postData\":{\"mimeType\":\"multipart/form-data\",\"params\":[{\"name\":\"a\"}]}}," RS),
		"log.entries[0].request.postData: a multipart body without its text is not supported");
	refused(ENTRY(D
		      ",\"request\":{\"method\":\"POST\",\"url\":\"http://h/\",\"postData\":{\"params\":[7]}}," RS),
		"log.entries[0].request.postData.params[0]: not an object");
	refused(ENTRY(D
		      ",\"request\":{\"method\":\"POST\",\"url\":\"http://h/\",\"postData\":{\"params\":[{\"value\":\"v\"}]}}," RS),
		"log.entries[0].request.postData.params[0].name: missing");
}

/* A JSON document with a string of n bytes where @ stands. */
static char *with_long(const char *tmpl, size_t n)
{
	const char *at = strchr(tmpl, '@');
	char *s = malloc(strlen(tmpl) + n);

	memcpy(s, tmpl, (size_t)(at - tmpl));
	memset(s + (at - tmpl), 'a', n);
	strcpy(s + (at - tmpl) + n, at + 1);
	return s;
}

Test(bad_har, limits)
{
	char *s;

	s = with_long(ENTRY(D ",\"request\":{\"method\":\"GET\",\"url\":\"http://h/@\"}," RS),
		      HAR_MAX_URL);
	refused(s, "log.entries[0].request.url: 16393 bytes, over the limit of 16384");
	free(s);
	s = with_long(ENTRY(D ",\"request\":{\"method\":\"@\",\"url\":\"http://h/\"}," RS),
		      HAR_MAX_METHOD + 1);
	refused(s, "log.entries[0].request.method: 33 bytes, over the limit of 32");
	free(s);
	s = with_long(
		ENTRY(D
		      ",\"request\":{\"method\":\"GET\",\"url\":\"http://h/\",\"headers\":[{\"name\":\"n\",\"value\":\"@\"}]}," RS),
		HAR_MAX_HEADER_VALUE + 1);
	refused(s, "log.entries[0].request.headers[0].value: 16385 bytes, over the limit of 16384");
	free(s);
	s = with_long(
		ENTRY(D
		      ",\"request\":{\"method\":\"POST\",\"url\":\"http://h/\",\"postData\":{\"text\":\"@\"}}," RS),
		HAR_MAX_BODY + 1);
	refused(s, "log.entries[0].request.postData: the body is over the limit of 1048576 bytes");
	free(s);
	s = with_long("{\"log\":{\"pages\":[{\"id\":\"@\"}],\"entries\":[]}}", HAR_MAX_STR + 1);
	refused(s, "log.pages[0].id: 4097 bytes, over the limit of 4096");
	free(s);
	/* Too many entries: counted before anything is read. */
	{
		size_t n = HAR_MAX_ENTRIES + 1, len = 0;
		char *big = malloc(32 + 3 * n);
		len += (size_t)sprintf(big, "{\"log\":{\"entries\":[");
		for (size_t i = 0; i < n; i++)
			len += (size_t)sprintf(big + len, "%s{}", i ? "," : "");
		strcpy(big + len, "]}}");
		refused(big, "log.entries: 100001 items, over the limit of 100000");
		free(big);
	}
}

Test(bad_har, pages)
{
	refused("{\"log\":{\"pages\":{},\"entries\":[]}}", "log.pages: not an array");
	refused("{\"log\":{\"pages\":[{}],\"entries\":[]}}", "log.pages[0].id: missing");
	refused("{\"log\":{\"pages\":[{\"id\":\"p\"},{\"id\":\"p\"}],\"entries\":[]}}",
		"log.pages[1].id: \"p\" is the id of log.pages[0] too");
	refused("{\"log\":{\"pages\":[{\"id\":\"p\"}],\"entries\":[{" D ",\"pageref\":\"q\"}]}}",
		"log.entries[0].pageref: no page \"q\" in log.pages");
}

Test(har, reads_an_entry)
{
	static const char text[] =
		"\xef\xbb\xbf{\"log\":{\"creator\":{\"name\":\"Chrome\",\"version\":\"126\"},\"entries\":["
		"{\"startedDateTime\":\"2024-06-01T10:00:01Z\",\"time\":-1,"
		" \"request\":{\"method\":\"POST\",\"url\":\"https://H.test/p?q#f\","
		"  \"headers\":[{\"name\":\"A\",\"value\":\"1\"}],"
		"  \"postData\":{\"mimeType\":\"text/plain\",\"text\":\"x\\u0000y\"}},"
		" \"response\":{\"status\":302,\"redirectURL\":\"\","
		"  \"headers\":[{\"name\":\"location\",\"value\":\"/n\"}],\"content\":{\"mimeType\":\"text/html\"}}},"
		"{\"startedDateTime\":\"2024-06-01T12:00:00.250+02:00\",\"time\":20,\"_fromCache\":\"disk\","
		" \"request\":{\"method\":\"GET\",\"url\":\"data:,x\"},\"response\":{\"status\":200}}]}}";
	char err[256];
	har h;

	cr_assert_eq(har_parse(&h, "t.har", text, sizeof(text) - 1, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(h.nentries, 2);
	cr_expect_str_eq(h.creator, "Chrome 126");
	/* Sorted by start: the second entry started 0.75 s earlier. */
	cr_expect_eq(h.entries[0].index, 1);
	cr_expect_eq(h.entries[0].kind, HAR_OTHER);
	cr_expect(h.entries[0].from_cache);
	cr_expect_float_eq(h.entries[1].start - h.entries[0].start, 0.75, 1e-6);
	const har_entry *e = &h.entries[1];
	cr_expect_eq(e->kind, HAR_HTTP);
	cr_expect_str_eq(e->origin, "https://h.test");
	cr_expect_str_eq(e->target, "/p?q");
	cr_expect_str_eq(e->location, "https://h.test/n");
	cr_expect_eq(e->time, 0);
	cr_expect_eq(e->body_len, 3);
	cr_expect(memcmp(e->body, "x\0y", 3) == 0);
	cr_expect_str_eq(e->body_type, "text/plain");
	cr_expect_str_eq(e->resp_type, "text/html");
	cr_expect_eq(e->nheaders, 1);
	har_free(&h);
}

/* ---- the plan ---------------------------------------------------------------- */

/* A HAR from entries written as "T DUR METHOD URL STATUS [LOCATION] [TYPE]"
 * lines; "@" before T puts the entry on page "p<T's integer part / 10>". */
static void make_har(har *h, const char *const *lines, size_t n, int pages)
{
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fputs("{\"log\":{", f);
	if (pages)
		fputs("\"pages\":[{\"id\":\"p0\",\"title\":\"Home\"},{\"id\":\"p1\",\"title\":\"Home\"},"
		      "{\"id\":\"p2\",\"title\":\"\"}],",
		      f);
	fputs("\"entries\":[", f);
	for (size_t i = 0; i < n; i++) {
		double t, dur;
		char method[16], url[256], loc[256] = "", type[64] = "text/html";
		int st;

		cr_assert_geq(sscanf(lines[i], "%lf %lf %15s %255s %d %255s %63s", &t, &dur, method,
				     url, &st, loc, type),
			      5);
		if (strcmp(loc, "-") == 0)
			loc[0] = 0;
		fprintf(f, "%s{\"startedDateTime\":\"2024-06-01T00:00:%06.3fZ\",\"time\":%g,",
			i ? "," : "", t, dur * 1000);
		if (pages)
			fprintf(f, "\"pageref\":\"p%d\",", (int)t / 10);
		fprintf(f,
			"\"request\":{\"method\":\"%s\",\"url\":\"%s\",\"headers\":["
			"{\"name\":\"User-Agent\",\"value\":\"UA\"},{\"name\":\"Cookie\",\"value\":\"c=1\"},"
			"{\"name\":\":authority\",\"value\":\"h\"},{\"name\":\"X-N\",\"value\":\"%zu\"}]},"
			"\"response\":{\"status\":%d,\"redirectURL\":\"%s\",\"content\":{\"mimeType\":\"%s\"}}}",
			method, url, i, st, loc, type);
	}
	fputs("]}}", f);
	fclose(f);
	cr_assert_eq(har_parse(h, "t.har", buf, len, err, sizeof(err)), 0, "%s", err);
	free(buf);
}

static void plan(har_plan *p, const har *h, const har_opts *o)
{
	char err[256];
	har_opts def = { .gap = HAR_GAP_DEFAULT };

	cr_assert_eq(har_plan_make(p, h, o ? o : &def, "t.har", NULL, err, sizeof(err)), 0, "%s",
		     err);
}

Test(plan, transactions_by_gap_and_think_times)
{
	static const char *const l[] = {
		"0 0.1 GET http://h/ 200",     "0.05 0.5 GET http://h/a.css 200 - text/css",
		"1.5 0.1 GET http://h/b 200", /* 0.95 s after /a.css ended: same */
		"4.0 0.1 POST http://h/c 201", /* 2.4 s: a new transaction */
		"9.0 0.1 GET http://h/c 200",
	};
	har h;
	har_plan p;

	make_har(&h, l, 5, 0);
	plan(&p, &h, NULL);
	cr_assert_eq(p.nsteps, 5);
	cr_assert_eq(p.ntxns, 3);
	cr_expect_str_eq(p.txns[0].name, "GET /");
	cr_expect_eq(p.txns[0].n, 3);
	cr_expect_eq(p.txns[0].think, 0);
	cr_expect_str_eq(p.txns[1].name, "POST /c");
	cr_expect_float_eq(p.txns[1].think, 2.4, 1e-9);
	cr_expect_str_eq(p.txns[2].name, "GET /c");
	cr_expect_float_eq(p.txns[2].think, 4.9, 1e-9);
	cr_expect_str_eq(p.base_origin, "http://h");
	/* User-Agent is everywhere: a session default; no cookie, no pseudo-header. */
	cr_assert_eq(p.ncommon, 1);
	cr_expect_str_eq(p.common[0]->name, "User-Agent");
	cr_assert_eq(p.steps[0].nheaders, 1);
	cr_expect_str_eq(p.steps[0].headers[0]->name, "X-N");
	har_plan_free(&p);
	har_free(&h);
}

Test(plan, pages_and_unique_names)
{
	static const char *const l[] = {
		"0 0.1 GET http://h/ 200",
		"1 0.1 GET http://h/x 200",
		"10 0.1 GET http://h/y 200",
		"15 0.1 GET http://h/z 200", /* same page, after 4.9 s: split */
		"20 0.1 GET http://h/w 200", /* a page without a title: its id */
	};
	har h;
	har_plan p;

	make_har(&h, l, 5, 1);
	plan(&p, &h, NULL);
	cr_assert_eq(p.ntxns, 4);
	cr_expect_str_eq(p.txns[0].name, "Home");
	cr_expect_eq(p.txns[0].n, 2);
	cr_expect_str_eq(p.txns[1].name, "Home (2)");
	cr_expect_str_eq(p.txns[2].name, "Home (3)");
	cr_expect_str_eq(p.txns[3].name, "p2");
	har_plan_free(&p);
	har_free(&h);
}

Test(plan, redirect_chains)
{
	static const char *const l[] = {
		"0 0.1 POST http://h/login 302 /home",
		"0.1 0.1 GET http://h/home 301 http://h/home/",
		"0.2 0.1 GET http://h/home/ 304",
		"1 0.1 GET http://h/gone 302 https://sso.other/", /* the hop goes to a dropped host */
		"1.1 0.1 GET https://sso.other/ 200",
		"3 0.1 GET http://h/late 302 /x", /* its hop came 3.9 s later */
		"7 0.1 GET http://h/x 200",
	};
	har h;
	har_plan p;

	make_har(&h, l, 7, 0);
	plan(&p, &h, NULL);
	cr_assert_eq(p.nsteps, 4);
	cr_expect_eq(p.steps[0].hops, 2);
	cr_expect(p.steps[0].follow);
	cr_expect_eq(p.steps[0].expect, 200);
	cr_expect(p.steps[0].was_304);
	cr_expect_eq(p.followed, 2);
	cr_expect_str_eq(p.steps[1].e->target, "/gone");
	cr_expect(!p.steps[1].follow);
	cr_expect_eq(p.steps[1].expect, 302);
	cr_expect_eq(p.dropped[HAR_DROP_HOST], 1);
	cr_expect_str_eq(p.other_hosts, "sso.other");
	cr_expect(!p.steps[2].follow);
	cr_expect_str_eq(p.steps[3].e->target, "/x");
	har_plan_free(&p);
	har_free(&h);
}

Test(plan, filters)
{
	static const char *const l[] = {
		"0 0.1 GET http://h/ 200",
		"0.1 0.1 GET http://h/app.js 200 - application/javascript",
		"0.2 0.1 GET http://h/logo 200 - image/png",
		"0.3 0.1 GET http://h/data 200 - application/json",
		"0.4 0.1 GET http://cdn.a/x 200",
		"0.5 0.1 GET http://cdn.b/x 200",
		"0.6 0.1 GET ws://h/ws 101",
		"0.7 0.1 GET http://h/blocked 0",
		"0.8 0.1 GET blob:http://h/1 200",
	};
	const char *keep[] = { "cdn.a" }, *types[] = { "application/json" };
	har_opts o = { .gap = 2,
		       .keep_hosts = keep,
		       .nkeep_hosts = 1,
		       .drop_types = types,
		       .ndrop_types = 1,
		       .drop_static = 1 };
	har h;
	har_plan p;

	make_har(&h, l, 9, 0);
	plan(&p, &h, &o);
	cr_expect_eq(p.nsteps, 2); /* / and cdn.a */
	cr_expect(!p.steps[1].relative);
	cr_expect_eq(p.dropped[HAR_DROP_STATIC], 2);
	cr_expect_eq(p.dropped[HAR_DROP_TYPE], 1);
	cr_expect_eq(p.dropped[HAR_DROP_HOST], 1);
	cr_expect_eq(p.dropped[HAR_DROP_WEBSOCKET], 1);
	cr_expect_eq(p.dropped[HAR_DROP_NORESPONSE], 1);
	cr_expect_eq(p.dropped[HAR_DROP_SCHEME], 1);
	har_plan_free(&p);
	har_free(&h);
}

Test(plan, base_host_and_headers_that_cannot_go)
{
	static const char text[] = ENTRY(
		D
		",\"request\":{\"method\":\"GET\",\"url\":\"http://h/\",\"headers\":["
		"{\"name\":\"Bad Name\",\"value\":\"1\"},{\"name\":\"X-Split\",\"value\":\"a\\r\\nInjected: 1\"},"
		"{\"name\":\"Host\",\"value\":\"h\"},{\"name\":\"X-Ok\",\"value\":\"\"}]},"
		"\"response\":{\"status\":200}");
	har_opts o = { .gap = 2, .base_host = "nowhere" };
	char err[256], *out = NULL;
	size_t n = 0;
	FILE *warn = open_memstream(&out, &n);
	har h;
	har_plan p;

	cr_assert_eq(har_parse(&h, "t.har", text, sizeof(text) - 1, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(har_plan_make(&p, &h, &o, "t.har", NULL, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "t.har: no request goes to host nowhere (--base-host)");
	o.base_host = NULL;
	cr_assert_eq(har_plan_make(&p, &h, &o, "t.har", warn, err, sizeof(err)), 0);
	fclose(warn);
	cr_expect_str_eq(
		out,
		"mitectl: warning: t.har: log.entries[0].request.headers[0].name: not a header name: not sent\n"
		"mitectl: warning: t.har: log.entries[0].request.headers[1].value: a control "
		"character (a line break?): not sent\n");
	cr_assert_eq(p.steps[0].nheaders, 1);
	cr_expect_str_eq(p.steps[0].headers[0]->name, "X-Ok");
	free(out);
	har_plan_free(&p);
	har_free(&h);
}

Test(emit, function_names)
{
	cr_expect(har_emit_valid_function("journey"));
	cr_expect(har_emit_valid_function("_shop2"));
	cr_expect(!har_emit_valid_function(""));
	cr_expect(!har_emit_valid_function("2x"));
	cr_expect(!har_emit_valid_function("a-b"));
	cr_expect(!har_emit_valid_function("int"));
	cr_expect(!har_emit_valid_function("think"));
	cr_expect(!har_emit_valid_function("mite_x"));
	cr_expect(!har_emit_valid_function("__x"));
	cr_expect(!har_emit_valid_function("_X"));
}
