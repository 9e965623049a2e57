/*
 * tls.c - see tls.h.
 *
 * Why SSL on the fd rather than memory BIOs: OpenSSL then reads and writes
 * the socket itself, with no copy between a BIO pair and the socket and no
 * buffer of ours per connection; the caller only learns from TLS_WANT_*
 * what to wait for. The BIO is ours rather than OpenSSL's socket BIO so
 * that writes use send(MSG_NOSIGNAL): the journey's process must not die
 * of SIGPIPE when a server closes.
 *
 * read_ahead stays off by default: OpenSSL then reads exactly one record
 * at a time (its header, then its body), so when a read says
 * TLS_WANT_READ nothing is buffered inside that epoll would not announce,
 * and the caller may stop reading a busy connection at any point and come
 * back on readiness. An HTTP/2 connection, which reads many small records,
 * turns it on (tls_read_ahead) and checks tls_pending.
 *
 * Trust: with verification on, the system's CAs come from OpenSSL's
 * default directory (/etc/ssl/certs, hashed names looked up when needed,
 * as libcurl's CA path), and a CA file adds its certificates, as libcurl's
 * CAINFO does next to its CA path.
 */
#include "runner/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Unreferenced contexts kept for reuse beyond this many are freed. */
#define TLS_REG_KEEP 16

struct tls_reg {
	tls_ctx *ctxs;
	size_t n;
};

struct tls_ctx {
	SSL_CTX *ssl_ctx; /* made at the first connection */
	tls_reg *reg; /* NULL once the registry is gone */
	tls_ctx *prev, *next;
	int refs;
	/* the settings, to find it again */
	int verify, min_version, max_version, no_resume;
	char *ca_file, *cert, *key, *key_pass, *alpn;
};

struct tls_conn {
	SSL *ssl;
	tls_ctx *ctx;
	int fd;
	int eof; /* the peer closed (the BIO's EOF) */
	int port;
	int ip; /* host is an IP literal */
	const char *host;
	tls_session **cache;
};

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

/* ---- the BIO: the socket, with MSG_NOSIGNAL ------------------------------ */

