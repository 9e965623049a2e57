/* ws_server.c - see ws_server.h. */
#include "ws_server.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#define WSS_MAX_HEAD 8192
#define WSS_MAX_BIG (64L << 20)
#define WSS_MAX_PUSH 100000L

enum { M_ECHO, M_CLOSE, M_SILENT, M_BAD, M_BIG, M_PUSH, M_DROP, M_REJECT, M_BADACCEPT };

struct ws_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	int port;
	struct wsc *conns;
	ws_server_counts n;
	int closing;
	SSL_CTX *tls; /* wss: the server's certificate, or NULL */
};

typedef struct wsc {
	uv_tcp_t tcp;
	ws_server *s;
	struct wsc *prev, *next;
	char *in; /* the handshake's bytes, then one read's */
	size_t inlen, inoff;
	int upgraded, closing, counted;
	wslay_event_context_ptr ev;
	int mode;
	long after, code, size, n, count;
	char reason[124];
	int send_bad, drop;
	SSL *ssl; /* wss: TLS over memory BIOs (rbio: what came,
				   * wbio: what goes), or NULL */
	BIO *rbio, *wbio;
	int hs_done; /* the TLS handshake finished */
} wsc;

typedef struct wreq {
	uv_write_t req;
	char data[];
} wreq;

/* ---- connections ---------------------------------------------------------- */

static void conn_closed(uv_handle_t *h)
{
	wsc *c = h->data;

	if (c->ev)
		wslay_event_context_free(c->ev);
	SSL_free(c->ssl); /* (and its BIOs) */
	free(c->in);
	free(c);
}

static void conn_close(wsc *c)
{
	ws_server *s = c->s;

	if (c->closing)
		return;
	c->closing = 1;
	if (c->counted)
		s->n.open--;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_written(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

/* Writes bytes to the socket after what is queued already. */
static void raw_put(wsc *c, const void *data, size_t len)
{
	int r = 0;
	wreq *w;
	uv_buf_t b;

	if (c->closing || !len)
		return;
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
		b = uv_buf_init((char *)data, (unsigned)len);
		r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
		if (r == (int)len)
			return;
		if (r < 0 && r != UV_EAGAIN) {
			conn_close(c);
			return;
		}
		if (r < 0)
			r = 0;
	}
	w = malloc(sizeof(*w) + len - (size_t)r);
	if (!w) {
		conn_close(c);
		return;
	}
	memcpy(w->data, (const char *)data + r, len - (size_t)r);
	b = uv_buf_init(w->data, (unsigned)(len - (size_t)r));
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
		free(w);
		conn_close(c);
	}
}

/* Sends what TLS has made for the socket. */
static void drain(wsc *c)
{
	char buf[16384];
	int n;

	while ((n = BIO_read(c->wbio, buf, sizeof(buf))) > 0)
		raw_put(c, buf, (size_t)n);
}

/* Writes data (through TLS on wss). */
static void put(wsc *c, const void *data, size_t len)
{
	if (!c->ssl) {
		raw_put(c, data, len);
		return;
	}
	if (c->closing || !len)
		return;
	/* A memory BIO takes everything: one SSL_write does. */
	if (SSL_write(c->ssl, data, (int)len) <= 0) {
		conn_close(c);
		return;
	}
	drain(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	wsc *c = req->data;

	(void)status;
	free(req);
	conn_close(c);
}

/* Ends TCP once what is queued went out. */
static void finish(wsc *c)
{
	uv_shutdown_t *req = malloc(sizeof(*req));

	if (!req || c->closing) {
		free(req);
		conn_close(c);
		return;
	}
	req->data = c;
	if (c->ssl && c->hs_done) {
		SSL_shutdown(c->ssl); /* close_notify first */
		drain(c);
	}
	if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
		free(req);
		conn_close(c);
	}
}

/* ---- wslay ------------------------------------------------------------------ */

