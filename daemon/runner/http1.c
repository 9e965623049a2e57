/*
 * http1.c - see http1.h.
 *
 * The response parser is a byte-level state machine fed whatever each
 * read() returned: a head may arrive one byte at a time, a chunk-size line
 * may be split anywhere. The head is gathered in the caller's buffer (bounded
 * by HTTP1_MAX_HEAD) and parsed once whole, then compacted in place into
 * "Name:value\0" lines that mite_http_header reads; the body goes to the
 * body buffer, or is only counted. Nothing else is buffered, so a parser
 * costs a few dozen bytes however the bytes are cut.
 */
#include "runner/http1.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
	S_HEAD = 0,
	S_BODY_LEN,
	S_BODY_EOF,
	S_CHUNK_SIZE,
	S_CHUNK_EXT,
	S_CHUNK_SIZE_LF,
	S_CHUNK_DATA,
	S_CHUNK_DATA_CR,
	S_CHUNK_DATA_LF,
	S_TRAILER,
	S_DONE,
};

/* A value this large is refused: sums with it cannot overflow. */
#define HTTP1_MAX_LENGTH (UINT64_C(1) << 60)

int http1_buf_reserve(http1_buf *b, size_t need)
{
	size_t n = b->cap ? b->cap : 64;
	char *p;

	if (need <= b->cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	p = realloc(b->p, n);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = n;
	return 0;
}

int http1_buf_reserve_max(http1_buf *b, size_t need, size_t max)
{
	size_t n = b->cap ? b->cap : 64;
	char *p;

	if (need <= b->cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (n > max)
		n = max > need ? max : need;
	p = realloc(b->p, n);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = n;
	return 0;
}

int http1_buf_set(http1_buf *b, const char *s, size_t n)
{
	if (http1_buf_reserve(b, n + 1) < 0)
		return -1;
	memcpy(b->p, s, n);
	b->p[n] = 0;
	b->len = n;
	return 0;
}

/* ---- response parser ----------------------------------------------------- */

void http1_parser_init(http1_parser *p, int head_request, int discard, http1_buf *head,
		       http1_buf *body)
{
	memset(p, 0, sizeof(*p));
	p->head_request = head_request;
	p->discard = discard;
	p->head = head;
	p->body = body;
	p->max_body = UINT64_MAX;
	head->len = 0;
	body->len = 0;
	if (body->p)
		body->p[0] = 0;
}

int http1_done(const http1_parser *p)
{
	return p->state == S_DONE;
}

/* RFC 9110 token characters (header names). */
static int tchar(unsigned char c)
{
	static const uint32_t bits[8] = {
		0x00000000, /* controls */
		0x03ff6cfa, /* ! # $ % & ' * + - . 0-9 */
		0xc7fffffe, /* A-Z ^ _ */
		0x57ffffff, /* ` a-z | ~ */
	};
	return (bits[c >> 5] >> (c & 31)) & 1;
}

/* Whether the comma-separated list v[0..n) holds token tok (any case). */
static int list_has(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0;

	while (i < n) {
		size_t s, e;
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return 1;
	}
	return 0;
}

/* The last token of the comma-separated list v[0..n) is tok. */
static int list_last_is(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), e = n, s;

	while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t' || v[e - 1] == ','))
		e--;
	s = e;
	while (s > 0 && v[s - 1] != ',' && v[s - 1] != ' ' && v[s - 1] != '\t')
		s--;
	return e - s == tl && strncasecmp(v + s, tok, tl) == 0;
}

/* Content-Length's value: digits, or a list of equal ones. */
static int parse_length(const char *v, size_t n, uint64_t *out)
{
	uint64_t val = 0, first = 0;
	int have = 0, digits = 0;

	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? v[i] : ',';
		if (c >= '0' && c <= '9') {
			if (val >= HTTP1_MAX_LENGTH / 10)
				return -1;
			val = val * 10 + (uint64_t)(c - '0');
			digits++;
		} else if (c == ',') {
			if (!digits || (have && val != first))
				return -1;
			first = val;
			have = 1;
			val = 0;
			digits = 0;
		} else if (c != ' ' && c != '\t') {
			return -1;
		} else if (digits && i + 1 < n && v[i + 1] >= '0' && v[i + 1] <= '9') {
			return -1; /* "1 2" */
		}
	}
	*out = first;
	return 0;
}

/* What a head's fields say of its body and its connection. */
struct head_facts {
	uint64_t clen;
	int te, chunked, have_len, conn_close, conn_ka;
};