static int bio_write(BIO *b, const char *data, int len)
{
	tls_conn *c = BIO_get_data(b);
	ssize_t k;

	BIO_clear_retry_flags(b);
	do
		k = send(c->fd, data, (size_t)len, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return (int)k;
}

static int bio_read(BIO *b, char *buf, int len)
{
	tls_conn *c = BIO_get_data(b);
	ssize_t k;

	BIO_clear_retry_flags(b);
	do
		k = recv(c->fd, buf, (size_t)len, 0);
	while (k < 0 && errno == EINTR);
	if (k == 0)
		c->eof = 1;
	else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(b);
	return (int)k;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	tls_conn *c = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_EOF:
		return c ? c->eof : 1;
	default:
		return 0;
	}
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static void bio_init_method(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mite socket");

	if (!m)
		return;
	BIO_meth_set_write(m, bio_write);
	BIO_meth_set_read(m, bio_read);
	BIO_meth_set_ctrl(m, bio_ctrl);
	BIO_meth_set_create(m, bio_create);
	bio_method = m;
}

/* ---- failures, in libcurl's words ------------------------------------------ */

static void fail_set(tls_fail *f, int kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail_set(tls_fail *f, int kind, const char *fmt, ...)
{
	va_list ap;

	f->kind = kind;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

/* "OpenSSL/3.0.19: error:...": libcurl's ossl_strerror. */
static void ossl_strerror(unsigned long e, char *buf, size_t len)
{
	int n = snprintf(buf, len, "OpenSSL/%s: ", OpenSSL_version(OPENSSL_VERSION_STRING));

	if (n < 0 || (size_t)n >= len)
		return;
	ERR_error_string_n(e, buf + n, len - (size_t)n);
}

static const char *ssl_error_name(int detail)
{
	switch (detail) {
	case SSL_ERROR_NONE:
		return "SSL_ERROR_NONE";
	case SSL_ERROR_SSL:
		return "SSL_ERROR_SSL";
	case SSL_ERROR_WANT_READ:
		return "SSL_ERROR_WANT_READ";
	case SSL_ERROR_WANT_WRITE:
		return "SSL_ERROR_WANT_WRITE";
	case SSL_ERROR_WANT_X509_LOOKUP:
		return "SSL_ERROR_WANT_X509_LOOKUP";
	case SSL_ERROR_SYSCALL:
		return "SSL_ERROR_SYSCALL";
	case SSL_ERROR_ZERO_RETURN:
		return "SSL_ERROR_ZERO_RETURN";
	case SSL_ERROR_WANT_CONNECT:
		return "SSL_ERROR_WANT_CONNECT";
	case SSL_ERROR_WANT_ACCEPT:
		return "SSL_ERROR_WANT_ACCEPT";
	default:
		return "SSL_ERROR unknown";
	}
}

/* A handshake that failed (detail: SSL_get_error's), worded as libcurl
 * 7.88's ossl_connect_step2 does. */
static void handshake_failed(tls_conn *c, int detail, int oserr, tls_fail *f)
{
	unsigned long e = ERR_get_error();
	int lib = ERR_GET_LIB(e), reason = ERR_GET_REASON(e);
	char buf[256];

	f->oserr = oserr;
	if (lib == ERR_LIB_SSL &&
	    (reason == SSL_R_CERTIFICATE_VERIFY_FAILED ||
	     reason == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED)) {
		f->verify = SSL_get_verify_result(c->ssl);
		if (f->verify != X509_V_OK)
			fail_set(f, TLS_F_VERIFY, "SSL certificate problem: %s",
				 X509_verify_cert_error_string(f->verify));
		else
			fail_set(f, TLS_F_VERIFY, "SSL certificate verification failed");
	} else if (lib == ERR_LIB_SSL && reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED) {
		ossl_strerror(e, buf, sizeof(buf));
		fail_set(f, TLS_F_CLIENTCERT, "%s", buf);
	} else if (e == 0) {
		/* OpenSSL says nothing: the peer closed or reset. */
		const char *why = oserr && detail == SSL_ERROR_SYSCALL ? strerror(oserr)
								       : ssl_error_name(detail);
		fail_set(f, TLS_F_HANDSHAKE, "OpenSSL SSL_connect: %s in connection to %s:%d ", why,
			 c->host, c->port);
	} else {
		ossl_strerror(e, buf, sizeof(buf));
		fail_set(f, TLS_F_HANDSHAKE, "%s", buf);
	}
	ERR_clear_error();
}

/* ---- host names -------------------------------------------------------------- */

static int is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* Checks the peer certificate's names against the host, as libcurl's
 * verifyhost: subject alternative names of the host's kind, else (when
 * the certificate has none of DNS or IP kind) its last common name. */
static int check_host(tls_conn *c, tls_fail *f)
{
	X509 *cert = SSL_get0_peer_certificate(c->ssl);
	GENERAL_NAMES *alt;
	int has_alt = 0, ok, idx;

	if (!cert) {
		fail_set(f, TLS_F_VERIFY, "SSL: couldn't get peer certificate!");
		return TLS_ERR;
	}
	if (c->ip)
		ok = X509_check_ip_asc(cert, c->host, 0) == 1;
	else
		ok = X509_check_host(cert, c->host, 0,
				     X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
					     X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
				     NULL) == 1;
	if (ok)
		return TLS_OK;
	alt = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; alt && i < sk_GENERAL_NAME_num(alt); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(alt, i);
		if (g->type == GEN_DNS || g->type == GEN_IPADD)
			has_alt = 1;
	}
	GENERAL_NAMES_free(alt);
	f->verify = c->ip ? X509_V_ERR_IP_ADDRESS_MISMATCH : X509_V_ERR_HOSTNAME_MISMATCH;
	if (has_alt) {
		fail_set(
			f, TLS_F_VERIFY,
			"SSL: no alternative certificate subject name matches target host name '%s'",
			c->host);
		return TLS_ERR;
	}
	/* No alternative names: the last common name. */
	idx = X509_NAME_get_index_by_NID(X509_get_subject_name(cert), NID_commonName, -1);
	for (int i = idx; i >= 0;
	     i = X509_NAME_get_index_by_NID(X509_get_subject_name(cert), NID_commonName, i))
		idx = i;
	if (idx < 0) {
		fail_set(f, TLS_F_VERIFY,
			 "SSL: unable to obtain common name from peer certificate");
		return TLS_ERR;
	}
	{
		ASN1_STRING *d = X509_NAME_ENTRY_get_data(
			X509_NAME_get_entry(X509_get_subject_name(cert), idx));
		unsigned char *cn = NULL;
		int n = ASN1_STRING_to_UTF8(&cn, d);

		if (n < 0) {
			fail_set(f, TLS_F_VERIFY,
				 "SSL: unable to obtain common name from peer certificate");
			return TLS_ERR;
		}
		if (c->ip && (size_t)n == strlen(c->host) && memcmp(cn, c->host, (size_t)n) == 0) {
			OPENSSL_free(cn);
			f->verify = X509_V_OK;
			return TLS_OK;
		}
		fail_set(f, TLS_F_VERIFY,
			 "SSL: certificate subject name '%.*s' does not match target "
			 "host name '%s'",
			 n > 128 ? 128 : n, (const char *)cn, c->host);
		OPENSSL_free(cn);
	}
	return TLS_ERR;
}

/* ---- contexts ------------------------------------------------------------------ */

tls_reg *tls_reg_new(void)
{
	return calloc(1, sizeof(tls_reg));
}

static void ctx_free(tls_ctx *c)
{
	SSL_CTX_free(c->ssl_ctx);
	free(c->ca_file);
	free(c->cert);
	free(c->key);
	free(c->key_pass);
	free(c->alpn);
	free(c);
}

static void ctx_unlink(tls_ctx *c)
{
	tls_reg *r = c->reg;

	if (!r)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		r->ctxs = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	c->reg = NULL;
	r->n--;
}

void tls_reg_free(tls_reg *r)
{
	tls_ctx *c;

	if (!r)
		return;
	while ((c = r->ctxs)) {
		ctx_unlink(c);
		if (c->refs == 0)
			ctx_free(c);
	}
	free(r);
}

static int str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static int opts_match(const tls_ctx *c, const tls_opts *o)
{
	return c->verify == (o->verify != 0) && c->min_version == o->min_version &&
		c->max_version == o->max_version && c->no_resume == (o->no_resume != 0) &&
		str_eq(c->ca_file, o->ca_file) && str_eq(c->cert, o->cert) &&
		str_eq(c->key, o->key) && str_eq(c->key_pass, o->key_pass) &&
		str_eq(c->alpn, o->alpn);
}

static int dup_opt(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

/* A new session from the server: it replaces the connection's cached one. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	tls_conn *c = SSL_get_app_data(ssl);

	if (!c || !c->cache)
		return 0;
	if (*c->cache)
		SSL_SESSION_free(*c->cache);
	*c->cache = sess;
	return 1; /* the reference is ours */
}

static int proto_version(int v)
{
	return v == TLS_V1_2 ? TLS1_2_VERSION : v == TLS_V1_3 ? TLS1_3_VERSION : 0;
}

/* The client certificate and key, as libcurl loads them. */
static int load_cert(tls_ctx *c, tls_fail *f)
{
	SSL_CTX *sc = c->ssl_ctx;
	const char *key = c->key ? c->key : c->cert;
	char buf[256];

	if (SSL_CTX_use_certificate_chain_file(sc, c->cert) != 1) {
		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		fail_set(f, TLS_F_CERT,
			 "could not load PEM client certificate from %s, OpenSSL error "
			 "%s, (no key found, wrong pass phrase, or wrong file format?)",
			 c->cert, buf);
		return -1;
	}
	if (c->key_pass)
		SSL_CTX_set_default_passwd_cb_userdata(sc, c->key_pass);
	if (SSL_CTX_use_PrivateKey_file(sc, key, SSL_FILETYPE_PEM) != 1) {
		fail_set(f, TLS_F_CERT, "unable to set private key file: '%s' type PEM", key);
		return -1;
	}
	if (SSL_CTX_check_private_key(sc) != 1) {
		fail_set(f, TLS_F_CERT, "Private key does not match the certificate public key");
		return -1;
	}
	return 0;
}

/* Makes c's SSL_CTX. 0, or -1 with f filled. */
static int ctx_setup(tls_ctx *c, tls_fail *f)
{
	SSL_CTX *sc;

	pthread_once(&bio_once, bio_init_method);
	if (!bio_method || !(sc = c->ssl_ctx = SSL_CTX_new(TLS_client_method()))) {
		fail_set(f, TLS_F_NOMEM, "out of memory");
		return -1;
	}

	SSL_CTX_set_mode(sc,
			 SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
				 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* A close without close_notify ends a body delimited by the close, as
	 * with plain HTTP (servers do that). */
	SSL_CTX_set_options(sc, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
	if ((c->min_version && !SSL_CTX_set_min_proto_version(sc, proto_version(c->min_version))) ||
	    (c->max_version && !SSL_CTX_set_max_proto_version(sc, proto_version(c->max_version)))) {
		fail_set(f, TLS_F_HANDSHAKE, "OpenSSL: cannot set the TLS versions");
		return -1;
	}
	if (c->verify) {
		SSL_CTX_set_verify(sc, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_default_verify_dir(sc);
		if (c->ca_file && SSL_CTX_load_verify_locations(sc, c->ca_file, NULL) != 1) {
			fail_set(f, TLS_F_CAFILE, "error setting certificate file: %s", c->ca_file);
			return -1;
		}
	} else {
		SSL_CTX_set_verify(sc, SSL_VERIFY_NONE, NULL);
	}
	if (c->cert && load_cert(c, f) < 0)
		return -1;
	if (c->alpn &&
	    SSL_CTX_set_alpn_protos(sc, (const unsigned char *)c->alpn,
				    (unsigned)strlen(c->alpn)) != 0) {
		fail_set(f, TLS_F_NOMEM, "out of memory");
		return -1;
	}
	if (c->no_resume) {
		SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(sc, SSL_OP_NO_TICKET);
	} else {
		/* Sessions live with the caller (per origin), not in OpenSSL's
		 * cache. */
		SSL_CTX_set_session_cache_mode(
			sc, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(sc, on_new_session);
	}
	return 0;
}

/* Frees unreferenced contexts beyond what the registry keeps. */
static void reg_prune(tls_reg *r)
{
	tls_ctx *c = r->ctxs, *next;

	for (; c && r->n > TLS_REG_KEEP; c = next) {
		next = c->next;
		if (c->refs == 0) {
			ctx_unlink(c);
			ctx_free(c);
		}
	}
}

tls_ctx *tls_ctx_get(tls_reg *r, const tls_opts *o)
{
	tls_ctx *c;

	for (c = r->ctxs; c; c = c->next)
		if (opts_match(c, o)) {
			c->refs++;
			return c;
		}
	if (!(c = calloc(1, sizeof(*c))))
		return NULL;
	c->verify = o->verify != 0;
	c->min_version = o->min_version;
	c->max_version = o->max_version;
	c->no_resume = o->no_resume != 0;
	if (dup_opt(&c->ca_file, o->ca_file) < 0 || dup_opt(&c->cert, o->cert) < 0 ||
	    dup_opt(&c->key, o->key) < 0 || dup_opt(&c->key_pass, o->key_pass) < 0 ||
	    dup_opt(&c->alpn, o->alpn) < 0) {
		ctx_free(c);
		return NULL;
	}
	c->refs = 1;
	c->reg = r;
	c->next = r->ctxs;
	if (r->ctxs)
		r->ctxs->prev = c;
	r->ctxs = c;
	r->n++;
	reg_prune(r);
	return c;
}

void tls_ctx_ref(tls_ctx *c)
{
	c->refs++;
}

void tls_ctx_put(tls_ctx *c)
{
	if (!c || --c->refs > 0)
		return;
	if (!c->reg)
		ctx_free(c); /* its registry is gone */
	else if (c->reg->n > TLS_REG_KEEP)
		reg_prune(c->reg);
}

/* ---- connections ------------------------------------------------------------------ */

tls_conn *tls_conn_new(tls_ctx *ctx, int fd, const char *host, int port, tls_session **cache,
		       tls_fail *f)
{
	tls_conn *c;
	BIO *b;

	f->kind = TLS_F_NONE;
	f->verify = X509_V_OK;
	f->oserr = 0;
	f->msg[0] = 0;
	if (!ctx->ssl_ctx && ctx_setup(ctx, f) < 0) {
		/* (Made again at the next connection: the file may be
		 * fixed meanwhile.) */
		SSL_CTX_free(ctx->ssl_ctx);
		ctx->ssl_ctx = NULL;
		ERR_clear_error();
		return NULL;
	}
	if (!(c = calloc(1, sizeof(*c))))
		goto nomem;
	c->ssl = SSL_new(ctx->ssl_ctx);
	b = c->ssl ? BIO_new(bio_method) : NULL;
	if (!b) {
		SSL_free(c->ssl);
		free(c);
		ERR_clear_error();
		goto nomem;
	}
	c->ctx = ctx;
	c->fd = fd;
	c->host = host;
	c->port = port;
	c->ip = is_ip(host);
	c->cache = ctx->no_resume ? NULL : cache;
	BIO_set_data(b, c);
	SSL_set_bio(c->ssl, b, b);
	SSL_set_app_data(c->ssl, c);
	SSL_set_connect_state(c->ssl);
	if (!c->ip)
		SSL_set_tlsext_host_name(c->ssl, host);
	if (c->cache && *c->cache)
		SSL_set_session(c->ssl, *c->cache);
	return c;

nomem:
	fail_set(f, TLS_F_NOMEM, "out of memory");
	return NULL;
}

void tls_conn_free(tls_conn *c, int clean)
{
	if (!c)
		return;
	/* A close_notify keeps the session resumable; after a failure
	 * OpenSSL marks it unusable, as it should. */
	if (clean && SSL_is_init_finished(c->ssl)) {
		SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	SSL_free(c->ssl);
	free(c);
}

int tls_handshake(tls_conn *c, tls_fail *f)
{
	int r, detail;

	ERR_clear_error();
	errno = 0;
	r = SSL_connect(c->ssl);
	if (r == 1)
		return c->ctx->verify ? check_host(c, f) : TLS_OK;
	detail = SSL_get_error(c->ssl, r);
	if (detail == SSL_ERROR_WANT_READ)
		return TLS_WANT_READ;
	if (detail == SSL_ERROR_WANT_WRITE)
		return TLS_WANT_WRITE;
	/* A close in the handshake: SSL_OP_IGNORE_UNEXPECTED_EOF makes it a
	 * ZERO_RETURN, which libcurl (without it) sees as a SYSCALL. */
	if (detail == SSL_ERROR_ZERO_RETURN)
		detail = SSL_ERROR_SYSCALL;
	handshake_failed(c, detail, c->eof ? 0 : errno, f);
	return TLS_ERR;
}

/* The result of a failed SSL_read_ex / SSL_write_ex. */
static int io_failed(tls_conn *c, int kind, tls_fail *f)
{
	int detail = SSL_get_error(c->ssl, 0), err = errno;
	char buf[256];

	switch (detail) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_EOF;
	case SSL_ERROR_SYSCALL:
		if (c->eof || err == 0) {
			ERR_clear_error();
			return TLS_EOF;
		}
		f->oserr = err;
		fail_set(f, kind, "OpenSSL: %s", strerror(err));
		ERR_clear_error();
		return TLS_ERR;
	default:
		ossl_strerror(ERR_get_error(), buf, sizeof(buf));
		fail_set(f, kind, "%s", buf);
		f->oserr = 0;
		ERR_clear_error();
		return TLS_ERR;
	}
}

int tls_read(tls_conn *c, void *buf, size_t len, size_t *got, tls_fail *f)
{
	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(c->ssl, buf, len, got) == 1)
		return TLS_OK;
	*got = 0;
	return io_failed(c, TLS_F_RECV, f);
}

int tls_write(tls_conn *c, const void *buf, size_t len, size_t *put, tls_fail *f)
{
	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(c->ssl, buf, len, put) == 1)
		return TLS_OK;
	*put = 0;
	return io_failed(c, TLS_F_SEND, f);
}

void tls_read_ahead(tls_conn *c)
{
	SSL_set_read_ahead(c->ssl, 1);
}

int tls_pending(const tls_conn *c)
{
	return SSL_has_pending(c->ssl);
}

int tls_resumed(const tls_conn *c)
{
	return SSL_session_reused(c->ssl);
}

static int version_of(const SSL *ssl)
{
	switch (SSL_version(ssl)) {
	case TLS1_3_VERSION:
		return 13;
	case TLS1_2_VERSION:
		return 12;
	case TLS1_1_VERSION:
		return 11;
	case TLS1_VERSION:
		return 10;
	default:
		return 0;
	}
}

int tls_version(const tls_conn *c)
{
	return version_of(c->ssl);
}

const char *tls_alpn(const tls_conn *c, size_t *len)
{
	const unsigned char *p = NULL;
	unsigned n = 0;

	SSL_get0_alpn_selected(c->ssl, &p, &n);
	*len = n;
	return p ? (const char *)p : "";
}

void tls_session_free(tls_session *s)
{
	if (s)
		SSL_SESSION_free(s);
}

tls_session *tls_session_ref(tls_session *s)
{
	return s && SSL_SESSION_up_ref(s) == 1 ? s : NULL;
}

void tls_ssl_facts(void *ssl, int *resumed, int *version)
{
	*resumed = ssl ? SSL_session_reused(ssl) : 0;
	*version = ssl ? version_of(ssl) : 0;
}

const char *tls_check_words(int kind, long verify, const char *msg)
{
	/* libcurl checks the name itself: only its message says so. */
	if (msg && strstr(msg, "target host name"))
		return "name mismatch";
	switch (verify) {
	case 9: /* X509_V_ERR_CERT_NOT_YET_VALID */
		return "certificate not yet valid";
	case 10: /* X509_V_ERR_CERT_HAS_EXPIRED */
		return "certificate expired";
	case 2: /* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT */
	case 18: /* X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT */
	case 19: /* X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN */
	case 20: /* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY */
	case 21: /* X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE */
		return "unknown CA";
	case 23: /* X509_V_ERR_CERT_REVOKED */
		return "certificate revoked";
	case 62: /* X509_V_ERR_HOSTNAME_MISMATCH */
	case 64: /* X509_V_ERR_IP_ADDRESS_MISMATCH */
		return "name mismatch";
	}
	if (kind == TLS_F_VERIFY)
		return "certificate not trusted";
	if (kind == TLS_F_HANDSHAKE)
		return "handshake failed";
	return NULL;
}