static ssize_t cb_recv(wslay_event_context_ptr ev, uint8_t *buf, size_t len, int flags, void *user)
{
	wsc *c = user;
	size_t n = c->inlen - c->inoff;

	(void)flags;
	if (n == 0) {
		wslay_event_set_error(ev, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (n > len)
		n = len;
	memcpy(buf, c->in + c->inoff, n);
	c->inoff += n;
	return (ssize_t)n;
}

static ssize_t cb_send(wslay_event_context_ptr ev, const uint8_t *data, size_t len, int flags,
		       void *user)
{
	(void)ev;
	(void)flags;
	put(user, data, len);
	return (ssize_t)len;
}

static void send_msg(wsc *c, int opcode, const void *data, size_t len)
{
	struct wslay_event_msg m = { .opcode = (uint8_t)opcode, .msg = data, .msg_length = len };

	if (wslay_event_queue_msg(c->ev, &m) == 0) {
		c->s->n.msgs_out++;
		c->s->n.bytes_out += len;
	}
}

static void send_big(wsc *c)
{
	char *p = malloc((size_t)c->size + 1);

	if (!p)
		return;
	memset(p, 'x', (size_t)c->size);
	send_msg(c, WSLAY_TEXT_FRAME, p, (size_t)c->size);
	free(p);
}

static void cb_msg(wslay_event_context_ptr ev, const struct wslay_event_on_msg_recv_arg *a,
		   void *user)
{
	wsc *c = user;

	(void)ev;
	if (a->opcode == WSLAY_CONNECTION_CLOSE) {
		c->s->n.closes_in++;
		c->s->n.last_close_code = a->status_code;
		return;
	}
	if (a->opcode != WSLAY_TEXT_FRAME && a->opcode != WSLAY_BINARY_FRAME)
		return;
	c->s->n.msgs_in++;
	c->s->n.bytes_in += a->msg_length;
	switch (c->mode) {
	case M_SILENT:
		return;
	case M_BIG:
		send_big(c);
		return;
	case M_CLOSE:
		if (c->count >= c->after) {
			wslay_event_queue_close(c->ev, (uint16_t)c->code,
						(const uint8_t *)c->reason, strlen(c->reason));
			return;
		}
		break;
	case M_BAD:
		if (c->count >= c->after) {
			c->send_bad = 1;
			return;
		}
		break;
	case M_DROP:
		if (c->count >= c->after) {
			c->drop = 1;
			return;
		}
		break;
	}
	c->count++;
	send_msg(c, a->opcode, a->msg, a->msg_length);
}

static const struct wslay_event_callbacks wslay_cbs = {
	.recv_callback = cb_recv,
	.send_callback = cb_send,
	.on_msg_recv_callback = cb_msg,
};

/* Sends what is queued, then acts on what the mode asked for. */
static void pump(wsc *c)
{
	if (c->closing)
		return;
	if (wslay_event_recv(c->ev) != 0) {
		conn_close(c);
		return;
	}
	wslay_event_send(c->ev);
	if (c->send_bad) {
		/* FIN, opcode 3 (reserved), no payload. */
		put(c, "\x83\x00", 2);
		c->send_bad = 0;
		c->mode = M_SILENT;
	}
	if (c->drop) {
		finish(c);
		return;
	}
	if (wslay_event_get_close_sent(c->ev) && wslay_event_get_close_received(c->ev))
		finish(c);
}

/* ---- the handshake ------------------------------------------------------------- */

static long query_num(const char *q, const char *key, long def, long max)
{
	size_t kl = strlen(key);

	for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			long v = strtol(p + kl + 1, NULL, 10);
			return v < 0 ? 0 : v > max ? max : v;
		}
	}
	return def;
}

static void query_str(const char *q, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);

	out[0] = 0;
	for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			size_t n = strcspn(p + kl + 1, "& ");
			if (n >= len)
				n = len - 1;
			memcpy(out, p + kl + 1, n);
			out[n] = 0;
			return;
		}
	}
}

static void set_mode(wsc *c, const char *path, size_t plen, const char *q)
{
	static const struct {
		const char *p;
		int m;
	} modes[] = { { "/close", M_CLOSE },   { "/silent", M_SILENT },      { "/bad", M_BAD },
		      { "/big", M_BIG },       { "/push", M_PUSH },          { "/drop", M_DROP },
		      { "/reject", M_REJECT }, { "/badaccept", M_BADACCEPT } };

	c->mode = M_ECHO;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strlen(modes[i].p) == plen && memcmp(path, modes[i].p, plen) == 0)
			c->mode = modes[i].m;
	c->after = query_num(q, "after", 0, 1000000);
	c->code = query_num(q, "code", 1000, 4999);
	c->size = query_num(q, "size", 16, WSS_MAX_BIG);
	c->n = query_num(q, "n", 1, WSS_MAX_PUSH);
	query_str(q, "reason", c->reason, sizeof(c->reason));
}

