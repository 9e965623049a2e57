/*
 * fuzz_http1.c - the native HTTP client's pure pieces on any input: the
 * response parser (runner/http1.c), URL splitting and redirect resolution,
 * and the cookie jar (runner/cookie.c).
 *
 * The first input byte picks the options (HEAD request, discard, the size
 * of the reads the response is cut into); the rest is a response. Checks,
 * besides ASan's and UBSan's: the bytes cut any way parse exactly as they
 * do whole (status, framing, body, header lines, error), the head stays
 * within HTTP1_MAX_HEAD, header lines are "Name:value" with a token name,
 * and the body kept is the body counted. The same goes for the response
 * cut as TLS hands it over (runner/tls.c): a read per record, records of
 * any size up to 16 KiB, so every record boundary a server may choose
 * meets the parser somewhere. Then the same response with a
 * body limit (from the input's length): it either parses as without one,
 * or fails with HTTP1_EBODYSIZE where the body went over, never keeping
 * (or allocating) more than the limit; and with a sink, which must see
 * every body byte (and may stop the parse: HTTP1_EABORTED). The same bytes
 * then go through the URL helpers and the cookie jar, which must hold
 * their bounds.
 *
 * Seeds: tests/fuzz/seeds/http1; dictionary: tests/fuzz/http.dict. Built
 * and run alone with
 *   make -f tests/fuzz/fuzz.mk srcdir=... builddir=... FUZZ_TARGETS=http1 run
 */
#include "runner/cookie.h"
#include "runner/http1.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	http1_parser p;
	http1_buf head, body;
	int rc, done;
	size_t used;
	/* the sink's view */
	uint64_t sunk, stop_at;
	uint32_t sum;
};

/* How a run treats the body: as the option byte says, with a limit, or
 * through a sink that stops after stop_at bytes (0: never). */
struct mode {
	uint64_t max_body;
	int sink;
	uint64_t stop_at;
};

static int sink(void *arg, const char *d, size_t n)
{
	struct run *r = arg;

	if (n == 0)
		abort(); /* the parser passes no empty piece */
	for (size_t i = 0; i < n; i++)
		r->sum = r->sum * 31 + (unsigned char)d[i];
	r->sunk += n;
	return r->stop_at && r->sunk >= r->stop_at;
}

/* The size of the next record (1 to 16384 bytes; small ones often, as a
 * server's header record, and large ones) from an LCG state. */
static size_t next_record(uint32_t *seed)
{
	static const size_t caps[4] = { 5, 64, 1500, 16384 };

	*seed = *seed * 1103515245u + 12345u;
	return 1 + (size_t)((*seed >> 8) % caps[(*seed >> 29) & 3]);
}

/* Parses n bytes in reads of `step` bytes (0: whole), or of record sizes
 * from seed when it is not 0. */
static void run_parse(struct run *r, const char *d, size_t n, size_t step, int head_req,
		      int discard, int eof, const struct mode *m, uint32_t seed)
{
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	http1_parser_init(&r->p, head_req, discard, &r->head, &r->body);
	if (m) {
		r->p.max_body = m->max_body;
		if (m->sink) {
			r->p.sink = sink;
			r->p.sink_arg = r;
			r->stop_at = m->stop_at;
		}
	}
	while (off < n) {
		size_t want = seed ? next_record(&seed) : step;
		size_t k = want && n - off > want ? want : n - off;
		ssize_t u = http1_parse(&r->p, d + off, k);
		if (u < 0) {
			r->rc = (int)u;
			break;
		}
		if ((size_t)u > k)
			abort();
		r->used += (size_t)u;
		off += (size_t)u;
		if (http1_done(&r->p))
			break;
		if ((size_t)u != k)
			abort(); /* fewer bytes only once complete */
	}
	if (!r->rc && eof && !http1_done(&r->p))
		r->rc = http1_parse_eof(&r->p);
	r->done = http1_done(&r->p);
}

static void check_run(const struct run *r)
{
	if (r->head.len > HTTP1_MAX_HEAD)
		abort();
	if (!r->rc && r->done) {
		size_t off = 0;
		if (r->p.status < 100 || r->p.status > 999)
			abort();
		if (r->p.version != 10 && r->p.version != 11)
			abort();
		while (off < r->head.len) {
			const char *l = r->head.p + off, *c = strchr(l, ':');
			if (!c || c == l || (size_t)(c - r->head.p) >= r->head.len)
				abort();
			for (const char *q = l; q < c; q++)
				if (!isgraph((unsigned char)*q))
					abort();
			off += strlen(l) + 1;
		}
		if (off != r->head.len)
			abort();
	}
	if (!r->p.discard && r->body.len != r->p.body_bytes)
		abort();
	if (r->body.len && r->body.p[r->body.len] != 0)
		abort();
}

static void same(const struct run *a, const struct run *b)
{
	if (a->rc != b->rc || a->done != b->done)
		abort();
	if (a->rc)
		return;
	if (a->used != b->used || a->p.status != b->p.status ||
	    a->p.keep_alive != b->p.keep_alive || a->p.body_bytes != b->p.body_bytes ||
	    a->body.len != b->body.len ||
	    (a->body.len && memcmp(a->body.p, b->body.p, a->body.len) != 0))
		abort();
	if (a->done &&
	    (a->head.len != b->head.len || memcmp(a->head.p, b->head.p, a->head.len) != 0))
		abort();
}

