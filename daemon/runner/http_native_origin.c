/*
 * http_native_origin.c - the native client's origins (see
 * http_native_int.h): host, port, TLS context and HTTP/2 mode, each with
 * its addresses (a DNS cache: uv_getaddrinfo, kept HTTP_NATIVE_DNS_TTL
 * seconds; numeric hosts need none), its pool of connections, and the
 * transfers waiting for its addresses.
 */
#include "runner/http_native_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HN_MAX_ORIGINS 1024

void http_native_origin_free(hn_origin *o)
{
	tls_session_free(o->sess);
	tls_ctx_put(o->tls);
	free(o->host);
	free(o);
}

static void waiters_add(hn_origin *o, http_native_xfer *x)
{
	x->wprev = NULL;
	x->wnext = o->waiters;
	if (o->waiters)
		o->waiters->wprev = x;
	o->waiters = x;
	x->wlist = &o->waiters;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	hn_origin *o = req->data;
	http_native *n = o->n;
	http_native_xfer *x;
	int na = 0, rc;

	o->resolving = 0;
	n->pending--;
	if (status == 0) {
		for (struct addrinfo *ai = res; ai && na < HN_MAX_ADDRS; ai = ai->ai_next) {
			if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
			    ai->ai_addrlen > sizeof(o->addrs[0]))
				continue;
			memcpy(&o->addrs[na++], ai->ai_addr, ai->ai_addrlen);
		}
		o->naddrs = na;
		o->expires = uv_hrtime() + (uint64_t)HTTP_NATIVE_DNS_TTL * 1000000000u;
	}
	uv_freeaddrinfo(res);
	if (n->closing) {
		http_native_maybe_done(n);
		return;
	}
	/* Hand the addresses to every waiter. Each may end (and its journey
	 * start new requests) before the next is served, so the waiters move
	 * to a list of their own that cancellations also find. */
	o->processing = o->waiters;
	for (x = o->processing; x; x = x->wnext)
		x->wlist = &o->processing;
	o->waiters = NULL;
	n->pending++; /* (n stays while its waiters' journeys run) */
	while ((x = o->processing) && !n->closing) {
		http_native_unwait(x);
		x->t_resolved = uv_hrtime();
		if (status < 0 || na == 0) {
			http_native_finish(x, HN_EDNS);
			continue;
		}
		x->addr_idx = 0;
		if ((rc = http_native_conn_connect(x)))
			http_native_finish(x, rc);
	}
	n->pending--;
	http_native_maybe_done(n);
}

/* A numeric host needs no resolution, ever: its address, now. */
static void numeric_addr(hn_origin *o)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&o->addrs[0];
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o->addrs[0];

	if (uv_ip4_addr(o->host, o->port, a4) == 0)
		o->naddrs = 1;
	else if (memchr(o->host, ':', o->host_len) && uv_ip6_addr(o->host, o->port, a6) == 0)
		o->naddrs = 1;
	else
		memset(&o->addrs[0], 0, sizeof(o->addrs[0]));
}

/* The origin of host:port with TLS context tls (NULL: plain), created on
 * first use (NULL on ENOMEM). */
hn_origin *http_native_origin_get(http_native *n, const char *host, size_t hl, int port,
				  tls_ctx *tls, int h2mode)
{
	hn_origin *o, **pp;

	for (pp = &n->origins; (o = *pp); pp = &o->next)
		if (o->port == port && o->tls == tls && o->h2mode == h2mode && o->host_len == hl &&
		    strncasecmp(o->host, host, hl) == 0) {
			if (pp != &n->origins) {
				/* Most recently used first: few origins are hot. */
				*pp = o->next;
				o->next = n->origins;
				n->origins = o;
			}
			return o;
		}
	if (n->norigins >= HN_MAX_ORIGINS) {
		/* Forget an origin nothing uses, so that a journey visiting
		 * endless hosts does not grow the list. */
		for (pp = &n->origins; (o = *pp); pp = &o->next)
			if (!o->nconns && !o->resolving && !o->waiters && !o->processing) {
				*pp = o->next;
				http_native_origin_free(o);
				n->norigins--;
				break;
			}
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->host = malloc(hl + 1);
	if (!o->host) {
		free(o);
		return NULL;
	}
	memcpy(o->host, host, hl);
	o->host[hl] = 0;
	o->host_len = hl;
	o->port = port;
	o->n = n;
	o->gai.data = o;
	o->tls = tls;
	o->h2mode = h2mode;
	if (tls)
		tls_ctx_ref(tls);
	numeric_addr(o);
	o->next = n->origins;
	n->origins = o;
	n->norigins++;
	return o;
}

/* Gets x a new connection: at once when the addresses are known, else
 * after resolving them. 0, or an HN_E* code. */
int http_native_origin_connect(http_native_xfer *x)
{
	http_native *n = x->n;
	hn_origin *o = x->o;

	x->t_resolved = x->t_connected = x->t_tls = 0;
	x->connecting = 1;
	http_native_arm_timer(x);
	if (o->naddrs > 0 && (!o->expires || o->expires > uv_hrtime())) {
		x->t_resolved = uv_hrtime();
		x->addr_idx = 0;
		return http_native_conn_connect(x);
	}
	if (!o->resolving) {
		struct addrinfo hints = { .ai_family = AF_UNSPEC,
					  .ai_socktype = SOCK_STREAM,
					  .ai_protocol = IPPROTO_TCP };
		char port[8];
		int p = o->port, k = 0;

		/* (No snprintf: this may run on a journey's small stack.) */
		do
			port[k++] = (char)('0' + p % 10);
		while ((p /= 10) && k < 6);
		port[k] = 0;
		for (int i = 0; i < k / 2; i++) {
			char t = port[i];
			port[i] = port[k - 1 - i];
			port[k - 1 - i] = t;
		}
		if (uv_getaddrinfo(n->loop, &o->gai, on_resolved, o->host, port, &hints) < 0)
			return HN_EDNS;
		o->resolving = 1;
		n->pending++;
	}
	waiters_add(o, x);
	return 0;
}
