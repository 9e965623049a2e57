/*
 * report.c - text tables of a run: the live lines of the foreground modes
 * and the end-of-run summary.
 */
#include "controller/report.h"

#include <stdio.h>
#include <string.h>

/* A duration in ns as a short human string: "812us", "12.3ms", "1.20s". */
static const char *fmt_dur(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000000)
		snprintf(buf, len, "%.0fus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1fms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", (double)ns / 1e9);
	return buf;
}

static int is_kind(const stats_entry *e, const char *kind, size_t nlabels)
{
	return strcmp(e->kind, kind) == 0 && e->nlabels == nlabels;
}

void report_live(FILE *f, const run *r, const stats *window, double interval)
{
	const scenario *s = run_scenario(r);
	char a[32], b[32], c[32];
	uint64_t http = 0, statuses[6] = {0};
	int header = 0;

	fprintf(f, "[%7.1fs] %s", run_elapsed(r), s->name);
	for (size_t i = 0; i < s->njourneys; i++)
		fprintf(f, "  %s: required %ld actual %ld", s->journeys[i].name, run_required(r, i),
			run_actual(r, i));
	fputc('\n', f);
	for (const stats_entry *e = window->first; e; e = e->order) {
		if (is_kind(e, "http", 4)) {
			int st = atoi_status(e->labels[3]);

			http += e->c[ST_HTTP_COUNT];
			statuses[st >= 100 && st < 600 ? st / 100 : 0] += e->c[ST_HTTP_COUNT];
			continue;
		}
		if (!is_kind(e, "txn", 2))
			continue;
		if (!header) {
			fprintf(f, "  %-32s %9s %7s %9s %9s %9s\n", "transaction", "tx/s", "fail", "p50", "p95",
				"p99");
			header = 1;
		}
		fprintf(f, "  %-32.32s %9.1f %7llu %9s %9s %9s\n", e->labels[1],
			(double)(e->c[ST_TXN_OK] + e->c[ST_TXN_FAILED]) / interval,
			(unsigned long long)e->c[ST_TXN_FAILED],
			e->h[0] ? fmt_dur(a, sizeof a, hist_percentile(e->h[0], 50)) : "-",
			e->h[0] ? fmt_dur(b, sizeof b, hist_percentile(e->h[0], 95)) : "-",
			e->h[0] ? fmt_dur(c, sizeof c, hist_percentile(e->h[0], 99)) : "-");
	}
	if (http) {
		fprintf(f, "  http %.1f req/s", (double)http / interval);
		for (int k = 1; k < 6; k++)
			if (statuses[k])
				fprintf(f, "  %dxx %llu", k, (unsigned long long)statuses[k]);
		if (statuses[0])
			fprintf(f, "  other %llu", (unsigned long long)statuses[0]);
		fputc('\n', f);
	}
	fflush(f);
}

int atoi_status(const char *s)
{
	int v = 0;

	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (*s - '0');
	return v;
}

