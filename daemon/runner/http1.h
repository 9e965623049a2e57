/*
 * http1.h - HTTP/1.1 protocol pieces of the native client (http_native*.c):
 * growable buffers and an incremental response parser; URL splitting and
 * redirect targets are in runner/http1_url.h, included here.
 *
 * Pure code: no I/O, no libuv, no allocation except the growable buffers
 * the caller hands over, each bounded (HTTP1_MAX_HEAD for a response head).
 * So it can be fuzzed alone (tests/fuzz/fuzz_http1.c).
 */
#ifndef MITE_RUNNER_HTTP1_H
#define MITE_RUNNER_HTTP1_H

#include "runner/http1_url.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The most bytes a response head (status line and header lines) and a
 * chunked body's trailers may have together; more fails the response with
 * HTTP1_EHEADSIZE. (The HTTP engine holds libcurl to the same.) */
#define HTTP1_MAX_HEAD (64 * 1024)
/* The most bytes a chunk-size line's extensions may have. */
#define HTTP1_MAX_CHUNK_EXT 4096

/* A growable byte buffer. The parser appends to it; its owner frees p. */
typedef struct http1_buf {
	char *p;
	size_t len, cap;
} http1_buf;

/* Makes room for need bytes in total. 0 or -ENOMEM. */
int http1_buf_reserve(http1_buf *b, size_t need);
/* The same, but the capacity grows (by doubling) to at most max bytes, or
 * to need when need is more: a buffer with a cap never holds twice it. */
int http1_buf_reserve_max(http1_buf *b, size_t need, size_t max);
/* Sets b to the n bytes of s and a NUL after them. 0 or -1 (ENOMEM). */
int http1_buf_set(http1_buf *b, const char *s, size_t n);

/* ---- response parser ----------------------------------------------------- */

enum {
	HTTP1_OK = 0,
	HTTP1_EPARSE = -1, /* not an HTTP/1.x response, or a malformed one */
	HTTP1_EHEADSIZE = -2, /* the head (or trailers) exceeded HTTP1_MAX_HEAD */
	HTTP1_ENOMEM = -3, /* a buffer could not grow */
	HTTP1_EPARTIAL = -4, /* the connection ended before the body did */
	HTTP1_ENOTHING = -5, /* the connection ended before any byte came */
	HTTP1_EBODYSIZE = -6, /* the body kept would exceed max_body */
	HTTP1_EHTTP09 = -7, /* the reply does not start with "HTTP/" (no status
			       * line: HTTP/0.9, or not HTTP at all) */
	HTTP1_EABORTED = -8, /* the body sink asked to stop */
};

typedef struct http1_parser {
	/* in: set before the first byte (http1_parser_init) */
	int head_request; /* the request was HEAD: no body follows */
	int discard; /* count body bytes, keep none */
	http1_buf *head; /* receives the header lines, "Name: value\0" each */
	http1_buf *body; /* receives the body, NUL-terminated (unless discard) */
	uint64_t max_body; /* the most body bytes kept (UINT64_MAX after init) */
	/* When set, body bytes go to sink(sink_arg, data, len) instead of the
	 * body buffer (max_body does not apply); nonzero stops the parse
	 * with HTTP1_EABORTED. */
	int (*sink)(void *arg, const char *data, size_t len);
	void *sink_arg;

	/* out */
	int status; /* e.g. 200, once the head is parsed */
	int version; /* 10 or 11 */
	int keep_alive; /* the connection may carry another request after this */
	uint64_t head_bytes; /* bytes of heads (1xx ones too) and trailers */
	uint64_t body_bytes; /* body bytes (after de-chunking) */
	uint64_t received; /* every byte consumed */

	/* private */
	int state;
	size_t scan; /* where to resume looking for the head's end */
	uint64_t remaining; /* body bytes (or chunk bytes) still to come */
	size_t ext; /* chunk extension bytes seen */
	size_t trailer; /* head and trailer bytes seen (the head's limit) */
	int digits; /* chunk-size digits seen */
	int trailer_line; /* bytes in the current trailer line */
} http1_parser;

/* Prepares p for a response. head and body are reset (len 0) but keep
 * their memory; max_body is UINT64_MAX and sink NULL (set them after). */
void http1_parser_init(http1_parser *p, int head_request, int discard, http1_buf *head,
		       http1_buf *body);
/* Consumes up to len bytes. Returns the bytes consumed (fewer than len only
 * once the response is complete: the rest belongs to no response), or an
 * HTTP1_E* code (the connection must then be closed). */
ssize_t http1_parse(http1_parser *p, const char *data, size_t len);
/* Whether the response is complete. */
int http1_done(const http1_parser *p);
/* Whether any byte of the response arrived. */
static inline int http1_started(const http1_parser *p)
{
	return p->received > 0;
}
/* The connection ended (EOF). Returns HTTP1_OK when that completes the
 * response (a body delimited by the close), else HTTP1_ENOTHING or
 * HTTP1_EPARTIAL. */
int http1_parse_eof(http1_parser *p);

#endif
