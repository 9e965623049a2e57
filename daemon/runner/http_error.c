/* http_error.c - see http_error.h. */
#include "runner/http_error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *http_error_class(CURLcode res, long oserr)
{
	switch (res) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return "dns";
	case CURLE_COULDNT_CONNECT:
		return oserr == ECONNREFUSED ? "refused" : "connect";
	case CURLE_OPERATION_TIMEDOUT:
		return "timeout";
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return "reset";
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
		return "tls";
	case CURLE_TOO_MANY_REDIRECTS:
		return "redirects";
	default:
		return "other";
	}
}

/* The libcurl code a native failure corresponds to, so that both engines
 * classify and word errors alike. */
CURLcode http_error_native_code(int err)
{
	switch (err) {
	case HN_EDNS:
		return CURLE_COULDNT_RESOLVE_HOST;
	case HN_ECONNECT:
		return CURLE_COULDNT_CONNECT;
	case HN_ETIMEOUT:
		return CURLE_OPERATION_TIMEDOUT;
	case HN_ESEND:
		return CURLE_SEND_ERROR;
	case HN_ERECV:
		return CURLE_RECV_ERROR;
	case HN_ENOTHING:
		return CURLE_GOT_NOTHING;
	case HN_EPARTIAL:
		return CURLE_PARTIAL_FILE;
	case HN_EPARSE:
	case HN_EHEADSIZE:
		return CURLE_WEIRD_SERVER_REPLY;
	case HN_EBODYSIZE:
		return CURLE_WRITE_ERROR; /* as our write callback's refusal */
	case HN_EHTTP09:
		return CURLE_UNSUPPORTED_PROTOCOL;
	case HN_ENOMEM:
		return CURLE_OUT_OF_MEMORY;
	case HN_ERESET:
	case HN_EREFUSED:
		return CURLE_HTTP2_STREAM;
	default:
		return CURLE_ABORTED_BY_CALLBACK;
	}
}

/* The libcurl code of a TLS failure of the native client. */
CURLcode http_error_tls_code(int kind)
{
	switch (kind) {
	case TLS_F_VERIFY:
		return CURLE_PEER_FAILED_VERIFICATION;
	case TLS_F_CERT:
		return CURLE_SSL_CERTPROBLEM;
	case TLS_F_CAFILE:
		return CURLE_SSL_CACERT_BADFILE;
	case TLS_F_CLIENTCERT:
		return CURLE_SSL_CLIENTCERT;
	case TLS_F_RECV:
		return CURLE_RECV_ERROR;
	case TLS_F_SEND:
		return CURLE_SEND_ERROR;
	case TLS_F_NOMEM:
		return CURLE_OUT_OF_MEMORY;
	default:
		return CURLE_SSL_CONNECT_ERROR;
	}
}

/* Which check of TLS failed (tls_check_words, which both clients and
 * wss:// share), from the libcurl code, its message and OpenSSL's
 * verification result, or NULL. */
static const char *tls_check(CURLcode res, long verify, const char *msg)
{
	int kind = res == CURLE_PEER_FAILED_VERIFICATION ? TLS_F_VERIFY
		: res == CURLE_SSL_CONNECT_ERROR         ? TLS_F_HANDSHAKE
							 : TLS_F_NONE;

	return tls_check_words(kind, verify, msg);
}

/* Keeps the words of a TLS failure (code res, OpenSSL's verification
 * result, the client's message) in the engine's errtext: which check
 * failed, then the message. */
void http_error_tls_words(session *s, CURLcode res, long verify, const char *msg, int msglen)
{
	http_engine *e = s->e;
	const char *check = tls_check(res, verify, msg);

	if (!msg[0]) {
		msg = curl_easy_strerror(res);
		msglen = (int)strlen(msg);
	}
	snprintf(e->errtext, sizeof(e->errtext), "%s%s%.*s", check ? check : "", check ? ": " : "",
		 msglen, msg);
	s->fail = HF_TLS;
}

/* The class and message of a failed hop; both clients word them alike. */
void http_error_of_hop(session *s, const resp *r, const char **cls, const char **why)
{
	char *t = s->e->errtext;
	size_t n = sizeof(s->e->errtext);

	*cls = http_error_class(s->result, s->oserr);
	*why = curl_easy_strerror(s->result);
	switch (s->fail) {
	case HF_BODY:
		*cls = "body_too_large";
		snprintf(t, n, "body over %zu bytes (the limit per response)", r->limit);
		*why = t;
		break;
	case HF_HELD:
		*cls = "body_too_large";
		snprintf(t, n,
			 "the session's responses would keep over %zu bytes of body (the "
			 "limit per session)",
			 s->max_held);
		*why = t;
		break;
	case HF_HEADER:
		*cls = "header_too_large";
		snprintf(t, n, "response header over %d bytes", HTTP_MAX_HEADER);
		*why = t;
		break;
	case HF_HTTP09:
		*cls = "other";
		*why = "no status line in the reply (HTTP/0.9, or not HTTP)";
		break;
	case HF_TLS:
		*why = t; /* libcurl's own message, kept by curl_failure */
		break;
	}
}

/* Records a failure through the host (its fail takes a va_list). */
static int http_fail(const http_host *host, struct mite_ctx *ctx, const char *file, int line,
		     const char *func, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int http_fail(const http_host *host, struct mite_ctx *ctx, const char *file, int line,
		     const char *func, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = host->fail(ctx, NULL, file, line, func, fmt, ap);
	va_end(ap);
	return rc;
}

int http_error_transport(session *s, const char *method, const char *url, const char *cls,
			 const char *why, const char *file, int line, const char *func)
{
	const http_host *host = s->e->host;
	stats_entry *e = stats_get(host->stats(s->ctx), SK_HTTPERR.name,
				   (const char *const[]){ host->journey_name(s->ctx),
							  host->txn_name(s->ctx), method, cls },
				   SK_HTTPERR.nlabels);
	if (e)
		stats_add(e, 0, 1);
	http_fail(host, s->ctx, file, line, func, "%s %s failed (%s): %s", method, url, cls, why);
	return strcmp(cls, "timeout") == 0 ? MITE_ETIMEDOUT : MITE_EIO;
}