void report_summary(FILE *f, const run *r)
{
	const stats *t = run_totals(r);
	const scenario *s = run_scenario(r);
	double el = run_elapsed(r);
	char d[8][32];
	int any;

	fprintf(f, "\n== mite summary: %s (run %s), %.1f s ==\n", s->name, run_id(r), el);
	if (run_error(r))
		fprintf(f, "error: %s\n", run_error(r));
	fprintf(f, "\n%-24s %10s %10s %10s\n", "journey", "started", "ok", "failed");
	for (size_t i = 0; i < s->njourneys; i++) {
		const char *lab = s->journeys[i].name;
		const stats_entry *e = stats_find(t, "journey", &lab, 1);

		fprintf(f, "%-24.24s %10llu %10llu %10llu\n", lab, e ? (unsigned long long)e->c[ST_J_STARTED] : 0ull,
			e ? (unsigned long long)e->c[ST_J_OK] : 0ull, e ? (unsigned long long)e->c[ST_J_FAILED] : 0ull);
	}
	any = 0;
	for (const stats_entry *e = t->first; e; e = e->order) {
		uint64_t n;
		const hist *h = e->h[0];

		if (!is_kind(e, "txn", 2))
			continue;
		if (!any++)
			fprintf(f, "\n%-28s %8s %6s %8s %8s %8s %8s %8s %8s %8s %8s\n", "transaction", "count", "fail",
				"rate/s", "min", "mean", "p50", "p90", "p95", "p99", "max");
		n = e->c[ST_TXN_OK] + e->c[ST_TXN_FAILED];
		fprintf(f, "%-28.28s %8llu %6llu %8.1f %8s %8s %8s %8s %8s %8s %8s\n", e->labels[1],
			(unsigned long long)n, (unsigned long long)e->c[ST_TXN_FAILED], el > 0 ? (double)n / el : 0,
			h ? fmt_dur(d[0], 32, hist_min(h)) : "-", h ? fmt_dur(d[1], 32, (uint64_t)hist_mean(h)) : "-",
			h ? fmt_dur(d[2], 32, hist_percentile(h, 50)) : "-",
			h ? fmt_dur(d[3], 32, hist_percentile(h, 90)) : "-",
			h ? fmt_dur(d[4], 32, hist_percentile(h, 95)) : "-",
			h ? fmt_dur(d[5], 32, hist_percentile(h, 99)) : "-", h ? fmt_dur(d[6], 32, hist_max(h)) : "-");
	}
	any = 0;
	for (const stats_entry *e = t->first; e; e = e->order) {
		const hist *h = e->h[ST_H_TOTAL];

		if (!is_kind(e, "http", 4))
			continue;
		if (!any++)
			fprintf(f, "\n%-28s %-7s %6s %8s %8s %8s %8s %8s\n", "http (transaction)", "method", "status",
				"count", "p50", "p95", "p99", "ttfb p95");
		fprintf(f, "%-28.28s %-7.7s %6s %8llu %8s %8s %8s %8s\n", e->labels[1][0] ? e->labels[1] : "-",
			e->labels[2], e->labels[3], (unsigned long long)e->c[ST_HTTP_COUNT],
			h ? fmt_dur(d[0], 32, hist_percentile(h, 50)) : "-",
			h ? fmt_dur(d[1], 32, hist_percentile(h, 95)) : "-",
			h ? fmt_dur(d[2], 32, hist_percentile(h, 99)) : "-",
			e->h[ST_H_TTFB] ? fmt_dur(d[3], 32, hist_percentile(e->h[ST_H_TTFB], 95)) : "-");
	}
	any = 0;
	for (const stats_entry *e = t->first; e; e = e->order) {
		if (!is_kind(e, "httperr", 4))
			continue;
		if (!any++)
			fprintf(f, "\n%-28s %-7s %-12s %8s\n", "http errors (transaction)", "method", "class", "count");
		fprintf(f, "%-28.28s %-7.7s %-12.12s %8llu\n", e->labels[1][0] ? e->labels[1] : "-", e->labels[2],
			e->labels[3], (unsigned long long)e->c[0]);
	}
	any = 0;
	for (const stats_entry *e = t->first; e; e = e->order) {
		if (!is_kind(e, "error", 4))
			continue;
		if (!any++)
			fprintf(f, "\nerrors:\n");
		fprintf(f, "%8llu  %s [%s] at %s: %s\n", (unsigned long long)e->c[0], e->labels[0],
			e->labels[1][0] ? e->labels[1] : "-", e->labels[2], e->labels[3]);
	}
	for (const stats_entry *e = t->first; e; e = e->order)
		if (is_kind(e, "dropped", 0) && e->c[0])
			fprintf(f, "\nwarning: %llu events were dropped (result stream overloaded)\n",
				(unsigned long long)e->c[0]);
	fprintf(f, "\nverdict: %s\n", run_failed(r) ? "FAILED (journey errors)" : "ok");
	fflush(f);
}
