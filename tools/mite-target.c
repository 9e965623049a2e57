/*
 * mite-target.c - mite-target, a small HTTP/1.1 demo and test target.
 *
 * One libuv loop, one thread, keep-alive, a hand-written request parser
 * with bounded buffers (8 KiB of request head, 1 MiB of body; more is
 * refused). It counts what it receives and sends so that tests can check
 * that mite reported exactly what the server saw (GET /stats).
 *
 * Not a web server to expose: it binds loopback by default and exists for
 * mite's demo and tests.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "ws_server.h"

#define MAX_HEAD 8192
#define MAX_BODY (1024 * 1024)
#define MAX_BYTES (64 * 1024 * 1024)
#define MAX_PATHS 512
#define MAX_DELAY_MS 600000
/* /stream: bytes per write, and how long a never-ending one goes on at
 * most (a client that stops reading it holds it that long at most). */
#define STREAM_PIECE (64 * 1024)
#define STREAM_MAX_MS 60000

typedef struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	char *buf;
	size_t len, cap;
	int busy; /* a delayed response is pending: parse nothing more */
	int closing;
	int close_after; /* close once the queued responses are written */
	int handles; /* handles still to close */
	int writes; /* writes in flight */
	/* the delayed response */
	int delay_close;
	int delay_head;
	size_t delay_consumed;
	/* a response written in pieces (/split), one per split_ms */
	char *split_buf;
	size_t split_len, split_off, split_piece;
	uint64_t split_ms;
	int split_close;
	/* /idle-close: close the connection this long after a response if no
	 * request came meanwhile */
	uint64_t idle_close_ms;
	/* /stream: the body still to write (UINT64_MAX: no end), one write
	 * in flight at a time, so that it goes at the client's pace */
	int streaming;
	int stream_chunked;
	uint64_t stream_left;
	uint64_t stream_start;
} conn;

typedef struct wreq {
	uv_write_t req;
	conn *c;
	int close_after;
	char data[];
} wreq;

struct counter {
	char *key;
	uint64_t n;
};

static struct {
	uv_loop_t *loop;
	uv_tcp_t server;
	uv_signal_t sigint, sigterm;
	struct counter paths[MAX_PATHS];
	size_t npaths;
	uint64_t other_paths;
	uint64_t status[600];
	uint64_t received;
	uint64_t conn_open, conn_total;
	FILE *request_log; /* --request-log: one JSON line per request, or NULL */
	ws_server *ws; /* --ws-port: the WebSocket test server, or NULL */
} T;

static void conn_maybe_parse(conn *c);
static void stream_next(conn *c);

/* ---- counting ------------------------------------------------------------ */

static void count_path(const char *path, size_t len)
{
	size_t i;

	for (i = 0; i < T.npaths; i++)
		if (strlen(T.paths[i].key) == len && memcmp(T.paths[i].key, path, len) == 0) {
			T.paths[i].n++;
			return;
		}
	if (T.npaths == MAX_PATHS) {
		T.other_paths++;
		return;
	}
	T.paths[T.npaths].key = strndup(path, len);
	if (!T.paths[T.npaths].key) {
		T.other_paths++;
		return;
	}
	T.paths[T.npaths++].n = 1;
}

static void stats_reset(void)
{
	for (size_t i = 0; i < T.npaths; i++)
		free(T.paths[i].key);
	T.npaths = 0;
	T.other_paths = 0;
	T.received = 0;
	memset(T.status, 0, sizeof(T.status));
	T.conn_total = 0; /* connections made from now on; open ones stay open */
	if (T.ws)
		ws_server_counts_reset(T.ws);
}

static char *stats_json(void)
{
	cJSON *o = cJSON_CreateObject(), *p, *s, *c;
	char k[16];
	char *out;

	p = cJSON_AddObjectToObject(o, "requests");
	for (size_t i = 0; i < T.npaths; i++)
		cJSON_AddNumberToObject(p, T.paths[i].key, (double)T.paths[i].n);
	if (T.other_paths)
		cJSON_AddNumberToObject(p, "(other)", (double)T.other_paths);
	s = cJSON_AddObjectToObject(o, "status");
	for (int i = 0; i < 600; i++)
		if (T.status[i]) {
			snprintf(k, sizeof(k), "%d", i);
			cJSON_AddNumberToObject(s, k, (double)T.status[i]);
		}
	cJSON_AddNumberToObject(o, "received", (double)T.received);
	c = cJSON_AddObjectToObject(o, "connections");
	cJSON_AddNumberToObject(c, "open", (double)T.conn_open);
	cJSON_AddNumberToObject(c, "total", (double)T.conn_total);
	if (T.ws) {
		ws_server_counts n;
		cJSON *w = cJSON_AddObjectToObject(o, "ws");

		ws_server_counts_get(T.ws, &n);
		cJSON_AddNumberToObject(w, "connections", (double)n.connections);
		cJSON_AddNumberToObject(w, "open", (double)n.open);
		cJSON_AddNumberToObject(w, "messages_in", (double)n.msgs_in);
		cJSON_AddNumberToObject(w, "bytes_in", (double)n.bytes_in);
		cJSON_AddNumberToObject(w, "messages_out", (double)n.msgs_out);
		cJSON_AddNumberToObject(w, "bytes_out", (double)n.bytes_out);
		cJSON_AddNumberToObject(w, "closes_in", (double)n.closes_in);
	}
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

/* ---- connections --------------------------------------------------------- */

static void conn_handle_closed(uv_handle_t *h)
{
	conn *c = h->data;

	if (--c->handles == 0) {
		free(c->buf);
		free(c->split_buf);
		free(c);
	}
}

static void conn_close(conn *c, int reset)
{
	if (c->closing)
		return;
	c->closing = 1;
	T.conn_open--;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
	if (reset)
		uv_tcp_close_reset(&c->tcp, conn_handle_closed);
	else
		uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
}

static void on_written(uv_write_t *req, int status)
{
	wreq *w = (wreq *)req;
	conn *c = w->c;

	c->writes--;
	if (!c->closing && (status < 0 || (w->close_after && c->writes == 0)))
		conn_close(c, 0);
	free(w);
	if (!c->closing && c->streaming && c->writes == 0)
		stream_next(c);
}

/* Queues one response. */
static void respond(conn *c, int status, const char *ctype, const char *extra_headers,
		    const char *body, size_t blen, int head_only, int close_after)
{
	static const char *reasons[600];
	char head[1024];
	int hl;
	wreq *w;
	uv_buf_t b;

	if (!reasons[200]) {
		reasons[100] = "Continue";
		reasons[200] = "OK";
		reasons[201] = "Created";
		reasons[204] = "No Content";
		reasons[301] = "Moved Permanently";
		reasons[302] = "Found";
		reasons[303] = "See Other";
		reasons[304] = "Not Modified";
		reasons[307] = "Temporary Redirect";
		reasons[308] = "Permanent Redirect";
		reasons[400] = "Bad Request";
		reasons[401] = "Unauthorized";
		reasons[403] = "Forbidden";
		reasons[404] = "Not Found";
		reasons[405] = "Method Not Allowed";
		reasons[411] = "Length Required";
		reasons[413] = "Content Too Large";
		reasons[431] = "Request Header Fields Too Large";
		reasons[500] = "Internal Server Error";
		reasons[501] = "Not Implemented";
		reasons[502] = "Bad Gateway";
		reasons[503] = "Service Unavailable";
		reasons[504] = "Gateway Timeout";
	}
	if (status == 204 || status == 304)
		blen = 0;
	if (status >= 0 && status < 600)
		T.status[status]++;
	hl = snprintf(head, sizeof(head),
		      "HTTP/1.1 %d %s\r\nServer: mite-target\r\nContent-Type: %s\r\n"
		      "Content-Length: %zu\r\n%s%s\r\n",
		      status, reasons[status] ? reasons[status] : "Status", ctype, blen,
		      extra_headers ? extra_headers : "",
		      close_after ? "Connection: close\r\n" : "");
	if (hl < 0 || (size_t)hl >= sizeof(head)) {
		conn_close(c, 0);
		return;
	}
	if (head_only)
		blen = 0;
	w = malloc(sizeof(*w) + (size_t)hl + blen);
	if (!w) {
		conn_close(c, 0);
		return;
	}
	memcpy(w->data, head, (size_t)hl);
	if (blen)
		memcpy(w->data + hl, body, blen);
	w->c = c;
	w->close_after = close_after;
	b = uv_buf_init(w->data, (unsigned)((size_t)hl + blen));
	c->writes++;
	if (close_after)
		c->close_after = 1;
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
		c->writes--;
		free(w);
		conn_close(c, 0);
	}
}