/* The status line [r, eol): "HTTP/1.x NNN[ reason]". */
static int parse_status(http1_parser *p, const char *r, const char *eol)
{
	if (eol - r < 12 || memcmp(r, "HTTP/1.", 7) != 0 || (r[7] != '0' && r[7] != '1') ||
	    r[8] != ' ' || !isdigit((unsigned char)r[9]) || !isdigit((unsigned char)r[10]) ||
	    !isdigit((unsigned char)r[11]) || r[9] == '0')
		return HTTP1_EPARSE;
	if (eol - r > 12 && r[12] != ' ' && r[12] != '\r')
		return HTTP1_EPARSE;
	p->version = r[7] == '0' ? 10 : 11;
	p->status = (r[9] - '0') * 100 + (r[10] - '0') * 10 + (r[11] - '0');
	for (const char *c = r; c < eol; c++)
		if (*c == 0 || (*c == '\r' && c + 1 != eol))
			return HTTP1_EPARSE;
	return HTTP1_OK;
}

/* The value in [from, le) without its surrounding blanks: at *v, its
 * length returned. */
static size_t ows_trim(char *from, char *le, char **v)
{
	char *s, *e;

	for (s = from; s < le && (*s == ' ' || *s == '\t'); s++)
		;
	for (e = le; e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*v = s;
	return (size_t)(e - s);
}

/* Notes in f what field name (nl bytes) with value v (vl bytes) says of
 * the body and the connection. */
static int head_note(struct head_facts *f, const char *name, size_t nl, const char *v, size_t vl)
{
	if (nl == 14 && strncasecmp(name, "Content-Length", 14) == 0) {
		uint64_t n;
		if (parse_length(v, vl, &n) < 0 || (f->have_len && n != f->clen))
			return HTTP1_EPARSE;
		f->clen = n;
		f->have_len = 1;
	} else if (nl == 17 && strncasecmp(name, "Transfer-Encoding", 17) == 0) {
		/* Only the last coding of the last header counts. */
		f->te = 1;
		f->chunked = list_last_is(v, vl, "chunked");
	} else if (nl == 10 && strncasecmp(name, "Connection", 10) == 0) {
		f->conn_close |= list_has(v, vl, "close");
		f->conn_ka |= list_has(v, vl, "keep-alive");
	}
	return HTTP1_OK;
}

/* One field line [r, le) (no CR LF), checked, noted in f and compacted at
 * w as "Name:value\0", never longer than the line was; an obs-fold line
 * (after_line: a field line came before) goes on with the previous value.
 * Where the compacted lines end now, or NULL when the line is bad. */
static char *head_line(char *r, char *le, char *w, int after_line, struct head_facts *f)
{
	char *colon, *v;
	size_t nl, vl;

	for (char *c = r; c < le; c++)
		if (*c == 0 || *c == '\r')
			return NULL;
	if (*r == ' ' || *r == '\t') {
		/* obs-fold: the previous value goes on, after one space. */
		if (!after_line)
			return NULL;
		vl = ows_trim(r, le, &v);
		w[-1] = ' ';
		memmove(w, v, vl);
		w += vl;
		*w++ = 0;
		return w;
	}
	colon = memchr(r, ':', (size_t)(le - r));
	if (!colon || colon == r)
		return NULL;
	for (char *c = r; c < colon; c++)
		if (!tchar((unsigned char)*c))
			return NULL;
	nl = (size_t)(colon - r);
	vl = ows_trim(colon + 1, le, &v);
	if (head_note(f, r, nl, v, vl) < 0)
		return NULL;
	memmove(w, r, nl + 1);
	w += nl + 1;
	memmove(w, v, vl);
	w += vl;
	*w++ = 0;
	return w;
}

/* The parser's state after a whole head that said f. */
static void body_state(http1_parser *p, const struct head_facts *f)
{
	if (p->status < 200 && p->status != 101) {
		/* 1xx: an interim response; the real one follows. */
		p->head->len = 0;
		p->state = S_HEAD;
		p->scan = 0;
		return;
	}
	if (p->head_request || p->status == 204 || p->status == 304 || p->status == 101) {
		if (p->status == 101)
			p->keep_alive = 0; /* the connection now speaks something else */
		p->state = S_DONE;
	} else if (f->te) {
		/* A body the close ends, unless chunked (Content-Length is then
		 * ignored, as RFC 9112 says). */
		if (f->chunked) {
			p->state = S_CHUNK_SIZE;
		} else {
			p->state = S_BODY_EOF;
			p->keep_alive = 0;
		}
	} else if (f->have_len) {
		p->remaining = f->clen;
		p->state = f->clen ? S_BODY_LEN : S_DONE;
	} else {
		p->state = S_BODY_EOF;
		p->keep_alive = 0;
	}
}

/* Parses the whole head in p->head (len bytes, ending with an empty line),
 * compacting it in place into "Name:value\0" lines. Sets the body state. */
static int parse_head(http1_parser *p)
{
	char *b = p->head->p, *end = b + p->head->len, *r = b, *w = b, *eol, *le;
	struct head_facts f = { 0 };
	int lines = 0;

	eol = memchr(r, '\n', (size_t)(end - r));
	if (!eol || parse_status(p, r, eol) < 0)
		return HTTP1_EPARSE;
	for (r = eol + 1;; r = eol + 1) {
		eol = memchr(r, '\n', (size_t)(end - r));
		if (!eol)
			return HTTP1_EPARSE;
		le = eol > r && eol[-1] == '\r' ? eol - 1 : eol;
		if (le == r)
			break; /* the empty line */
		if (!(w = head_line(r, le, w, lines++ > 0, &f)))
			return HTTP1_EPARSE;
	}
	p->head->len = (size_t)(w - b);
	p->keep_alive = p->version == 11 ? !f.conn_close : f.conn_ka && !f.conn_close;
	body_state(p, &f);
	return HTTP1_OK;
}

static int body_put(http1_parser *p, const char *data, size_t n)
{
	http1_buf *b = p->body;

	p->body_bytes += n;
	if (n == 0)
		return HTTP1_OK;
	if (p->sink)
		return p->sink(p->sink_arg, data, n) ? HTTP1_EABORTED : HTTP1_OK;
	if (p->discard)
		return HTTP1_OK;
	/* Refused before it is kept: the buffer never holds more than the
	 * limit (and its NUL). */
	if (n > p->max_body || b->len > p->max_body - n)
		return HTTP1_EBODYSIZE;
	if (http1_buf_reserve_max(b, b->len + n + 1,
				  p->max_body < SIZE_MAX ? (size_t)p->max_body + 1 : SIZE_MAX) < 0)
		return HTTP1_ENOMEM;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;
	return HTTP1_OK;
}

/* Gathers head bytes until the empty line that ends the head; returns the
 * bytes consumed or an error. */
static ssize_t head_bytes(http1_parser *p, const char *data, size_t len)
{
	size_t i = 0, take;
	int st = (int)p->scan, found = 0;

	/* st: 0 inside a line, 1 just after a LF, 2 after LF CR. */
	while (i < len) {
		if (st == 0) {
			const char *q = memchr(data + i, '\n', len - i);
			if (!q) {
				i = len;
				break;
			}
			i = (size_t)(q - data) + 1;
			st = 1;
			continue;
		}
		if (data[i] == '\n') {
			i++;
			found = 1;
			break;
		}
		st = data[i] == '\r' && st == 1 ? 2 : 0;
		i++;
	}
	take = i;
	/* A reply that does not start as a status line is refused at once,
	 * as libcurl refuses HTTP/0.9, rather than read until the close. */
	for (size_t k = p->head->len; k < 5 && k - p->head->len < take; k++)
		if (data[k - p->head->len] != "HTTP/"[k])
			return HTTP1_EHTTP09;
	if (p->head->len + take > HTTP1_MAX_HEAD)
		return HTTP1_EHEADSIZE;
	if (http1_buf_reserve(p->head, p->head->len + take + 1) < 0)
		return HTTP1_ENOMEM;
	memcpy(p->head->p + p->head->len, data, take);
	p->head->len += take;
	p->head_bytes += take;
	p->scan = (size_t)st;
	if (found) {
		size_t raw = p->head->len;
		int rc = parse_head(p);
		if (rc < 0)
			return rc;
		/* Trailers share the head's budget. */
		if (p->state != S_HEAD)
			p->trailer = raw;
	}
	return (ssize_t)take;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Body bytes the head announced (Content-Length, or a chunk's size): up to
 * p->remaining of data's len; then state next. The bytes taken, or an
 * error. */
static ssize_t counted_body(http1_parser *p, const char *data, size_t len, int next)
{
	size_t n = len < p->remaining ? len : (size_t)p->remaining;
	int rc;

	if ((rc = body_put(p, data, n)) < 0)
		return rc;
	p->remaining -= n;
	if (!p->remaining)
		p->state = next;
	return (ssize_t)n;
}

/* The end of a chunk's size line: its data, or the trailer after the last
 * chunk. */
static void size_line_done(http1_parser *p)
{
	p->digits = 0;
	if (p->remaining == 0) {
		p->state = S_TRAILER;
		p->trailer_line = 0;
	} else {
		p->state = S_CHUNK_DATA;
	}
}

/* One byte c of a chunk's size line (its size, extensions, CR LF). */
static int size_line_byte(http1_parser *p, char c)
{
	if (p->state == S_CHUNK_EXT) {
		if (c == '\n')
			size_line_done(p);
		else if (++p->ext > HTTP1_MAX_CHUNK_EXT)
			return HTTP1_EPARSE;
		return HTTP1_OK;
	}
	if (p->state == S_CHUNK_SIZE_LF) {
		if (c != '\n')
			return HTTP1_EPARSE;
		size_line_done(p);
		return HTTP1_OK;
	}
	if (hexval(c) >= 0) {
		if (++p->digits > 15)
			return HTTP1_EPARSE;
		p->remaining = p->remaining * 16 + (uint64_t)hexval(c);
	} else if (!p->digits) {
		return HTTP1_EPARSE;
	} else if (c == ';' || c == ' ' || c == '\t') {
		p->state = S_CHUNK_EXT;
		p->ext = 0;
	} else if (c == '\r') {
		p->state = S_CHUNK_SIZE_LF;
	} else if (c == '\n') {
		size_line_done(p);
	} else {
		return HTTP1_EPARSE;
	}
	return HTTP1_OK;
}

/* One byte c of a trailer: counted (against the head's budget), not
 * kept. */
static int trailer_byte(http1_parser *p, char c)
{
	p->head_bytes++;
	if (++p->trailer > HTTP1_MAX_HEAD)
		return HTTP1_EHEADSIZE;
	if (c == '\n') {
		if (p->trailer_line == 0)
			p->state = S_DONE;
		p->trailer_line = 0;
	} else if (c != '\r') {
		p->trailer_line++;
	}
	return HTTP1_OK;
}

/* One byte c in a state that takes a byte at a time: 1 (taken), or an
 * error. */
static ssize_t byte_step(http1_parser *p, char c)
{
	int rc;

	switch (p->state) {
	case S_CHUNK_SIZE:
	case S_CHUNK_EXT:
	case S_CHUNK_SIZE_LF:
		rc = size_line_byte(p, c);
		break;
	case S_CHUNK_DATA_CR:
		rc = HTTP1_OK;
		if (c == '\r')
			p->state = S_CHUNK_DATA_LF;
		else if (c == '\n')
			p->state = S_CHUNK_SIZE;
		else
			rc = HTTP1_EPARSE;
		break;
	case S_CHUNK_DATA_LF:
		if (c != '\n')
			return HTTP1_EPARSE;
		p->state = S_CHUNK_SIZE;
		rc = HTTP1_OK;
		break;
	case S_TRAILER:
		rc = trailer_byte(p, c);
		break;
	default:
		return HTTP1_EPARSE;
	}
	return rc < 0 ? rc : 1;
}

ssize_t http1_parse(http1_parser *p, const char *data, size_t len)
{
	size_t i = 0;

	while (i < len && p->state != S_DONE) {
		ssize_t k;
		int rc;

		switch (p->state) {
		case S_HEAD:
			k = head_bytes(p, data + i, len - i);
			break;
		case S_BODY_LEN:
			k = counted_body(p, data + i, len - i, S_DONE);
			break;
		case S_CHUNK_DATA:
			k = counted_body(p, data + i, len - i, S_CHUNK_DATA_CR);
			break;
		case S_BODY_EOF:
			rc = body_put(p, data + i, len - i);
			k = rc < 0 ? rc : (ssize_t)(len - i);
			break;
		default:
			k = byte_step(p, data[i]);
			break;
		}
		if (k < 0)
			return k;
		i += (size_t)k;
	}
	p->received += i;
	return (ssize_t)i;
}

int http1_parse_eof(http1_parser *p)
{
	if (p->state == S_DONE)
		return HTTP1_OK;
	if (p->state == S_BODY_EOF) {
		p->state = S_DONE;
		return HTTP1_OK;
	}
	return p->received == 0 ? HTTP1_ENOTHING : HTTP1_EPARTIAL;
}
