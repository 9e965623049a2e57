/*
 * tls.h - TLS for the native HTTP client (runner/http_native_tls.c), through
 * OpenSSL.
 *
 * Contexts (tls_ctx) hold what connections with the same settings share:
 * an SSL_CTX with its trusted CAs, client certificate, versions and ALPN.
 * A registry (tls_reg, one per HTTP engine) hands out one context per
 * distinct settings, reference-counted, so that a runner's sessions with
 * the same settings share one. Getting one is cheap (the settings are
 * copied); its SSL_CTX is made, and its files read, at its first
 * connection, on the event loop's stack rather than a journey's small
 * one, and a file that does not load fails that connection as libcurl
 * would fail it.
 *
 * Connections (tls_conn) drive an SSL object on a non-blocking socket the
 * caller owns and watches (SSL on the fd through a BIO of ours that sends
 * with MSG_NOSIGNAL, so a closed peer is an error, not SIGPIPE). Every call
 * returns at once: TLS_WANT_READ / TLS_WANT_WRITE say what to wait for.
 * Buffers are released while a connection is idle
 * (SSL_MODE_RELEASE_BUFFERS).
 *
 * Failures are worded as libcurl 7.88 words them with OpenSSL, so that a
 * journey cannot tell which client failed: the tls_fail a call fills says
 * which libcurl code the failure corresponds to, OpenSSL's verification
 * result, and the message.
 */
#ifndef MITE_RUNNER_TLS_H
#define MITE_RUNNER_TLS_H

#include <stddef.h>
#include <sys/types.h>

/* TLS protocol versions (tls_opts.min_version, max_version). */
#define TLS_V1_2 12
#define TLS_V1_3 13

/* The longest message a failure keeps (longer ones are cut). */
#define TLS_MSG_MAX 320

typedef struct tls_reg tls_reg;
typedef struct tls_ctx tls_ctx;
typedef struct tls_conn tls_conn;
/* A session to resume (OpenSSL's SSL_SESSION), kept by the caller. */
typedef struct ssl_session_st tls_session;

/* A context's settings. Strings are copied. */
typedef struct tls_opts {
	int verify; /* check the peer's chain and host name */
	const char *ca_file; /* PEM CAs trusted besides the system's, or NULL */
	const char *cert; /* client certificate (PEM chain), or NULL */
	const char *key; /* its key (PEM; NULL: in cert), */
	const char *key_pass; /* ... and the key's password, or NULL */
	int min_version, max_version; /* TLS_V*, or 0: OpenSSL's default */
	int no_resume; /* never resume sessions */
	const char *alpn; /* ALPN protocols in wire format (each name after its
				  * length byte), NUL-terminated, or NULL */
} tls_opts;

/* What failed, as libcurl says it. */
enum {
	TLS_F_NONE = 0,
	TLS_F_HANDSHAKE, /* CURLE_SSL_CONNECT_ERROR */
	TLS_F_VERIFY, /* CURLE_PEER_FAILED_VERIFICATION (verify: the X509_V_ERR_*) */
	TLS_F_CERT, /* CURLE_SSL_CERTPROBLEM: the client certificate or key */
	TLS_F_CAFILE, /* CURLE_SSL_CACERT_BADFILE */
	TLS_F_CLIENTCERT, /* CURLE_SSL_CLIENTCERT: the server wanted a certificate */
	TLS_F_RECV, /* CURLE_RECV_ERROR */
	TLS_F_SEND, /* CURLE_SEND_ERROR */
	TLS_F_NOMEM, /* CURLE_OUT_OF_MEMORY */
};

typedef struct tls_fail {
	int kind; /* TLS_F_* */
	long verify; /* X509_V_OK (0), or the X509_V_ERR_* code */
	int oserr; /* the errno behind it, or 0 */
	char msg[TLS_MSG_MAX];
} tls_fail;