static void respond_text(conn *c, int status, const char *text, int head_only, int close_after)
{
	respond(c, status, "text/plain", NULL, text, strlen(text), head_only, close_after);
}

static void respond_json(conn *c, int status, cJSON *j, const char *extra, int head_only,
			 int close_after)
{
	char *s = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	if (!s) {
		respond_text(c, 500, "out of memory\n", head_only, 1);
		return;
	}
	respond(c, status, "application/json", extra, s, strlen(s), head_only, close_after);
	free(s);
}

/* Queues bytes as they are (a response made by hand). */
static void write_raw(conn *c, const char *data, size_t len, int close_after)
{
	wreq *w = malloc(sizeof(*w) + len);
	uv_buf_t b;

	if (!w) {
		conn_close(c, 0);
		return;
	}
	memcpy(w->data, data, len);
	w->c = c;
	w->close_after = close_after;
	b = uv_buf_init(w->data, (unsigned)len);
	c->writes++;
	if (close_after)
		c->close_after = 1;
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
		c->writes--;
		free(w);
		conn_close(c, 0);
	}
}

/* A growable string for responses made by hand. */
struct sbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void sb_add(struct sbuf *b, const char *data, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->err = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->err = 1;
		return;
	}
	sb_add(b, tmp, (size_t)n);
}

/* The value of key in a query "a=1&b=2" (not decoded), or NULL. */
static const char *query_get(const char *q, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);

	while (q && *q) {
		const char *amp = strchr(q, '&'), *e = amp ? amp : q + strlen(q);
		if ((size_t)(e - q) > kl && strncmp(q, key, kl) == 0 && q[kl] == '=') {
			size_t vl = (size_t)(e - q) - kl - 1;
			if (vl >= outlen)
				return NULL;
			memcpy(out, q + kl + 1, vl);
			out[vl] = 0;
			return out;
		}
		q = amp ? amp + 1 : NULL;
	}
	return NULL;
}

static long query_num(const char *q, const char *key, long def, long max);

/* ---- the request log (--request-log) ------------------------------------- */

/* One JSON line per request as it came: method, request target, header
 * lines, body in hex (it may hold any byte). Tests compare it with what a
 * journey was meant to send. */
static void log_request(const char *method, const char *target, size_t tlen, const char *head,
			size_t hlen, const char *body, size_t blen)
{
	static const char hex[] = "0123456789abcdef";
	cJSON *o = cJSON_CreateObject(), *hs = cJSON_AddArrayToObject(o, "headers");
	char *t = strndup(target, tlen), *b = malloc(2 * blen + 1), *s;

	for (const char *l = head, *e = head + hlen; l < e;) {
		const char *eol = memchr(l, '\r', (size_t)(e - l));
		char *line = strndup(l, eol ? (size_t)(eol - l) : (size_t)(e - l));
		if (line)
			cJSON_AddItemToArray(hs, cJSON_CreateString(line));
		free(line);
		l = eol ? eol + 2 : e;
	}
	for (size_t i = 0; b && i < blen; i++) {
		b[2 * i] = hex[(unsigned char)body[i] >> 4];
		b[2 * i + 1] = hex[(unsigned char)body[i] & 15];
	}
	if (b)
		b[2 * blen] = 0;
	cJSON_AddStringToObject(o, "method", method);
	cJSON_AddStringToObject(o, "target", t ? t : "");
	cJSON_AddStringToObject(o, "body", b ? b : "");
	if ((s = cJSON_PrintUnformatted(o))) {
		fprintf(T.request_log, "%s\n", s);
		fflush(T.request_log);
	}
	free(s);
	free(t);
	free(b);
	cJSON_Delete(o);
}

/* ---- request parsing ------------------------------------------------------ */

struct request {
	char method[17];
	char path[2049]; /* without the query */
	char query[2049];
	char raw_query[2049]; /* before percent-decoding */
	const char *body;
	size_t blen;
	const char *head_start; /* the header lines, for /echo */
	size_t head_len;
	const char *cookie; /* the Cookie header's value, or NULL */
	size_t cookie_len;
	int head; /* HEAD */
	int keep_alive;
};

