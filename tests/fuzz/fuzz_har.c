/*
 * fuzz_har.c - `mitectl har convert` on any file: har_parse, then the plan
 * with two sets of options, then the journey and the scenario written to
 * memory; and the C string escaping on the raw input.
 *
 * Checks the promises: a refused file earns a one-line reason starting
 * "f.har: "; a C literal made of any bytes reads back as those bytes (a
 * small reader of C literals below), holds only printable ASCII, and no
 * "??" (a trigraph); a comment holds no comment end or start, no "??" and
 * no control byte; the generated journey holds no line that is not
 * printable text.
 */
#include "config.h"

#include "fuzz.h"
#include "har/har.h"
#include "har/har_cstr.h"
#include "har/har_emit.h"
#include "har/har_plan.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static int odigit(char c)
{
	return c >= '0' && c <= '7';
}

/* Reads the literal (pieces separated by "\n" and indent) back into out;
 * returns its length, or aborts when it is not one. */
static size_t read_literal(const char *s, size_t len, unsigned char *out)
{
	size_t n = 0, i = 0;

	while (i < len) {
		if (s[i++] != '"')
			abort();
		while (i < len && s[i] != '"') {
			char c = s[i++];
			if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e)
				abort();
			if (c != '\\') {
				out[n++] = (unsigned char)c;
				continue;
			}
			c = s[i++];
			if (odigit(c) && odigit(s[i]) && odigit(s[i + 1])) {
				out[n++] = (unsigned char)((c - '0') * 64 + (s[i] - '0') * 8 +
							   (s[i + 1] - '0'));
				i += 2;
			} else if (c == 'n' || c == 'r' || c == 't') {
				out[n++] = c == 'n' ? '\n' : c == 'r' ? '\r' : '\t';
			} else if (c == '"' || c == '\\' || c == '?') {
				out[n++] = (unsigned char)c;
			} else {
				abort(); /* an escape the writer never makes */
			}
		}
		if (i++ >= len)
			abort(); /* unterminated */
		while (i < len && (s[i] == '\n' || s[i] == '\t'))
			i++;
	}
	return n;
}

static void check_literal(const uint8_t *data, size_t size, size_t wrap)
{
	char *out = NULL;
	size_t len = 0;
	unsigned char *back = malloc(size + 1);
	FILE *f = open_memstream(&out, &len);

	if (!f || !back || har_cstr_write(f, data, size, wrap, "\t") != 0)
		abort();
	fclose(f);
	if (memmem(out, len, "??", 2))
		abort();
	if (read_literal(out, len, back) != size || memcmp(back, data, size) != 0)
		abort();
	free(out);
	free(back);
}

static void check_comment(const uint8_t *data, size_t size)
{
	char *in = strndup((const char *)data, size), *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!in || !f)
		abort();
	har_cstr_comment(f, in, 200);
	fclose(f);
	if (memmem(out, len, "*/", 2) || memmem(out, len, "/*", 2) || memmem(out, len, "??", 2))
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)out[i] < 0x20)
			abort();
	free(in);
	free(out);
}

/* Every line of the journey is printable: text from the file is escaped. */
static void check_source(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			abort();
	}
}

static void convert(const har *h, const har_opts *o)
{
	har_emit_info in = { .har_name = "f.har",
			     .c_name = "f.c",
			     .build = "cc f.c",
			     .run = "run",
			     .function = "journey",
			     .base_url = "http://127.0.0.1:1",
			     .name = "f",
			     .module = "f.so:journey" };
	char err[512], *out = NULL;
	size_t len = 0;
	har_plan p;
	FILE *f;

	if (har_plan_make(&p, h, o, "f.har", NULL, err, sizeof(err)) != 0) {
		fuzz_check_error("har_plan_make", err, "", 0);
		return;
	}
	if (!(f = open_memstream(&out, &len)))
		abort();
	if (p.nsteps &&
	    (har_emit_journey(f, h, &p, &in) != 0 || har_emit_scenario(f, &p, &in) != 0))
		abort();
	fclose(f);
	check_source(out, len);
	free(out);
	har_plan_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const all[] = { "*" }, *types[] = { "text/*" }, *hdrs[] = { "x-*" };
	har_opts plain = { .gap = HAR_GAP_DEFAULT };
	har_opts wide = { .gap = 0,
			  .keep_hosts = all,
			  .nkeep_hosts = 1,
			  .drop_types = types,
			  .ndrop_types = 1,
			  .drop_headers = hdrs,
			  .ndrop_headers = 1,
			  .drop_static = 1 };
	char err[1024] = "";
	har h;

	check_literal(data, size, 0);
	check_literal(data, size, 1 + size % 9);
	check_comment(data, size);
	if (har_parse(&h, "f.har", (const char *)data, size, err, sizeof(err)) != 0) {
		fuzz_check_error("har_parse", err, data, size);
		if (strncmp(err, "f.har: ", 7) != 0) {
			fprintf(stderr, "fuzz: har error without the file name: %s\n", err);
			abort();
		}
		return 0;
	}
	convert(&h, &plain);
	convert(&h, &wide);
	har_free(&h);
	return 0;
}