static uint32_t sum_of(const char *d, size_t n)
{
	uint32_t h = 0;

	for (size_t i = 0; i < n; i++)
		h = h * 31 + (unsigned char)d[i];
	return h;
}

/* A run with a body limit, against the same bytes parsed without. */
static void check_limited(const struct run *lim, const struct run *free_, uint64_t max)
{
	if (lim->body.len > max || (lim->body.p && lim->body.cap > max + 1))
		abort();
	if (lim->rc == HTTP1_EBODYSIZE) {
		/* Only where the body went over the limit. */
		if (lim->p.discard || free_->p.body_bytes <= max)
			abort();
		return;
	}
	same(lim, free_);
}

/* A run through a sink, against the same bytes kept. */
static void check_sunk(const struct run *k, const struct run *kept)
{
	if (k->body.len)
		abort(); /* a sink keeps nothing */
	if (k->sunk != k->p.body_bytes)
		abort();
	if (k->rc == HTTP1_EABORTED) {
		if (!k->stop_at || k->sunk < k->stop_at)
			abort();
		return;
	}
	if (k->rc != kept->rc || k->done != kept->done)
		abort();
	if (!k->rc && !kept->p.discard &&
	    (k->sunk != kept->body.len || k->sum != sum_of(kept->body.p, kept->body.len)))
		abort();
}

static void free_run(struct run *r)
{
	free(r->head.p);
	free(r->body.p);
}

static void fuzz_urls_and_cookies(const char *d, size_t n)
{
	char *s = malloc(n + 1), *ref, buf[512];
	http1_url u;
	cookie_jar j = { 0 };
	long k;

	if (!s)
		return;
	memcpy(s, d, n);
	s[n] = 0;
	/* "base\nref": the parts before and after the first newline. */
	ref = strchr(s, '\n');
	if (ref)
		*ref++ = 0;
	if (http1_url_parse(s, &u) == 0) {
		if (u.host + u.host_len > s + n || u.path_len < 1 || u.pathonly_len > u.path_len ||
		    u.port < 1 || u.port > 65535)
			abort();
	}
	if (ref) {
		k = http1_url_resolve(buf, sizeof(buf), s, ref);
		if (k >= 0 && (size_t)k < sizeof(buf) && strlen(buf) != (size_t)k)
			abort();
		/* Every Set-Cookie line of ref, then a header for s. */
		for (char *line = ref; line && *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			cookie_jar_set(&j, line, strlen(line), "h.example.com", 13, "/a/b", 4,
				       line[0] & 1, 1700000000);
			line = nl ? nl + 1 : NULL;
		}
		if (j.n > COOKIE_MAX)
			abort();
		size_t need = cookie_jar_header(&j, buf, sizeof(buf), "h.example.com", 13, "/a/b/c",
						6, 1, 1700000001);
		if (need < sizeof(buf) && strlen(buf) != need)
			abort();
		cookie_jar_clear(&j);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, cut;
	const char *d = (const char *)data + 1;
	size_t n, step;
	int head_req, discard, eof;

	if (size < 1)
		return 0;
	n = size - 1;
	head_req = data[0] & 1;
	discard = (data[0] >> 1) & 1;
	eof = (data[0] >> 2) & 1;
	step = (size_t)(data[0] >> 3) + 1; /* 1..32 bytes a read */

	run_parse(&whole, d, n, 0, head_req, discard, eof, NULL, 0);
	check_run(&whole);
	run_parse(&cut, d, n, step, head_req, discard, eof, NULL, 0);
	check_run(&cut);
	same(&whole, &cut);
	/* Cut as TLS records come. */
	{
		struct run rec;
		run_parse(&rec, d, n, 0, head_req, discard, eof, NULL,
			  0x9e3779b9u ^ (uint32_t)n ^ data[0]);
		check_run(&rec);
		same(&whole, &rec);
		free_run(&rec);
	}

	/* A limit somewhere in the body's range, whole and cut. */
	{
		struct mode m = { .max_body = n % 97 };
		struct run lw, lc;
		run_parse(&lw, d, n, 0, head_req, discard, eof, &m, 0);
		run_parse(&lc, d, n, step, head_req, discard, eof, &m, 0);
		check_limited(&lw, &whole, m.max_body);
		check_limited(&lc, &whole, m.max_body);
		if (lw.rc != lc.rc)
			abort();
		free_run(&lw);
		free_run(&lc);
	}
	/* A sink, cut, to the end or stopping early. */
	{
		struct mode m = { .sink = 1, .max_body = 1, .stop_at = (n & 1) ? n % 61 : 0 };
		struct run k;
		run_parse(&k, d, n, step, head_req, discard, eof, &m, 0);
		check_sunk(&k, &whole);
		free_run(&k);
	}
	free_run(&whole);
	free_run(&cut);
	fuzz_urls_and_cookies(d, n);
	return 0;
}