/* Finds a cookie's value in "a=1; b=2". */
static int cookie_get(const struct request *rq, const char *name, char *out, size_t outlen)
{
	const char *p = rq->cookie, *end = rq->cookie ? rq->cookie + rq->cookie_len : NULL;
	size_t nl = strlen(name);

	while (p && p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *e = semi ? semi : end;
		while (p < e && *p == ' ')
			p++;
		if ((size_t)(e - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
			size_t vl = (size_t)(e - p - (ptrdiff_t)nl - 1);
			if (vl >= outlen)
				return 0;
			memcpy(out, p + nl + 1, vl);
			out[vl] = 0;
			return 1;
		}
		p = semi ? semi + 1 : NULL;
	}
	return 0;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The session token of a user: stateless, so nothing grows. */
static void session_token(const char *user, char *out, size_t outlen)
{
	char salted[300];
	snprintf(salted, sizeof(salted), "mite-target:%s", user);
	snprintf(out, outlen, "%s.%08" PRIx32, user, fnv1a(salted));
}

static int session_user(const struct request *rq, char *user, size_t ulen)
{
	char tok[300], want[300], *dot;

	if (!cookie_get(rq, "session", tok, sizeof(tok)))
		return 0;
	dot = strrchr(tok, '.');
	if (!dot || (size_t)(dot - tok) >= ulen)
		return 0;
	memcpy(user, tok, (size_t)(dot - tok));
	user[dot - tok] = 0;
	session_token(user, want, sizeof(want));
	return strcmp(tok, want) == 0;
}

static int url_decode(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char h[3] = { s[1], s[2], 0 };
			*o++ = (char)strtol(h, NULL, 16);
			s += 2;
		} else {
			*o++ = *s == '+' ? ' ' : *s;
		}
	}
	*o = 0;
	return 0;
}

