/*
 * http_error.h - a failed hop in words both clients share: its class
 * (dns, refused, connect, timeout, reset, tls, redirects, body_too_large,
 * header_too_large, other) and message, libcurl's codes and texts for the
 * native client's failures, which TLS check failed; and the record of a
 * transport error (counted in httperr, failing the transaction).
 */
#ifndef MITE_RUNNER_HTTP_ERROR_H
#define MITE_RUNNER_HTTP_ERROR_H

#include "runner/http_int.h"

/* The class of libcurl code res (oserr: the errno behind a connect). */
const char *http_error_class(CURLcode res, long oserr);
/* The libcurl code a native failure (HN_E*) corresponds to, and a native
 * TLS failure's (TLS_F_*). */
CURLcode http_error_native_code(int err);
CURLcode http_error_tls_code(int kind);
/* Keeps the words of a TLS failure (code res, OpenSSL's verification
 * result, the client's message of at most msglen bytes) in the engine's
 * errtext: which check failed, then the message; s->fail = HF_TLS. */
void http_error_tls_words(session *s, CURLcode res, long verify, const char *msg, int msglen);
/* The class and message of s's failed hop (r: its response). */
void http_error_of_hop(session *s, const resp *r, const char **cls, const char **why);
/* Records a transport error of method on url: counted in httperr, and a
 * failure "METHOD URL failed (CLASS): WHY" at file:line:func. Returns
 * MITE_ETIMEDOUT for class timeout, else MITE_EIO. */
int http_error_transport(session *s, const char *method, const char *url, const char *cls,
			 const char *why, const char *file, int line, const char *func);

#endif
