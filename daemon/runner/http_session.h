/*
 * http_session.h - an instance's HTTP session: its settings (the rare
 * ones in struct xopts, made on first use), its place in the engine's
 * list, its TLS context for the native client, and the wait for its
 * transfer in flight.
 */
#ifndef MITE_RUNNER_HTTP_SESSION_H
#define MITE_RUNNER_HTTP_SESSION_H

#include "runner/http_int.h"

/* A new session of instance ctx on e, with the default settings (NULL on
 * ENOMEM). e reads the run's config at its first. */
session *http_session_new(http_engine *e, struct mite_ctx *ctx);
/* Stops what s has in flight, releases its responses and frees it. */
void http_session_free(session *s);
/* The session's responses go; its cookie jar starts empty. */
void http_session_new_iteration(session *s);
/* Releases every live response of s. */
void http_session_release_all(session *s);

/* The session's rare settings, created on first use (NULL on ENOMEM). */
struct xopts *http_session_xopts(session *s);
/* Sets a copied setting string (or an int) of s's rare ones (src NULL:
 * none), noting a real change: the session's own easy handle and TLS
 * context go (made again at the next request). 0 or MITE_ENOMEM. */
int http_session_xopt_str(session *s, char **dst, const char *src);
void http_session_xopt_int(session *s, int *dst, int v);
/* Replaces *dst with a copy of src (NULL: none). 0 or MITE_ENOMEM. */
int http_session_copy_str(char **dst, const char *src);
/* The native client's TLS context for s's settings (NULL on ENOMEM).
 * Cheap: its SSL_CTX is made at its first connection, on the loop. */
tls_ctx *http_session_tls(session *s);
/* A TLS context with s's TLS settings (verification, CA file, client
 * certificate, versions, resumption) offering HTTP/1.1 alone in ALPN,
 * whatever s's HTTP version: for another protocol that starts as an
 * HTTP/1.1 request (a WebSocket's Upgrade). A reference the caller puts;
 * NULL on ENOMEM or when the engine has no native TLS. */
tls_ctx *http_session_tls_http1(session *s);
/* s's transfer ended (from the loop): the instance parked for it wakes,
 * or the batch lane that started it goes on. */
void http_session_done(session *s);
/* Parks until the transfer started ends. 0, or MITE_ECANCELED. */
int http_session_park(session *s);

#endif
