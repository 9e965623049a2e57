/* results_ws.c - see results_ws.h. */
#include "controller/results_ws.h"
#include "controller/results_io.h"

#include <math.h>
#include <string.h>

static double secs(double ns)
{
	return round(ns / 1e3) / 1e6;
}

/* count, p50, p95, p99 and max of h (count 0 when h is empty). */
static cJSON *latency(const hist *h)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "count", h ? (double)hist_count(h) : 0);
	if (!h || !hist_count(h))
		return o;
	cJSON_AddNumberToObject(o, "mean", secs(hist_mean(h)));
	cJSON_AddNumberToObject(o, "p50", secs((double)hist_percentile(h, 50)));
	cJSON_AddNumberToObject(o, "p95", secs((double)hist_percentile(h, 95)));
	cJSON_AddNumberToObject(o, "p99", secs((double)hist_percentile(h, 99)));
	cJSON_AddNumberToObject(o, "max", secs((double)hist_max(h)));
	return o;
}

void results_ws_summary(cJSON *o, const stats *t, double el)
{
	static const char *const hists[] = { "connect", "rtt", "ping" };
	cJSON *a = cJSON_AddArrayToObject(o, "ws");

	for (const stats_entry *e = t->first; a && e; e = e->order) {
		cJSON *x;

		if (!stats_kind_is(e, &SK_WS) || !(x = cJSON_CreateObject()))
			continue;
		cJSON_AddStringToObject(x, "journey", e->labels[0]);
		cJSON_AddStringToObject(x, "transaction", e->labels[1]);
		cJSON_AddStringToObject(x, "name", e->labels[2]);
		cJSON_AddNumberToObject(x, "messages_out", (double)e->c[ST_WS_MSGS_OUT]);
		cJSON_AddNumberToObject(x, "bytes_out", (double)e->c[ST_WS_BYTES_OUT]);
		cJSON_AddNumberToObject(x, "messages_in", (double)e->c[ST_WS_MSGS_IN]);
		cJSON_AddNumberToObject(x, "bytes_in", (double)e->c[ST_WS_BYTES_IN]);
		cJSON_AddNumberToObject(
			x, "rate_out", el > 0 ? round(e->c[ST_WS_MSGS_OUT] / el * 1000) / 1000 : 0);
		cJSON_AddNumberToObject(x, "rate_in",
					el > 0 ? round(e->c[ST_WS_MSGS_IN] / el * 1000) / 1000 : 0);
		for (int k = 0; k < 3; k++)
			cJSON_AddItemToObject(x, hists[k], latency(e->h[k]));
		cJSON_AddItemToArray(a, x);
	}
	a = cJSON_AddArrayToObject(o, "ws_errors");
	for (const stats_entry *e = t->first; a && e; e = e->order) {
		cJSON *x;

		if (!stats_kind_is(e, &SK_WSERR) || !(x = cJSON_CreateObject()))
			continue;
		cJSON_AddStringToObject(x, "journey", e->labels[0]);
		cJSON_AddStringToObject(x, "transaction", e->labels[1]);
		cJSON_AddStringToObject(x, "name", e->labels[2]);
		cJSON_AddStringToObject(x, "class", e->labels[3]);
		cJSON_AddNumberToObject(x, "count", (double)e->c[0]);
		cJSON_AddItemToArray(a, x);
	}
}

void results_ws_text(FILE *f, const cJSON *sum)
{
	const cJSON *x;
	char b[6][32];
	int any = 0;

	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sum, "ws"))
	{
		const char *txn = results_io_str(x, "transaction", "");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(x, "connect");
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(x, "rtt");

		if (!any++)
			fprintf(f,
				"\n%-20s %-14s %9s %9s %11s %11s | %8s %8s | rtt %6s %8s %8s %8s\n",
				"ws (transaction)", "name", "msgs out", "msgs in", "bytes out",
				"bytes in", "connects", "p95", "count", "p50", "p95", "p99");
		fprintf(f,
			"%-20.20s %-14.14s %9.0f %9.0f %11.0f %11.0f | %8.0f %8s |     %6.0f %8s %8s %8s\n",
			*txn ? txn : "-", results_io_str(x, "name", "?"),
			results_io_num(x, "messages_out", 0), results_io_num(x, "messages_in", 0),
			results_io_num(x, "bytes_out", 0), results_io_num(x, "bytes_in", 0),
			results_io_num(c, "count", 0), results_io_secs(b[0], 32, c, "p95"),
			results_io_num(r, "count", 0), results_io_secs(b[1], 32, r, "p50"),
			results_io_secs(b[2], 32, r, "p95"), results_io_secs(b[3], 32, r, "p99"));
	}
	any = 0;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sum, "ws_errors"))
	{
		const char *txn = results_io_str(x, "transaction", "");

		if (!any++)
			fprintf(f, "\n%-28s %-14s %-12s %8s\n", "ws errors (transaction)", "name",
				"class", "count");
		fprintf(f, "%-28.28s %-14.14s %-12.12s %8.0f\n", *txn ? txn : "-",
			results_io_str(x, "name", "?"), results_io_str(x, "class", "?"),
			results_io_num(x, "count", 0));
	}
}

void results_ws_live(FILE *f, const stats *w, double interval)
{
	uint64_t out = 0, in = 0, conns = 0, errs = 0;
	hist *rtt = hist_new();

	for (const stats_entry *e = w->first; e; e = e->order) {
		if (stats_kind_is(e, &SK_WS)) {
			out += e->c[ST_WS_MSGS_OUT];
			in += e->c[ST_WS_MSGS_IN];
			conns += e->h[ST_WS_H_CONNECT] ? hist_count(e->h[ST_WS_H_CONNECT]) : 0;
			if (rtt && e->h[ST_WS_H_RTT])
				hist_merge(rtt, e->h[ST_WS_H_RTT]);
		} else if (stats_kind_is(e, &SK_WSERR)) {
			errs += e->c[0];
		}
	}
	if (out || in || conns || errs) {
		fprintf(f, "  ws out %.1f msg/s  in %.1f msg/s  connects %llu  errors %llu",
			(double)out / interval, (double)in / interval, (unsigned long long)conns,
			(unsigned long long)errs);
		if (rtt && hist_count(rtt))
			fprintf(f, "  rtt p95 %.1fms", (double)hist_percentile(rtt, 95) / 1e6);
		fputc('\n', f);
	}
	hist_free(rtt);
}
