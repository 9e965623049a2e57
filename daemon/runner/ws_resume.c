/*
 * ws_resume.c - an instance's wss:// TLS sessions (see ws_resume.h).
 */
#include "config.h"

#include "runner/ws_resume.h"

#include <stdlib.h>
#include <string.h>

static ws_resume_entry *find(const ws_resume *r, const tls_ctx *tls, const char *host,
			     size_t host_len, int port)
{
	for (size_t i = 0; i < WS_RESUME_MAX; i++) {
		const ws_resume_entry *x = &r->e[i];

		if (x->tls == tls && x->port == port && x->host && strlen(x->host) == host_len &&
		    memcmp(x->host, host, host_len) == 0)
			return (ws_resume_entry *)x;
	}
	return NULL;
}

tls_session *ws_resume_offer(const ws_resume *r, const tls_ctx *tls, const char *host,
			     size_t host_len, int port)
{
	const ws_resume_entry *x = find(r, tls, host, host_len, port);

	return x && x->sess ? tls_session_ref(x->sess) : NULL;
}

static void entry_clear(ws_resume_entry *x)
{
	tls_session_free(x->sess);
	tls_ctx_put(x->tls);
	free(x->host);
	memset(x, 0, sizeof(*x));
}

void ws_resume_keep(ws_resume *r, tls_ctx *tls, const char *host, int port, tls_session *sess)
{
	ws_resume_entry *x;
	char *h;

	if (!sess || !tls || !host)
		return;
	if ((x = find(r, tls, host, strlen(host), port))) {
		tls_session_free(x->sess);
		x->sess = tls_session_ref(sess);
		return;
	}
	if (!(h = strdup(host)))
		return; /* (the next connection makes a full handshake) */
	x = &r->e[r->next];
	r->next = (r->next + 1) % WS_RESUME_MAX;
	entry_clear(x);
	tls_ctx_ref(tls);
	*x = (ws_resume_entry){
		.tls = tls, .host = h, .port = port, .sess = tls_session_ref(sess)
	};
}

void ws_resume_free(ws_resume *r)
{
	for (size_t i = 0; i < WS_RESUME_MAX; i++)
		entry_clear(&r->e[i]);
	r->next = 0;
}
