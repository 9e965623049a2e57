/* http_record.c - see http_record.h. */
#include "runner/http_record.h"

#include <string.h>

static stats_entry *http_stats_entry(session *s, const char *method, int status)
{
	const http_host *host = s->e->host;
	const char *txn = host->txn_name(s->ctx);
	struct stats_cache *c;
	stats_entry *e;
	char st[16];
	int i;

	for (i = 0; i < HTTP_STATS_CACHE; i++) {
		c = &s->sc[i];
		if (c->e && c->status == status && c->method == method &&
		    strcmp(c->e->labels[1], txn) == 0)
			return c->e;
	}
	/* (No snprintf: its frame would commit one more page of every
	 * instance's lazily mapped coroutine stack.) */
	{
		char tmp[12];
		unsigned v = status < 0 ? 0 : (unsigned)status;
		int n = 0, k = 0;
		do
			tmp[n++] = (char)('0' + v % 10);
		while ((v /= 10) && n < (int)sizeof(tmp));
		while (n > 0)
			st[k++] = tmp[--n];
		st[k] = 0;
	}
	e = stats_get(host->stats(s->ctx), SK_HTTP.name,
		      (const char *const[]){ host->journey_name(s->ctx), txn, method, st },
		      SK_HTTP.nlabels);
	if (!e || !http1_req_method_known(method))
		return e;
	c = &s->sc[s->sc_next];
	s->sc_next = (s->sc_next + 1) % HTTP_STATS_CACHE;
	c->method = method;
	c->status = status;
	c->e = e;
	return e;
}

static uint64_t sec_to_ns(double s)
{
	return s <= 0 ? 0 : (uint64_t)(s * 1e9 + 0.5);
}

static void emit_event(session *s, const resp *r, int hop)
{
	const http_host *host = s->e->host;
	cJSON *ev = cJSON_CreateObject();

	if (!ev)
		return;
	cJSON_AddStringToObject(ev, "type", "http_metrics");
	cJSON_AddStringToObject(ev, "journey", host->journey_name(s->ctx));
	cJSON_AddStringToObject(ev, "transaction", host->txn_name(s->ctx));
	if (r->pub.name)
		cJSON_AddStringToObject(ev, "name", r->pub.name);
	cJSON_AddNumberToObject(ev, "start_time", r->pub.start);
	cJSON_AddStringToObject(ev, "method", r->pub.method);
	cJSON_AddStringToObject(ev, "url", r->pub.url);
	cJSON_AddNumberToObject(ev, "response_code", r->pub.status);
	cJSON_AddNumberToObject(ev, "dns_time", r->pub.t.dns);
	cJSON_AddNumberToObject(ev, "connect_time", r->pub.t.connect);
	cJSON_AddNumberToObject(ev, "tls_time", r->pub.t.tls);
	cJSON_AddNumberToObject(ev, "ttfb", r->pub.t.ttfb);
	cJSON_AddNumberToObject(ev, "total_time", r->pub.t.total);
	cJSON_AddStringToObject(ev, "primary_ip", r->pub.primary_ip);
	cJSON_AddNumberToObject(ev, "request_size", (double)r->pub.bytes_out);
	cJSON_AddNumberToObject(ev, "header_size", (double)r->pub.header_bytes);
	cJSON_AddNumberToObject(ev, "download_size", (double)r->pub.bytes_in);
	cJSON_AddNumberToObject(ev, "redirect", hop);
	cJSON_AddBoolToObject(ev, "reused", r->pub.reused);
	host->event(s->ctx, ev);
}

void http_record_hop(session *s, const resp *r, int hop)
{
	stats_entry *e = http_stats_entry(s, r->pub.method, r->pub.status);

	if (e) {
		stats_add(e, ST_HTTP_COUNT, 1);
		stats_add(e, ST_HTTP_BYTES_OUT, r->pub.bytes_out);
		stats_add(e, ST_HTTP_BYTES_IN, r->pub.header_bytes + r->pub.bytes_in);
		stats_record(e, ST_H_TOTAL, sec_to_ns(r->pub.t.total));
		stats_record(e, ST_H_TTFB, sec_to_ns(r->pub.t.ttfb));
		/* Connection phases only when they happened: zeros from reused
		 * connections would drown them. */
		if (!r->pub.reused) {
			stats_record(e, ST_H_DNS, sec_to_ns(r->pub.t.dns));
			stats_record(e, ST_H_CONNECT, sec_to_ns(r->pub.t.connect));
			if (r->pub.t.tls > 0)
				stats_record(e, ST_H_TLS, sec_to_ns(r->pub.t.tls));
		}
	}
	if (s->e->host->http_events(s->ctx))
		emit_event(s, r, hop);
}
