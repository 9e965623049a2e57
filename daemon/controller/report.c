/*
 * report.c - the live lines of the foreground modes (the end-of-run
 * summary is results_io.c's, from summary.json).
 */
#include "controller/report.h"
#include "controller/results_ws.h"

#include "controller/results_io.h"

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

/* The judgement as it stands: a journey short of its volume (how far, for
 * how long, why), the runners' loop lag, and the verdict when it is not
 * "passed". */
static void live_judgement(FILE *f, const run *r, const results *res)
{
	cJSON *st = run_status(r);
	const cJSON *j, *x;
	const char *v;
	char b[32];

	if (!st)
		return;
	results_status(res, r, st);
	cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(st, "journeys"))
	{
		const cJSON *vol = cJSON_GetObjectItemCaseSensitive(j, "volume");

		if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(vol, "delivered")))
			fprintf(f, "  %s: volume short by %.1f %% (behind %.0f s): %s\n",
				results_io_str(j, "name", "?"),
				results_io_num(vol, "short", 0) * 100,
				results_io_num(vol, "behind_seconds", 0),
				results_io_str(vol, "why", "?"));
	}
	cJSON_ArrayForEach(x,
			   cJSON_GetObjectItemCaseSensitive(
				   st, "loop_lag")) if (results_io_num(x, "p99", 0) >
							results_io_num(st, "loop_lag_bound", 1))
		fprintf(f,
			"  runner %.0f: loop lag p99 %s (bound %g s): mite itself is saturated\n",
			results_io_num(x, "runner", 0), results_io_secs(b, sizeof b, x, "p99"),
			results_io_num(st, "loop_lag_bound", 0));
	v = results_io_str(st, "verdict_now", "passed");
	if (strcmp(v, "passed") != 0)
		fprintf(f, "  verdict so far: %s (%s)\n", v,
			results_io_str(st, "verdict_reason", ""));
	cJSON_Delete(st);
}

void report_live(FILE *f, const run *r, const results *res, const stats *window, double interval)
{
	const scenario *s = run_scenario(r);
	char a[32], b[32], c[32];
	uint64_t http = 0, statuses[6] = { 0 };
	int header = 0;

	fprintf(f, "[%7.1fs] %s", run_elapsed(r), s->name);
	for (size_t i = 0; i < s->njourneys; i++)
		fprintf(f, "  %s: required %ld actual %ld", s->journeys[i].name, run_required(r, i),
			run_actual(r, i));
	fputc('\n', f);
	live_judgement(f, r, res);
	for (const stats_entry *e = window->first; e; e = e->order) {
		if (stats_kind_is(e, &SK_HTTP)) {
			int st = atoi_status(e->labels[3]);

			http += e->c[ST_HTTP_COUNT];
			statuses[st >= 100 && st < 600 ? st / 100 : 0] += e->c[ST_HTTP_COUNT];
			continue;
		}
		if (!stats_kind_is(e, &SK_TXN))
			continue;
		if (!header) {
			fprintf(f, "  %-32s %9s %7s %9s %9s %9s\n", "transaction", "tx/s", "fail",
				"p50", "p95", "p99");
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
	results_ws_live(f, window, interval);
	fflush(f);
}

int atoi_status(const char *s)
{
	int v = 0;

	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (*s - '0');
	return v;
}