static int parse_num(const char *s, long max, long *out)
{
	char *end;
	long v;

	if (!*s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || errno || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A number from the query, def when absent or bad, at most max. */
static long query_num(const char *q, const char *key, long def, long max)
{
	char v[32];
	long n;

	if (!query_get(q, key, v, sizeof(v)) || parse_num(v, max, &n) < 0)
		return def;
	return n;
}

static void on_delay(uv_timer_t *t)
{
	conn *c = t->data;

	respond_text(c, 200, "ok\n", c->delay_head, c->delay_close);
	c->busy = 0;
	memmove(c->buf, c->buf + c->delay_consumed, c->len - c->delay_consumed);
	c->len -= c->delay_consumed;
	if (!c->close_after)
		conn_maybe_parse(c);
}

static void on_split(uv_timer_t *t)
{
	conn *c = t->data;
	size_t n = c->split_len - c->split_off;

	int last;

	if (n > c->split_piece)
		n = c->split_piece;
	last = c->split_off + n == c->split_len;
	write_raw(c, c->split_buf + c->split_off, n, last && c->split_close);
	c->split_off += n;
	if (c->closing)
		return;
	if (!last) {
		uv_timer_start(&c->timer, on_split, c->split_ms, 0);
		return;
	}
	free(c->split_buf);
	c->split_buf = NULL;
	if (c->split_close)
		return; /* closed once written */
	c->busy = 0;
	memmove(c->buf, c->buf + c->delay_consumed, c->len - c->delay_consumed);
	c->len -= c->delay_consumed;
	conn_maybe_parse(c);
}

/* Writes /stream's next piece, or ends it. */
static void stream_next(conn *c)
{
	static char piece[STREAM_PIECE + 32];
	size_t n = c->stream_left < STREAM_PIECE ? (size_t)c->stream_left : STREAM_PIECE, off = 0;

	if (!piece[0])
		for (size_t i = 0; i < sizeof(piece); i++)
			piece[i] = (char)('a' + i % 26);
	if (c->stream_left == 0 || uv_now(T.loop) - c->stream_start > STREAM_MAX_MS) {
		c->streaming = 0;
		if (c->stream_left != 0) {
			conn_close(c, 0); /* the time bound: cut it off */
			return;
		}
		if (c->stream_chunked)
			write_raw(c, "0\r\n\r\n", 5, c->close_after);
		else if (c->close_after)
			conn_close(c, 0); /* every piece is written */
		if (c->closing || c->close_after)
			return;
		c->busy = 0;
		memmove(c->buf, c->buf + c->delay_consumed, c->len - c->delay_consumed);
		c->len -= c->delay_consumed;
		conn_maybe_parse(c);
		return;
	}
	if (c->stream_left != UINT64_MAX)
		c->stream_left -= n;
	if (!c->stream_chunked) {
		write_raw(c, piece, n, 0);
		return;
	}
	/* "<hex>\r\n<data>\r\n" in one write */
	{
		char *buf = malloc(n + 32);
		int h;
		if (!buf) {
			conn_close(c, 0);
			return;
		}
		h = snprintf(buf, 32, "%zx\r\n", n);
		memcpy(buf + h, piece, n);
		off = (size_t)h + n;
		memcpy(buf + off, "\r\n", 2);
		write_raw(c, buf, off + 2, 0);
		free(buf);
	}
}

static void on_idle_close(uv_timer_t *t)
{
	conn *c = t->data;

	if (!c->busy && c->len == 0)
		conn_close(c, 0);
}

/* Answers the test endpoints that need hand-made responses (chunked
 * bodies, HTTP/1.0, big or odd heads, split writes). Returns 1 when it
 * handled the request, 2 when the response is delayed, 0 when p is not
 * one of them. */
static int handle_raw(conn *c, struct request *rq)
{
	const char *p = rq->path;
	int close = !rq->keep_alive, h = rq->head;
	struct sbuf b = { 0 };
	long n;

	if (strncmp(p, "/chunked/", 9) == 0 && parse_num(p + 9, 10000, &n) == 0) {
		/* N chunks of `size` bytes, then optional trailers. */
		long size = query_num(rq->query, "size", 10, 1 << 20);
		int trailer = query_num(rq->query, "trailer", 0, 1) == 1;
		sb_printf(&b,
			  "HTTP/1.1 200 OK\r\nServer: mite-target\r\nContent-Type: text/plain\r\n"
			  "Transfer-Encoding: chunked\r\n%s\r\n",
			  close ? "Connection: close\r\n" : "");
		for (long i = 0; i < n && !h; i++) {
			sb_printf(&b, "%lx%s\r\n", size, i == 0 ? ";ext=1" : "");
			for (long k = 0; k < size; k++)
				sb_add(&b, &(char){ (char)('a' + (i * size + k) % 26) }, 1);
			sb_add(&b, "\r\n", 2);
		}
		if (!h)
			sb_printf(&b, "0\r\n%s\r\n", trailer ? "X-Trailer: t\r\n" : "");
		T.status[200]++;
	} else if (strcmp(p, "/http10") == 0) {
		/* An HTTP/1.0 reply: the connection closes after it; with
		 * length=0 the close is what ends the body. */
		int len = query_num(rq->query, "length", 1, 1) == 1;
		sb_printf(&b,
			  "HTTP/1.0 200 OK\r\nServer: mite-target\r\nContent-Type: text/plain\r\n");
		if (len)
			sb_printf(&b, "Content-Length: 9\r\n");
		sb_add(&b, "\r\n", 2);
		if (!h)
			sb_add(&b, "http/1.0\n", 9);
		T.status[200]++;
		close = 1;
	} else if (strncmp(p, "/nobody/", 8) == 0 && parse_num(p + 8, 599, &n) == 0 && n >= 200) {
		/* A status without a body that still says Content-Length, as
		 * a 304 may (the length of what it would have been). */
		sb_printf(&b,
			  "HTTP/1.1 %ld Status\r\nServer: mite-target\r\nContent-Length: 5\r\n\r\n",
			  n);
		T.status[n]++;
	} else if (strncmp(p, "/big-header/", 12) == 0 && parse_num(p + 12, 1 << 20, &n) == 0) {
		sb_printf(&b,
			  "HTTP/1.1 200 OK\r\nServer: mite-target\r\nContent-Length: 3\r\nX-Big: ");
		for (long i = 0; i < n; i++)
			sb_add(&b, "b", 1);
		sb_printf(&b, "\r\n\r\n%s", h ? "" : "ok\n");
		T.status[200]++;
	} else if (strncmp(p, "/many-headers/", 14) == 0 && parse_num(p + 14, 100000, &n) == 0) {
		/* N header lines of 100 bytes each: a large head made of small
		 * headers (no one line is long). */
		sb_printf(&b, "HTTP/1.1 200 OK\r\nServer: mite-target\r\nContent-Length: 3\r\n");
		for (long i = 0; i < n && !b.err; i++)
			sb_printf(&b, "X-H%06ld: %.88s\r\n", i,
				  "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
				  "abcdefghijklmnopqrstuvwxyzabcdefghij");
		sb_printf(&b, "\r\n%s", h ? "" : "ok\n");
		T.status[200]++;
	} else if (strcmp(p, "/no-status-line") == 0) {
		/* A reply without a status line (as HTTP/0.9), then the close. */
		sb_printf(&b, "this is not an HTTP response\n");
		close = 1;
	} else if (strncmp(p, "/stream/", 8) == 0 &&
		   (strcmp(p + 8, "forever") == 0 || parse_num(p + 8, LONG_MAX, &n) == 0)) {
		/* N bytes (or no end: until the client closes, STREAM_MAX_MS at
		 * most) written as fast as the client reads them, with a
		 * Content-Length, chunked (?chunked=1), or ended by the close
		 * (forever without chunked=1). */
		int chunked = query_num(rq->query, "chunked", 0, 1) == 1;
		int forever = strcmp(p + 8, "forever") == 0;
		sb_printf(&b,
			  "HTTP/1.1 200 OK\r\nServer: mite-target\r\n"
			  "Content-Type: application/octet-stream\r\n");
		if (chunked)
			sb_printf(&b, "Transfer-Encoding: chunked\r\n");
		else if (!forever)
			sb_printf(&b, "Content-Length: %ld\r\n", n);
		if (close || (forever && !chunked))
			sb_printf(&b, "Connection: close\r\n");
		sb_add(&b, "\r\n", 2);
		T.status[200]++;
		if (b.err) {
			free(b.p);
			respond_text(c, 500, "out of memory\n", h, 1);
			return 1;
		}
		if (h) {
			write_raw(c, b.p, b.len, close);
			free(b.p);
			return 1;
		}
		write_raw(c, b.p, b.len, 0);
		free(b.p);
		if (c->closing)
			return 1;
		c->streaming = 1;
		c->stream_chunked = chunked;
		c->stream_left = forever ? UINT64_MAX : (uint64_t)n;
		c->stream_start = uv_now(T.loop);
		if (close || (forever && !chunked))
			c->close_after = 1; /* (checked once the stream ends) */
		return 2;
	} else if (strcmp(p, "/set-cookie-raw") == 0) {
		/* Each v=VALUE of the query (percent-encoded, as the query was
		 * decoded already: '&' separates) as a Set-Cookie header. */
		char q[2049], *save = NULL, *kv;
		snprintf(q, sizeof(q), "%s", rq->raw_query);
		sb_printf(&b, "HTTP/1.1 200 OK\r\nServer: mite-target\r\nContent-Length: 3\r\n");
		for (kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
			if (strncmp(kv, "v=", 2) != 0)
				continue;
			url_decode(kv + 2);
			sb_printf(&b, "Set-Cookie: %s\r\n", kv + 2);
		}
		sb_printf(&b, "\r\n%s", h ? "" : "ok\n");
		T.status[200]++;
	} else if (strncmp(p, "/idle-close/", 12) == 0 &&
		   parse_num(p + 12, MAX_DELAY_MS, &n) == 0) {
		sb_printf(&b,
			  "HTTP/1.1 200 OK\r\nServer: mite-target\r\nContent-Length: 3\r\n\r\n%s",
			  h ? "" : "ok\n");
		c->idle_close_ms = (uint64_t)n;
		T.status[200]++;
	} else if (strncmp(p, "/split/", 7) == 0 && parse_num(p + 7, 1000, &n) == 0) {
		/* A response of `body` bytes (chunked when chunked=1) written
		 * `piece` bytes at a time, one piece per N ms. */
		long body = query_num(rq->query, "body", 100, 1 << 20);
		long piece = query_num(rq->query, "piece", 1, 1 << 20);
		int chunked = query_num(rq->query, "chunked", 0, 1) == 1;
		sb_printf(&b,
			  "HTTP/1.1 200 OK\r\nServer: mite-target\r\nContent-Type: text/plain\r\n");
		if (chunked)
			sb_printf(&b, "Transfer-Encoding: chunked\r\n\r\n");
		else
			sb_printf(&b, "Content-Length: %ld\r\n\r\n", body);
		for (long i = 0; i < body && !h;) {
			long k = chunked ? (body - i < 7 ? body - i : 7) : body - i;
			if (chunked)
				sb_printf(&b, "%lx\r\n", k);
			for (long j = 0; j < k; j++, i++)
				sb_add(&b, &(char){ (char)('a' + i % 26) }, 1);
			if (chunked)
				sb_add(&b, "\r\n", 2);
		}
		if (chunked && !h)
			sb_add(&b, "0\r\n\r\n", 5);
		if (b.err || piece < 1) {
			free(b.p);
			respond_text(c, 500, "out of memory\n", h, 1);
			return 1;
		}
		T.status[200]++;
		free(c->split_buf);
		c->split_buf = b.p;
		c->split_len = b.len;
		c->split_off = 0;
		c->split_piece = (size_t)piece;
		c->split_ms = (uint64_t)n;
		c->split_close = close;
		uv_timer_start(&c->timer, on_split, 0, 0);
		return 2;
	} else {
		return 0;
	}
	if (b.err) {
		free(b.p);
		respond_text(c, 500, "out of memory\n", h, 1);
		return 1;
	}
	write_raw(c, b.p, b.len, close);
	free(b.p);
	return 1;
}

/* Handles one parsed request. Returns 1 when the response is delayed. */
static int handle(conn *c, struct request *rq)
{
	const char *p = rq->path;
	int h = rq->head, close = !rq->keep_alive;
	long n;

	if (strcmp(p, "/stats") == 0) {
		char *s = stats_json();
		if (!s) {
			respond_text(c, 500, "out of memory\n", h, 1);
			return 0;
		}
		/* Not counted: tests read the counts of everything else. */
		T.status[200]--;
		respond(c, 200, "application/json", NULL, s, strlen(s), h, close);
		free(s);
		return 0;
	}
	if (strcmp(p, "/stats/reset") == 0) {
		stats_reset();
		respond(c, 200, "application/json", NULL, "{\"ok\":true}", 11, h, close);
		T.status[200] = 0;
		return 0;
	}
	T.received++;
	count_path(p, strlen(p));

	switch (handle_raw(c, rq)) {
	case 1:
		return 0;
	case 2:
		return 1;
	}
	if (strcmp(p, "/") == 0) {
		respond_text(c, 200, "ok\n", h, close);
	} else if (strncmp(p, "/bytes/", 7) == 0 && parse_num(p + 7, MAX_BYTES, &n) == 0) {
		char *b = malloc((size_t)n + 1);
		if (!b) {
			respond_text(c, 500, "out of memory\n", h, 1);
			return 0;
		}
		for (long i = 0; i < n; i++)
			b[i] = (char)('a' + i % 26);
		respond(c, 200, "application/octet-stream", NULL, b, (size_t)n, h, close);
		free(b);
	} else if (strcmp(p, "/json") == 0) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", "mite-target");
		cJSON_AddBoolToObject(j, "ok", 1);
		cJSON *a = cJSON_AddArrayToObject(j, "items");
		for (int i = 1; i <= 3; i++)
			cJSON_AddItemToArray(a, cJSON_CreateNumber(i));
		respond_json(c, 200, j, NULL, h, close);
	} else if (strcmp(p, "/echo") == 0) {
		cJSON *j = cJSON_CreateObject();
		char *b = strndup(rq->body ? rq->body : "", rq->blen);
		cJSON_AddStringToObject(j, "method", rq->method);
		cJSON_AddStringToObject(j, "body", b ? b : "");
		cJSON_AddNumberToObject(j, "length", (double)rq->blen);
		cJSON_AddStringToObject(j, "query", rq->query);
		free(b);
		{
			/* Every header, names lowercased; repeated ones joined by ", ". */
			cJSON *hj = cJSON_AddObjectToObject(j, "headers");
			const char *l = rq->head_start, *e = rq->head_start + rq->head_len;
			while (l < e) {
				const char *eol = memchr(l, '\r', (size_t)(e - l));
				const char *colon = eol ? memchr(l, ':', (size_t)(eol - l)) : NULL;
				char name[128], val[1024];
				size_t nl, vl;
				const char *v;
				cJSON *prev;
				if (!eol)
					break;
				if (colon && (nl = (size_t)(colon - l)) < sizeof(name)) {
					for (size_t i = 0; i < nl; i++)
						name[i] = (char)tolower((unsigned char)l[i]);
					name[nl] = 0;
					for (v = colon + 1; v < eol && *v == ' '; v++)
						;
					vl = (size_t)(eol - v) < sizeof(val) ? (size_t)(eol - v)
									     : sizeof(val) - 1;
					memcpy(val, v, vl);
					val[vl] = 0;
					if ((prev = cJSON_GetObjectItemCaseSensitive(hj, name)) &&
					    cJSON_IsString(prev)) {
						char joined[2048];
						snprintf(joined, sizeof(joined), "%s, %s",
							 prev->valuestring, val);
						cJSON_ReplaceItemInObjectCaseSensitive(
							hj, name, cJSON_CreateString(joined));
					} else {
						cJSON_AddStringToObject(hj, name, val);
					}
				}
				l = eol + 2;
			}
		}
		respond_json(c, 200, j, NULL, h, close);
	} else if (strncmp(p, "/delay/", 7) == 0 && parse_num(p + 7, MAX_DELAY_MS, &n) == 0) {
		c->delay_head = h;
		c->delay_close = close;
		uv_timer_start(&c->timer, on_delay, (uint64_t)n, 0);
		return 1;
	} else if (strncmp(p, "/status/", 8) == 0 && parse_num(p + 8, 599, &n) == 0 && n >= 200) {
		char b[16];
		snprintf(b, sizeof(b), "%d\n", (int)n);
		respond_text(c, (int)n, b, h, close);
	} else if (strcmp(p, "/set-cookie") == 0) {
		char extra[2048] = "", q[2049], *save = NULL, *kv;
		size_t el = 0;
		snprintf(q, sizeof(q), "%s", rq->query);
		for (kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
			int w;
			if (!strchr(kv, '='))
				continue;
			w = snprintf(extra + el, sizeof(extra) - el, "Set-Cookie: %s; Path=/\r\n",
				     kv);
			if (w < 0 || (size_t)w >= sizeof(extra) - el) {
				extra[el] = 0;
				break;
			}
			el += (size_t)w;
		}
		respond(c, 200, "text/plain", extra, "ok\n", 3, h, close);
	} else if (strcmp(p, "/cookies") == 0 || strncmp(p, "/cookies/", 9) == 0) {
		cJSON *j = cJSON_CreateObject();
		char *ck = strndup(rq->cookie ? rq->cookie : "", rq->cookie_len), *save = NULL, *kv;
		for (kv = ck ? strtok_r(ck, ";", &save) : NULL; kv;
		     kv = strtok_r(NULL, ";", &save)) {
			char *eq;
			while (*kv == ' ')
				kv++;
			if ((eq = strchr(kv, '='))) {
				*eq = 0;
				cJSON_AddStringToObject(j, kv, eq + 1);
			}
		}
		free(ck);
		respond_json(c, 200, j, NULL, h, close);
	} else if (strncmp(p, "/redirect/", 10) == 0 && parse_num(p + 10, 100, &n) == 0) {
		if (n == 0) {
			respond_text(c, 200, "ok\n", h, close);
		} else {
			char loc[64];
			snprintf(loc, sizeof(loc), "Location: /redirect/%ld\r\n", n - 1);
			respond(c, 302, "text/plain", loc, "redirect\n", 9, h, close);
		}
	} else if (strcmp(p, "/login") == 0) {
		cJSON *in = rq->blen ? cJSON_ParseWithLength(rq->body, rq->blen) : NULL;
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(in, "user");
		const cJSON *pw = cJSON_GetObjectItemCaseSensitive(in, "password");
		char want[300], tok[300], extra[400];
		cJSON *j = cJSON_CreateObject();

		if (strcmp(rq->method, "POST") != 0) {
			cJSON_AddStringToObject(j, "error", "POST a JSON {\"user\",\"password\"}");
			respond_json(c, 405, j, NULL, h, close);
		} else if (!cJSON_IsString(u) || !cJSON_IsString(pw) || !*u->valuestring ||
			   strlen(u->valuestring) > 200 || strpbrk(u->valuestring, ";,= \"")) {
			cJSON_AddStringToObject(j, "error",
						"expected JSON {\"user\",\"password\"}");
			respond_json(c, 400, j, NULL, h, close);
		} else {
			snprintf(want, sizeof(want), "pw-%s", u->valuestring);
			if (strcmp(pw->valuestring, want) != 0) {
				cJSON_AddBoolToObject(j, "ok", 0);
				respond_json(c, 401, j, NULL, h, close);
			} else {
				session_token(u->valuestring, tok, sizeof(tok));
				snprintf(extra, sizeof(extra),
					 "Set-Cookie: session=%s; Path=/; HttpOnly\r\n", tok);
				cJSON_AddBoolToObject(j, "ok", 1);
				cJSON_AddStringToObject(j, "user", u->valuestring);
				respond_json(c, 200, j, extra, h, close);
			}
		}
		cJSON_Delete(in);
	} else if (strcmp(p, "/api/items") == 0 || strncmp(p, "/api/items/", 11) == 0) {
		char user[256];
		cJSON *j = cJSON_CreateObject();

		if (!session_user(rq, user, sizeof(user))) {
			cJSON_AddStringToObject(j, "error", "log in first (POST /login)");
			respond_json(c, 401, j, NULL, h, close);
		} else if (p[10] == '/') {
			if (parse_num(p + 11, 1000000, &n) == 0 && n >= 1 && n <= 10) {
				char name[32];
				snprintf(name, sizeof(name), "item %ld", n);
				cJSON_AddNumberToObject(j, "id", (double)n);
				cJSON_AddStringToObject(j, "name", name);
				cJSON_AddNumberToObject(j, "price", (double)n * 1.5);
				respond_json(c, 200, j, NULL, h, close);
			} else {
				cJSON_AddStringToObject(j, "error", "no such item");
				respond_json(c, 404, j, NULL, h, close);
			}
		} else if (strcmp(rq->method, "POST") == 0) {
			cJSON *in = rq->blen ? cJSON_ParseWithLength(rq->body, rq->blen) : NULL;
			if (!cJSON_IsObject(in)) {
				cJSON_AddStringToObject(j, "error", "expected a JSON object");
				respond_json(c, 400, j, NULL, h, close);
			} else {
				cJSON_AddNumberToObject(j, "id", 11);
				cJSON_AddStringToObject(j, "owner", user);
				cJSON_AddItemToObject(j, "item", cJSON_Duplicate(in, 1));
				respond_json(c, 201, j, NULL, h, close);
			}
			cJSON_Delete(in);
		} else {
			cJSON *a = cJSON_AddArrayToObject(j, "items");
			for (int i = 1; i <= 10; i++) {
				cJSON *it = cJSON_CreateObject();
				char name[32];
				snprintf(name, sizeof(name), "item %d", i);
				cJSON_AddNumberToObject(it, "id", i);
				cJSON_AddStringToObject(it, "name", name);
				cJSON_AddItemToArray(a, it);
			}
			respond_json(c, 200, j, NULL, h, close);
		}
	} else if (strcmp(p, "/reset-connection") == 0) {
		conn_close(c, 1);
		return 1;
	} else {
		respond_text(c, 404, "not found\n", h, close);
	}
	return 0;
}

static const char *find_head_end(const char *b, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r')
			return b + i + 1;
	return NULL;
}

/* Parses and answers every whole request in the buffer, in order. */
static void conn_maybe_parse(conn *c)
{
	if (c->idle_close_ms && !c->busy && c->len > 0)
		uv_timer_stop(&c->timer); /* a request came: not idle */
	while (!c->busy && !c->closing && !c->close_after && c->len > 0) {
		struct request rq;
		const char *end = find_head_end(c->buf, c->len), *line, *eol, *sp1, *sp2;
		size_t head_len, consumed;
		long clen = 0;
		int http10, conn_close_hdr = 0, conn_keep_hdr = 0, expect = 0;

		if (!end) {
			if (c->len >= MAX_HEAD)
				respond_text(c, 431, "request head too large\n", 0, 1);
			else if (!isupper((unsigned char)c->buf[0]))
				/* Not a method (a TLS ClientHello, say): answer at
				 * once rather than wait for a head that never ends. */
				respond_text(c, 400, "not an HTTP request\n", 0, 1);
			return;
		}
		head_len = (size_t)(end - c->buf);
		memset(&rq, 0, sizeof(rq));
		eol = memchr(c->buf, '\r', head_len);
		sp1 = memchr(c->buf, ' ', (size_t)(eol - c->buf));
		sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
		if (!sp1 || !sp2 || sp1 - c->buf >= (ptrdiff_t)sizeof(rq.method) || sp1 == c->buf ||
		    (size_t)(sp2 - sp1 - 1) >= sizeof(rq.path) || eol - sp2 - 1 != 8 ||
		    memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
			respond_text(c, 400, "bad request line\n", 0, 1);
			return;
		}
		memcpy(rq.method, c->buf, (size_t)(sp1 - c->buf));
		memcpy(rq.path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
		http10 = sp2[8] == '0';
		{
			char *q = strchr(rq.path, '?');
			if (q) {
				snprintf(rq.query, sizeof(rq.query), "%s", q + 1);
				*q = 0;
			}
		}
		rq.head_start = eol + 2;
		rq.head_len = (size_t)(end - 2 - rq.head_start);
		for (line = eol + 2; line < end - 2; line = eol + 2) {
			const char *colon, *v;
			size_t nl, vl;
			eol = memchr(line, '\r', (size_t)(end - line));
			colon = memchr(line, ':', (size_t)(eol - line));
			if (!colon) {
				respond_text(c, 400, "bad header\n", 0, 1);
				return;
			}
			nl = (size_t)(colon - line);
			for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
				;
			vl = (size_t)(eol - v);
			if (nl == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
				char num[24];
				if (vl == 0 || vl >= sizeof(num)) {
					respond_text(c, 400, "bad content-length\n", 0, 1);
					return;
				}
				memcpy(num, v, vl);
				num[vl] = 0;
				if (parse_num(num, MAX_BODY, &clen) < 0) {
					respond_text(c, 413, "body too large\n", 0, 1);
					return;
				}
			} else if (nl == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
				respond_text(c, 501, "chunked bodies are not supported\n", 0, 1);
				return;
			} else if (nl == 10 && strncasecmp(line, "Connection", 10) == 0) {
				if (vl >= 5 && strncasecmp(v, "close", 5) == 0)
					conn_close_hdr = 1;
				else if (vl >= 10 && strncasecmp(v, "keep-alive", 10) == 0)
					conn_keep_hdr = 1;
			} else if (nl == 6 && strncasecmp(line, "Cookie", 6) == 0) {
				rq.cookie = v;
				rq.cookie_len = vl;
			} else if (nl == 6 && strncasecmp(line, "Expect", 6) == 0) {
				expect = vl >= 12 && strncasecmp(v, "100-continue", 12) == 0;
			}
		}
		if (c->len < head_len + (size_t)clen) {
			if (expect && c->len == head_len) {
				/* Tell the client to go on, once. */
				static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
				wreq *w = malloc(sizeof(*w) + sizeof(cont));
				if (w) {
					uv_buf_t b = uv_buf_init(w->data, sizeof(cont) - 1);
					memcpy(w->data, cont, sizeof(cont));
					w->c = c;
					w->close_after = 0;
					c->writes++;
					if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1,
						     on_written) < 0) {
						c->writes--;
						free(w);
					}
				}
			}
			return; /* wait for the rest of the body */
		}
		rq.body = c->buf + head_len;
		rq.blen = (size_t)clen;
		rq.head = strcmp(rq.method, "HEAD") == 0;
		rq.keep_alive = http10 ? conn_keep_hdr : !conn_close_hdr;
		memcpy(rq.raw_query, rq.query, sizeof(rq.raw_query));
		url_decode(rq.query);
		consumed = head_len + (size_t)clen;
		if (T.request_log && strcmp(rq.path, "/stats") != 0 &&
		    strcmp(rq.path, "/stats/reset") != 0)
			log_request(rq.method, sp1 + 1, (size_t)(sp2 - sp1 - 1), rq.head_start,
				    rq.head_len, rq.body, rq.blen);
		if (handle(c, &rq)) {
			if (c->closing)
				return;
			c->busy = 1;
			c->delay_consumed = consumed;
			return;
		}
		if (c->closing)
			return;
		memmove(c->buf, c->buf + consumed, c->len - consumed);
		c->len -= consumed;
	}
	if (c->idle_close_ms && !c->busy && !c->closing && c->len == 0)
		uv_timer_start(&c->timer, on_idle_close, c->idle_close_ms, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	conn *c = h->data;
	size_t want = c->len + 16384;

	(void)suggested;
	if (want > MAX_HEAD + MAX_BODY + 16384)
		want = MAX_HEAD + MAX_BODY + 16384;
	if (want > c->cap) {
		char *p = realloc(c->buf, want);
		if (p) {
			c->buf = p;
			c->cap = want;
		}
	}
	*b = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	conn *c = s->data;

	(void)b;
	if (n < 0) {
		conn_close(c, 0);
		return;
	}
	c->len += (size_t)n;
	if (c->len == c->cap && c->len >= MAX_HEAD + MAX_BODY) {
		respond_text(c, 413, "request too large\n", 0, 1);
		return;
	}
	conn_maybe_parse(c);
}

static void on_connection(uv_stream_t *server, int status)
{
	conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	uv_tcp_init(T.loop, &c->tcp);
	uv_timer_init(T.loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles = 2;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		c->closing = 1;
		uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
		uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	T.conn_open++;
	T.conn_total++;
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_signal(uv_signal_t *s, int sig)
{
	(void)sig;
	uv_stop(s->loop);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mite-target [--port N] [--bind ADDR] [--request-log FILE] [--ws-port N\n"
		"                   [--ws-cert FILE --ws-key FILE]]\n"
		"\n"
		"A small HTTP/1.1 demo target for mite (keep-alive, one thread). Loopback\n"
		"only by default; not a server to expose.\n"
		"\n"
		"  --port N     port to listen on (default 8080; 0 picks a free one)\n"
		"  --bind ADDR  address to bind (default 127.0.0.1)\n"
		"  --request-log FILE  append each request (but /stats) to FILE as a JSON line:\n"
		"               method, target, header lines, body in hex (off by default)\n"
		"  --ws-port N  also serve WebSocket on port N (0 picks a free one; prints\n"
		"               \"ws listening on ADDR:PORT\"): /echo echoes each message;\n"
		"               /close?code=N&after=K, /silent, /bad?after=K (a malformed\n"
		"               frame), /big?size=N, /push?n=N&size=S, /drop?after=K,\n"
		"               /reject (403), /badaccept test a client's failures; /stats\n"
		"               counts its messages and payload bytes under \"ws\"\n"
		"  --ws-cert FILE, --ws-key FILE  the WebSocket port speaks TLS (wss://)\n"
		"               with this PEM certificate chain and key\n"
		"\n"
		"Prints \"listening on ADDR:PORT\" once ready. Endpoints:\n"
		"  /                 \"ok\\n\"\n"
		"  /bytes/N          N bytes\n"
		"  /json             a JSON object\n"
		"  /echo             the request's method, body and query as JSON\n"
		"  /delay/MS         \"ok\\n\" after MS milliseconds\n"
		"  /status/CODE      that status\n"
		"  /set-cookie?k=v   sets each cookie k=v; /cookies (and /cookies/...) returns\n"
		"                    those received\n"
		"  /redirect/N       N redirects (302) then 200\n"
		"  /login            POST {\"user\":U,\"password\":\"pw-U\"} sets a session cookie;\n"
		"                    401 for a wrong password\n"
		"  /api/items        GET the list, GET /api/items/ID (1-10), POST a JSON item\n"
		"                    (201); 401 without the session cookie\n"
		"  /reset-connection closes the connection (RST) without a reply\n"
		"  /chunked/N        N chunks (?size=S bytes each, ?trailer=1 adds a trailer)\n"
		"  /http10           an HTTP/1.0 reply, then close (?length=0: no\n"
		"                    Content-Length, the close ends the body)\n"
		"  /nobody/CODE      CODE (204, 304) with Content-Length: 5 and no body\n"
		"  /big-header/N     a response with an N-byte header\n"
		"  /set-cookie-raw?v=VALUE&v=...  each VALUE (percent-encoded) as a Set-Cookie\n"
		"  /idle-close/MS    \"ok\\n\", then closes the connection if idle MS ms later\n"
		"  /stream/N         N bytes as fast as the client reads them (?chunked=1);\n"
		"                    /stream/forever: no end (until the client closes, 60 s\n"
		"                    at most)\n"
		"  /many-headers/N   N header lines of 100 bytes\n"
		"  /no-status-line   a reply without a status line (as HTTP/0.9), then close\n"
		"  /split/MS         a response written in pieces, one every MS ms (?body=N\n"
		"                    bytes, ?piece=P bytes per write, ?chunked=1)\n"
		"  /stats            JSON counts of requests per path and responses per status\n"
		"                    (not counting /stats), and open/total connections\n"
		"  /stats/reset      zeroes those counts (and the connection total)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "request-log", required_argument, NULL, 'l' },
		{ "ws-port", required_argument, NULL, 'w' },
		{ "ws-cert", required_argument, NULL, 'C' },
		{ "ws-key", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bind = "127.0.0.1", *ws_cert = NULL, *ws_key = NULL;
	long port = 8080, ws_port = -1;
	struct sockaddr_storage ss;
	int namelen = sizeof(ss), rc, o;
	char host[64];

	while ((o = getopt_long(argc, argv, "p:b:l:w:h", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			if (parse_num(optarg, 65535, &port) < 0) {
				fprintf(stderr, "mite-target: bad port: %s\n", optarg);
				return 2;
			}
			break;
		case 'b':
			bind = optarg;
			break;
		case 'l':
			if (!(T.request_log = fopen(optarg, "ae"))) {
				fprintf(stderr, "mite-target: %s: %s\n", optarg, strerror(errno));
				return 2;
			}
			break;
		case 'w':
			if (parse_num(optarg, 65535, &ws_port) < 0) {
				fprintf(stderr, "mite-target: bad --ws-port: %s\n", optarg);
				return 2;
			}
			break;
		case 'C':
			ws_cert = optarg;
			break;
		case 'K':
			ws_key = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!ws_cert != !ws_key || (ws_cert && ws_port < 0)) {
		fprintf(stderr,
			"mite-target: --ws-cert and --ws-key go together, with --ws-port\n");
		return 2;
	}
	T.loop = uv_default_loop();
	if (uv_ip4_addr(bind, (int)port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(bind, (int)port, (struct sockaddr_in6 *)&ss) != 0) {
		fprintf(stderr, "mite-target: bad address: %s\n", bind);
		return 2;
	}
	uv_tcp_init(T.loop, &T.server);
	if ((rc = uv_tcp_bind(&T.server, (struct sockaddr *)&ss, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&T.server, 1024, on_connection)) < 0) {
		fprintf(stderr, "mite-target: listen on %s:%ld failed: %s\n", bind, port,
			uv_strerror(rc));
		return 1;
	}
	uv_tcp_getsockname(&T.server, (struct sockaddr *)&ss, &namelen);
	if (ss.ss_family == AF_INET6) {
		uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		printf("listening on [%s]:%ld\n", host, port);
	} else {
		uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		printf("listening on %s:%ld\n", host, port);
	}
	if (ws_port >= 0) {
		if (!(T.ws = ws_server_new(T.loop, bind, (int)ws_port)))
			return 1;
		if (ws_cert && ws_server_tls(T.ws, ws_cert, ws_key) < 0)
			return 1;
		printf("%s listening on %s%s%s:%d\n", ws_cert ? "wss" : "ws",
		       ss.ss_family == AF_INET6 ? "[" : "", host,
		       ss.ss_family == AF_INET6 ? "]" : "", ws_server_port(T.ws));
	}
	fflush(stdout);
	/* A client that closes while a response is being written is an
	 * error on that write, not the end of the server. */
	signal(SIGPIPE, SIG_IGN);
	uv_signal_init(T.loop, &T.sigint);
	uv_signal_init(T.loop, &T.sigterm);
	uv_signal_start(&T.sigint, on_signal, SIGINT);
	uv_signal_start(&T.sigterm, on_signal, SIGTERM);
	uv_run(T.loop, UV_RUN_DEFAULT);
	ws_server_close(T.ws);
	stats_reset();
	return 0;
}