/* The request's Sec-WebSocket-Key, copied into key, or -1. */
static int find_key(const char *head, char *key, size_t len)
{
	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
		const char *v;
		size_t n;

		if (strncasecmp(l + 2, "Sec-WebSocket-Key:", 18) != 0)
			continue;
		for (v = l + 20; *v == ' '; v++)
			;
		n = strcspn(v, "\r\n ");
		if (!n || n >= len)
			return -1;
		memcpy(key, v, n);
		key[n] = 0;
		return 0;
	}
	return -1;
}

static void accept_of(const char *key, char out[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char in[64 + sizeof(guid)], md[SHA_DIGEST_LENGTH];
	size_t kl = strnlen(key, 63);

	memcpy(in, key, kl);
	memcpy(in + kl, guid, sizeof(guid) - 1);
	SHA1(in, kl + sizeof(guid) - 1, md);
	EVP_EncodeBlock((unsigned char *)out, md, sizeof(md));
}

static void handshake(wsc *c, size_t headlen)
{
	char key[64], acc[29], resp[256], *q;
	const char *path = c->in + 4;
	size_t plen;
	int n;

	c->in[headlen - 1] = 0;
	if (strncmp(c->in, "GET ", 4) != 0 || find_key(c->in, key, sizeof(key)) < 0) {
		put(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		    66);
		finish(c);
		return;
	}
	plen = strcspn(path, "? ");
	q = path[plen] == '?' ? (char *)path + plen + 1 : NULL;
	set_mode(c, path, plen, q);
	if (c->mode == M_REJECT) {
		put(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		    64);
		finish(c);
		return;
	}
	accept_of(key, acc);
	if (c->mode == M_BADACCEPT)
		acc[0] = acc[0] == 'A' ? 'B' : 'A';
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		     acc);
	put(c, resp, (size_t)n);
	if (wslay_event_context_server_init(&c->ev, &wslay_cbs, c) != 0) {
		conn_close(c);
		return;
	}
	wslay_event_config_set_max_recv_msg_length(c->ev, (uint64_t)WSS_MAX_BIG);
	c->upgraded = 1;
	c->counted = 1;
	c->s->n.connections++;
	c->s->n.open++;
	if (c->mode == M_PUSH) {
		char *p = malloc((size_t)c->size + 1);
		if (p) {
			memset(p, 'p', (size_t)c->size);
			for (long i = 0; i < c->n; i++)
				send_msg(c, WSLAY_TEXT_FRAME, p, (size_t)c->size);
			free(p);
		}
	}
	/* Frames right behind the request. */
	c->inoff = headlen;
	pump(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	(void)h;
	b->base = malloc(suggested);
	b->len = b->base ? suggested : 0;
}

/* Bytes that came (buf: malloc'd, taken over). */
static void got(wsc *c, char *buf, size_t n)
{
	char *end;

	if (c->upgraded) {
		free(c->in);
		c->in = buf;
		c->inlen = n;
		c->inoff = 0;
		pump(c);
		return;
	}
	if (c->inlen + n > WSS_MAX_HEAD) {
		free(buf);
		conn_close(c);
		return;
	}
	memcpy(c->in + c->inlen, buf, n);
	c->inlen += n;
	c->in[c->inlen] = 0;
	free(buf);
	if ((end = strstr(c->in, "\r\n\r\n")))
		handshake(c, (size_t)(end - c->in) + 4);
}

/* wss: the bytes that came go through TLS (buf taken over). */
static void got_tls(wsc *c, char *buf, size_t n)
{
	int k;

	k = BIO_write(c->rbio, buf, (int)n);
	free(buf);
	if (k != (int)n) {
		conn_close(c);
		return;
	}
	if (!c->hs_done) {
		k = SSL_do_handshake(c->ssl);
		drain(c);
		if (k != 1) {
			if (SSL_get_error(c->ssl, k) != SSL_ERROR_WANT_READ)
				conn_close(c); /* (an unknown CA, a version refused...) */
			return;
		}
		c->hs_done = 1;
		c->s->n.tls_version = SSL_version(c->ssl) == TLS1_3_VERSION ? 13 : 12;
		if (SSL_get0_peer_certificate(c->ssl))
			c->s->n.client_certs++;
		if (SSL_session_reused(c->ssl))
			c->s->n.resumed++;
	}
	while (!c->closing) {
		char *p = malloc(16384);

		if (!p) {
			conn_close(c);
			return;
		}
		k = SSL_read(c->ssl, p, 16384);
		if (k <= 0) {
			free(p);
			drain(c);
			if (SSL_get_error(c->ssl, k) != SSL_ERROR_WANT_READ)
				conn_close(c); /* close_notify, or broken */
			return;
		}
		got(c, p, (size_t)k);
	}
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	wsc *c = st->data;

	if (nread <= 0) {
		free(b->base);
		if (nread < 0)
			conn_close(c);
		return;
	}
	if (c->ssl)
		got_tls(c, b->base, (size_t)nread);
	else
		got(c, b->base, (size_t)nread);
}

/* wss: the connection's SSL object on memory BIOs. 0 or -1. */
static int tls_conn(wsc *c)
{
	if (!(c->ssl = SSL_new(c->s->tls)) || !(c->rbio = BIO_new(BIO_s_mem())) ||
	    !(c->wbio = BIO_new(BIO_s_mem()))) {
		BIO_free(c->rbio);
		c->rbio = NULL;
		return -1;
	}
	SSL_set_bio(c->ssl, c->rbio, c->wbio); /* (the SSL owns them now) */
	SSL_set_accept_state(c->ssl);
	return 0;
}

static void on_connection(uv_stream_t *l, int status)
{
	ws_server *s = l->data;
	wsc *c;

	if (status < 0 || !(c = calloc(1, sizeof(*c))) || !(c->in = malloc(WSS_MAX_HEAD + 1))) {
		if (status >= 0)
			free(c);
		return;
	}
	c->s = s;
	uv_tcp_init(s->loop, &c->tcp);
	c->tcp.data = c;
	uv_tcp_nodelay(&c->tcp, 1); /* replies go at once (no 40 ms delayed-ACK stall) */
	if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
		c->closing = 1;
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
		return;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	if (s->tls && tls_conn(c) < 0) {
		conn_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- the server ------------------------------------------------------------------ */

static void listener_closed(uv_handle_t *h)
{
	ws_server *s = h->data;

	SSL_CTX_free(s->tls);
	free(s);
}

int ws_server_tls(ws_server *s, const char *cert, const char *key)
{
	SSL_CTX *x = SSL_CTX_new(TLS_server_method());

	if (!x || SSL_CTX_use_certificate_chain_file(x, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(x, key, SSL_FILETYPE_PEM) != 1) {
		char e[256];

		ERR_error_string_n(ERR_get_error(), e, sizeof(e));
		fprintf(stderr, "ws_server: TLS with %s and %s failed: %s\n", cert, key, e);
		SSL_CTX_free(x);
		return -1;
	}
	SSL_CTX_free(s->tls);
	s->tls = x;
	return 0;
}

ws_server *ws_server_new(uv_loop_t *loop, const char *host, int port)
{
	ws_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	int len = sizeof(ss), rc;

	if (!s)
		return NULL;
	s->loop = loop;
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
		fprintf(stderr, "ws_server: bad address %s\n", host);
		free(s);
		return NULL;
	}
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&s->listener, 1024, on_connection)) < 0) {
		fprintf(stderr, "ws_server: listen on %s:%d failed: %s\n", host, port,
			uv_strerror(rc));
		uv_close((uv_handle_t *)&s->listener, listener_closed); /* frees s */
		return NULL;
	}
	uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
	s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	return s;
}

int ws_server_tls_client_ca(ws_server *s, const char *ca)
{
	if (!s->tls || SSL_CTX_load_verify_locations(s->tls, ca, NULL) != 1) {
		fprintf(stderr, "ws_server: client CA %s: not loaded\n", ca);
		return -1;
	}
	SSL_CTX_set_verify(s->tls, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return 0;
}

int ws_server_port(const ws_server *s)
{
	return s->port;
}

void ws_server_counts_get(const ws_server *s, ws_server_counts *out)
{
	*out = s->n;
}

void ws_server_counts_reset(ws_server *s)
{
	uint64_t open = s->n.open;

	memset(&s->n, 0, sizeof(s->n));
	s->n.open = open;
}


void ws_server_close(ws_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_close(s->conns);
	uv_close((uv_handle_t *)&s->listener, listener_closed);
}