/* Call results. */
enum {
	TLS_OK = 0,
	TLS_WANT_READ = 1,
	TLS_WANT_WRITE = 2,
	TLS_EOF = 3, /* the peer closed (close_notify or a bare close) */
	TLS_ERR = -1, /* failed: the tls_fail says why */
};

/* ---- contexts ---------------------------------------------------------- */

tls_reg *tls_reg_new(void);
/* Frees the registry; contexts still referenced live on until put. */
void tls_reg_free(tls_reg *r);
/* The context for o (a reference the caller puts), or NULL on ENOMEM. */
tls_ctx *tls_ctx_get(tls_reg *r, const tls_opts *o);
void tls_ctx_ref(tls_ctx *c);
void tls_ctx_put(tls_ctx *c);

/* ---- connections --------------------------------------------------------- */

/* A client connection over fd (connected, non-blocking) to host (a
 * NUL-terminated name or IP literal, borrowed for the connection's life;
 * an IP literal gets no SNI, as with libcurl) on port. When the context
 * resumes sessions, *cache is the session to offer (or NULL) and receives
 * each new one the server issues (the old one is freed); cache must
 * outlive the connection. NULL with f filled: the context's CA file or
 * client certificate does not load (made at the first connection), or
 * ENOMEM. */
tls_conn *tls_conn_new(tls_ctx *c, int fd, const char *host, int port, tls_session **cache,
		       tls_fail *f);
/* Frees c; clean: the connection ended well (a close_notify goes out, and
 * its session stays resumable). Does not close the fd. */
void tls_conn_free(tls_conn *c, int clean);
/* Advances the handshake, then checks the host name when verifying.
 * TLS_OK when done, TLS_WANT_*, or TLS_ERR with f filled. */
int tls_handshake(tls_conn *c, tls_fail *f);
/* Reads application data into buf: TLS_OK with *got > 0, TLS_WANT_*,
 * TLS_EOF, or TLS_ERR with f filled (TLS_F_RECV). Each call reads at most
 * one record: nothing stays buffered inside for a later call (unless
 * tls_read_ahead was called). */
int tls_read(tls_conn *c, void *buf, size_t len, size_t *got, tls_fail *f);
/* Writes up to len bytes: TLS_OK with *put > 0 (maybe fewer than len),
 * TLS_WANT_*, or TLS_ERR with f filled (TLS_F_SEND). After a TLS_WANT_*,
 * call again with the same bytes. */
int tls_write(tls_conn *c, const void *buf, size_t len, size_t *put, tls_fail *f);
/* Reads ahead from now on: a read takes what the socket has (as many
 * records as fit OpenSSL's buffer), not one record; what it keeps for the
 * next reads shows in tls_pending (epoll does not announce it). For
 * connections that read much (HTTP/2). */
void tls_read_ahead(tls_conn *c);
/* Whether bytes read from the socket wait inside OpenSSL. */
int tls_pending(const tls_conn *c);
/* Whether the handshake resumed a session; the version (12, 13). */
int tls_resumed(const tls_conn *c);
int tls_version(const tls_conn *c);
/* The protocol ALPN chose ("" when none); owned by c. */
const char *tls_alpn(const tls_conn *c, size_t *len);

void tls_session_free(tls_session *s);
/* Another reference to s (free each with tls_session_free); NULL for NULL. */
tls_session *tls_session_ref(tls_session *s);

/* Which check of TLS failed, in a word or two ("unknown CA", "name
 * mismatch", "certificate expired", ...), from a failure's kind (TLS_F_*),
 * OpenSSL's verification result (verify: an X509_V_ERR_* of
 * openssl/x509_vfy.h, whose values are stable) and its message (may be
 * NULL), or NULL: the words every TLS failure of mite starts with. */
const char *tls_check_words(int kind, long verify, const char *msg);

/* ---- facts of another's SSL object (libcurl's) --------------------------- */

/* Whether ssl (an OpenSSL SSL *) resumed a session, and its version (12,
 * 13; 0 when unknown). */
void tls_ssl_facts(void *ssl, int *resumed, int *version);

#endif
