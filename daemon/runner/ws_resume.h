/*
 * ws_resume.h - an instance's TLS sessions for wss://, kept from one
 * connection to the next so that reconnecting resumes (as the instance's
 * https:// connections do): one per (TLS settings, host, port), at most
 * WS_RESUME_MAX, the oldest replaced. A session is only offered under the
 * settings it was made with (the context pointer, a held reference), so a
 * journey that turns verification on never resumes one made without it.
 */
#ifndef MITE_RUNNER_WS_RESUME_H
#define MITE_RUNNER_WS_RESUME_H

#include "runner/tls.h"

#include <stddef.h>

#define WS_RESUME_MAX 4

typedef struct ws_resume_entry {
	tls_ctx *tls; /* a reference */
	char *host;
	int port;
	tls_session *sess;
} ws_resume_entry;

typedef struct ws_resume {
	ws_resume_entry e[WS_RESUME_MAX];
	size_t next; /* the slot replaced next when all are used */
} ws_resume;

/* The session to offer a new connection to host:port under tls (a
 * reference the caller owns), or NULL. */
tls_session *ws_resume_offer(const ws_resume *r, const tls_ctx *tls, const char *host,
			     size_t host_len, int port);
/* Keeps sess (a reference is taken; NULL: nothing) for host:port under tls. */
void ws_resume_keep(ws_resume *r, tls_ctx *tls, const char *host, int port, tls_session *sess);
void ws_resume_free(ws_resume *r);

#endif
