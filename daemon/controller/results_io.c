/*
 * results_io.c - reading a run's results: the text summary of a
 * summary.json, and event logs printed for people (see results_io.h).
 */
#include "controller/results_io.h"
#include "controller/results_ws.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RESULTS_IO_MAX_JSON ((size_t)256 << 20)
#define RESULTS_IO_MAX_ROTATED 1000
#define RESULTS_IO_TEXT_ERRORS 20 /* distinct errors the text lists */

/* ---- the text summary --------------------------------------------------- */

const char *results_io_str(const cJSON *o, const char *k, const char *def)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));

	return s ? s : def;
}

double results_io_num(const cJSON *o, const char *k, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

const char *results_io_secs(char *buf, size_t len, const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	double s;

	if (!cJSON_IsNumber(v))
		return "-";
	s = v->valuedouble;
	if (s < 1e-3)
		snprintf(buf, len, "%.0fus", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.1fms", s * 1e3);
	else
		snprintf(buf, len, "%.2fs", s);
	return buf;
}

static void text_latency_row(FILE *f, const cJSON *x)
{
	static const char *const keys[] = { "min", "mean", "p50",   "p90",
					    "p95", "p99",  "p99_9", "max" };
	char b[32];

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		fprintf(f, " %8s", results_io_secs(b, sizeof(b), x, keys[k]));
}

static void text_journeys(FILE *f, const cJSON *a)
{
	const cJSON *x;

	fprintf(f, "\n%-24s %-6s %9s %9s %9s %9s %6s %12s %12s %6s %7s\n", "journey", "model",
		"started", "ok", "failed", "cancelled", "lost", "required", "actual", "short",
		"behind");
	cJSON_ArrayForEach(x, a)
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(x, "volume");
		char req[32], act[32], beh[32], sh[16];

		if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(v, "required_mean"))) {
			snprintf(req, sizeof(req), "%.1f/%.0f",
				 results_io_num(v, "required_mean", 0),
				 results_io_num(v, "required_max", 0));
			snprintf(act, sizeof(act), "%.1f/%.0f", results_io_num(v, "actual_mean", 0),
				 results_io_num(v, "actual_max", 0));
		} else {
			snprintf(req, sizeof(req), "%.1f/s", results_io_num(v, "required_rate", 0));
			snprintf(act, sizeof(act), "%.1f/s", results_io_num(v, "started_rate", 0));
		}
		if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(v, "behind_seconds")))
			snprintf(beh, sizeof(beh), "%.0fs", results_io_num(v, "behind_seconds", 0));
		else
			snprintf(beh, sizeof(beh), "-");
		if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(v, "short")))
			snprintf(sh, sizeof(sh), "%.1f%%", results_io_num(v, "short", 0) * 100);
		else
			snprintf(sh, sizeof(sh), "-");
		fprintf(f, "%-24.24s %-6s %9.0f %9.0f %9.0f %9.0f %6.0f %12s %12s %6s %7s\n",
			results_io_str(x, "name", "?"), results_io_str(x, "model", "?"),
			results_io_num(x, "started", 0), results_io_num(x, "ok", 0),
			results_io_num(x, "failed", 0), results_io_num(x, "cancelled", 0),
			results_io_num(x, "lost", 0), req, act, sh, beh);
		if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(v, "delivered")))
			fprintf(f, "  volume NOT delivered: %s\n",
				results_io_str(v, "why", "mite does not know why"));
	}
	fprintf(f, "(required and actual: mean/max instances; open models: starts per second)\n");
}

static void text_generator(FILE *f, const cJSON *g)
{
	const cJSON *x;
	char b[4][32];
	int any = 0;

	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(g, "runners"))
	{
		if (!any++)
			fprintf(f, "\n%-10s %8s %8s %8s %8s %8s %10s\n", "loop lag", "turns", "p50",
				"p95", "p99", "max", "over bound");
		fprintf(f, "runner %-3.3s %8.0f %8s %8s %8s %8s %9.1f%%\n",
			results_io_str(x, "runner", "?"), results_io_num(x, "turns", 0),
			results_io_secs(b[0], 32, x, "p50"), results_io_secs(b[1], 32, x, "p95"),
			results_io_secs(b[2], 32, x, "p99"), results_io_secs(b[3], 32, x, "max"),
			results_io_num(x, "over_bound_share", 0) * 100);
	}
	if (any)
		fprintf(f,
			"(busy time of each turn of the runner's loop; bound %s, taints past %.0f%% of the run%s)\n",
			results_io_secs(b[0], 32, g, "loop_lag_bound"),
			results_io_num(g, "loop_lag_share", 0) * 100,
			cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(g, "tainted")) ? ": TAINTED"
										     : "");
}

static void text_verdict(FILE *f, const cJSON *sum)
{
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(sum, "files"), *x;
	const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(sum, "reasons");

	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(files, "errors")) fprintf(
		f, "\nresults NOT written: %s", cJSON_GetStringValue(x) ? x->valuestring : "?");
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(files, "on_disk")) &&
	    results_io_str(files, "dir", NULL))
		fprintf(f, "\nthis summary is NOT on disk in %s", results_io_str(files, "dir", ""));
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(files, "errors")) > 0)
		fputc('\n', f);
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sum, "warnings"))
		fprintf(f, "%swarning: %s\n",
			x == cJSON_GetObjectItemCaseSensitive(sum, "warnings")->child ? "\n" : "",
			cJSON_GetStringValue(x) ? x->valuestring : "?");
	if (cJSON_GetArraySize(reasons) > 1) {
		fprintf(f, "\nproblems (most severe first):\n");
		cJSON_ArrayForEach(x, reasons)
			fprintf(f, "  %-10s %s\n", results_io_str(x, "verdict", "?"),
				results_io_str(x, "reason", "?"));
	}
	fprintf(f, "\nverdict: %s (%s)\n", results_io_str(sum, "verdict", "?"),
		results_io_str(sum, "verdict_reason", ""));
}

static void text_head(FILE *f, const cJSON *sum)
{
	const cJSON *rn = cJSON_GetObjectItemCaseSensitive(sum, "run");
	const cJSON *x;

	fprintf(f, "== mite summary: %s (run %s) ==\n", results_io_str(rn, "name", "?"),
		results_io_str(rn, "id", "?"));
	fprintf(f, "scenario  %s\n", results_io_str(rn, "scenario", "?"));
	fprintf(f, "time      %s .. %s (%.1f s)\n", results_io_str(rn, "start", "?"),
		results_io_str(rn, "end", "?"), results_io_num(rn, "elapsed", 0));
	fprintf(f, "runners   %.0f   scale %g   mite %s\n", results_io_num(rn, "runners", 0),
		results_io_num(rn, "scale", 1), results_io_str(sum, "mite_version", "?"));
	if (results_io_str(rn, "error", NULL))
		fprintf(f, "error     %s\n", results_io_str(rn, "error", ""));
	if (results_io_str(rn, "aborted_by", NULL))
		fprintf(f, "aborted   by threshold %s\n", results_io_str(rn, "aborted_by", ""));
	x = cJSON_GetObjectItemCaseSensitive(rn, "stopped");
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(x, "at")))
		fprintf(f, "stopped   by %s at %.1f s%s\n", results_io_str(x, "by", "?"),
			results_io_num(x, "at", 0),
			cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "early"))
				? ", before its end"
				: "");
	text_journeys(f, cJSON_GetObjectItemCaseSensitive(sum, "journeys"));
}

static void text_transactions(FILE *f, const cJSON *sum)
{
	const cJSON *x;
	int any = 0;

	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sum, "transactions"))
	{
		char name[256];

		if (!any++)
			fprintf(f, "\n%-28s %8s %6s %6s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n",
				"transaction", "count", "fail", "cancel", "rate/s", "min", "mean",
				"p50", "p90", "p95", "p99", "p99.9", "max");
		snprintf(name, sizeof(name), "%s", results_io_str(x, "name", "?"));
		fprintf(f, "%-28.28s %8.0f %6.0f %6.0f %8.1f", name, results_io_num(x, "count", 0),
			results_io_num(x, "failures", 0), results_io_num(x, "cancelled", 0),
			results_io_num(x, "rate", 0));
		text_latency_row(f, x);
		fputc('\n', f);
	}
}

static void text_http(FILE *f, const cJSON *sum)
{
	char b[7][32]; /* one per column of a row: fprintf reads them all at once */
	const cJSON *x;
	int any = 0;

	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sum, "http"))
	{
		const cJSON *ph = cJSON_GetObjectItemCaseSensitive(x, "phases");
		const char *txn = results_io_str(x, "transaction", "");

		if (!any++)
			fprintf(f, "\n%-24s %-7s %6s %8s %8s %8s %8s %8s | p95: %8s %8s %8s %8s\n",
				"http (transaction)", "method", "status", "count", "rate/s", "p50",
				"p95", "p99", "dns", "connect", "tls", "ttfb");
		fprintf(f, "%-24.24s %-7.7s %6s %8.0f %8.1f %8s %8s %8s |      %8s %8s %8s %8s\n",
			*txn ? txn : "-", results_io_str(x, "method", "?"),
			results_io_str(x, "status", "?"), results_io_num(x, "count", 0),
			results_io_num(x, "rate", 0),
			results_io_secs(b[0], 32, cJSON_GetObjectItemCaseSensitive(ph, "total"),
					"p50"),
			results_io_secs(b[1], 32, cJSON_GetObjectItemCaseSensitive(ph, "total"),
					"p95"),
			results_io_secs(b[2], 32, cJSON_GetObjectItemCaseSensitive(ph, "total"),
					"p99"),
			results_io_secs(b[3], 32, cJSON_GetObjectItemCaseSensitive(ph, "dns"),
					"p95"),
			results_io_secs(b[4], 32, cJSON_GetObjectItemCaseSensitive(ph, "connect"),
					"p95"),
			results_io_secs(b[5], 32, cJSON_GetObjectItemCaseSensitive(ph, "tls"),
					"p95"),
			results_io_secs(b[6], 32, cJSON_GetObjectItemCaseSensitive(ph, "ttfb"),
					"p95"));
	}
}

static void text_http_errors(FILE *f, const cJSON *sum)
{
	const cJSON *x;
	int any = 0;

	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sum, "http_errors"))
	{
		const char *txn = results_io_str(x, "transaction", "");

		if (!any++)
			fprintf(f, "\n%-28s %-7s %-12s %8s\n", "http errors (transaction)",
				"method", "class", "count");
		fprintf(f, "%-28.28s %-7.7s %-12.12s %8.0f\n", *txn ? txn : "-",
			results_io_str(x, "method", "?"), results_io_str(x, "class", "?"),
			results_io_num(x, "count", 0));
	}
}

static void text_errors(FILE *f, const cJSON *sum)
{
	const cJSON *x;
	int any = 0;

	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sum, "errors"))
	{
		int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sum, "errors"));
		const cJSON *w;
		int k = 0;

		if (any == RESULTS_IO_TEXT_ERRORS) {
			fprintf(f,
				"%8s  ... and %d more distinct errors (all are in summary.json)\n",
				"", n - any);
			break;
		}
		if (!any++)
			fprintf(f, "\nerrors (by message and location, most frequent first):\n");
		fprintf(f, "%8.0f  %s at %s [", results_io_num(x, "count", 0),
			results_io_str(x, "message", "?"), results_io_str(x, "location", "?"));
		cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(x, "where"))
		{
			const char *txn = results_io_str(w, "transaction", "");

			fprintf(f, "%s%s%s%s", k++ ? ", " : "", results_io_str(w, "journey", "?"),
				*txn ? " :: " : "", txn);
		}
		fprintf(f, "]\n");
	}
}

static void text_messages(FILE *f, const cJSON *sum)
{
	const cJSON *x;
	int any = 0;

	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sum, "messages"))
	{
		if (!any++)
			fprintf(f, "\n%-24s %-24s %8s\n", "messages (journey)", "type", "count");
		fprintf(f, "%-24.24s %-24.24s %8.0f\n", results_io_str(x, "journey", "?"),
			results_io_str(x, "type", "?"), results_io_num(x, "count", 0));
	}
}

static void text_lag(FILE *f, const cJSON *sum)
{
	char b[7][32]; /* one per column of a row: fprintf reads them all at once */
	const cJSON *x;
	int any = 0;

	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sum, "lag"))
	{
		if (!results_io_num(x, "count", 0))
			continue;
		if (!any++)
			fprintf(f, "\n%-28s %8s %8s %8s %8s %8s\n", "scheduling lag (journey)",
				"starts", "p50", "p95", "p99", "max");
		fprintf(f, "%-28.28s %8.0f %8s %8s %8s %8s\n", results_io_str(x, "journey", "?"),
			results_io_num(x, "count", 0), results_io_secs(b[0], 32, x, "p50"),
			results_io_secs(b[1], 32, x, "p95"), results_io_secs(b[2], 32, x, "p99"),
			results_io_secs(b[3], 32, x, "max"));
	}
}

static void text_events(FILE *f, const cJSON *sum)
{
	const cJSON *x;

	x = cJSON_GetObjectItemCaseSensitive(sum, "events");
	if (x) {
		fprintf(f, "\nevents    %.0f logged", results_io_num(x, "logged", 0));
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "logged_to_file")))
			fprintf(f, " (no event log file)");
		fprintf(f, ", %.0f dropped by the log (queue full), %.0f dropped by runners\n",
			results_io_num(x, "dropped_log", 0),
			results_io_num(x, "dropped_runners", 0));
		if (results_io_num(x, "dropped_log", 0) > 0 ||
		    results_io_num(x, "dropped_runners", 0) > 0)
			fprintf(f,
				"warning: the event log is incomplete: events were dropped (see above)\n");
	}
}

static void text_thresholds(FILE *f, const cJSON *sum)
{
	const cJSON *a;
	const cJSON *x;

	a = cJSON_GetObjectItemCaseSensitive(sum, "thresholds");
	if (cJSON_GetArraySize(a) > 0) {
		fprintf(f, "\nthresholds:\n");
		cJSON_ArrayForEach(x, a)
		{
			int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "ok"));
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(x, "value");

			fprintf(f, "  %-7s %s", ok ? "ok" : "BROKEN",
				results_io_str(x, "text", "?"));
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "no_data")))
				fprintf(f, ": no data matched");
			else if (cJSON_IsNumber(v))
				fprintf(f, ": %s %.6g",
					cJSON_GetObjectItemCaseSensitive(x, "window") ? "worst"
										      : "value",
					v->valuedouble);
			if (!ok && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(x, "broken_at")))
				fprintf(f, " (at %.0f s%s%s)", results_io_num(x, "broken_at", 0),
					results_io_str(x, "series", NULL) ? ", " : "",
					results_io_str(x, "series", ""));
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "aborted_run")))
				fprintf(f, " - stopped the run");
			fputc('\n', f);
		}
	}
}

/* The sections of the text summary, in order. */
static void text_generator_of(FILE *f, const cJSON *sum)
{
	text_generator(f, cJSON_GetObjectItemCaseSensitive(sum, "generator"));
}

static void (*const text_sections[])(FILE *f, const cJSON *sum) = {
	text_head,         text_transactions, text_http,       text_http_errors,
	results_ws_text,   text_errors,       text_messages,   text_lag,
	text_generator_of, text_events,       text_thresholds, text_verdict,
};

void results_io_text(FILE *f, const cJSON *sum)
{
	for (size_t i = 0; i < sizeof(text_sections) / sizeof(text_sections[0]); i++)
		text_sections[i](f, sum);
}

/* ---- reading ------------------------------------------------------------ */

cJSON *results_io_load_json(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	char *buf = NULL;
	size_t n;
	cJSON *j;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > RESULTS_IO_MAX_JSON) {
		snprintf(err, errlen, "%s: %s", path,
			 !S_ISREG(st.st_mode) ? "not a regular file" : "too large for a summary");
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	buf[n] = '\0';
	j = cJSON_ParseWithLength(buf, n);
	if (!j) {
		const char *at = cJSON_GetErrorPtr();

		snprintf(err, errlen, "%s: not valid JSON (near byte %ld)", path,
			 at && at >= buf && at <= buf + n ? (long)(at - buf) : -1L);
	}
	free(buf);
	return j;
}

/* A string on one line: control characters escaped. */
static void put_clean(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
}

static void put_value(FILE *out, const cJSON *v)
{
	if (cJSON_IsString(v)) {
		put_clean(out, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		fprintf(out, "%.10g", v->valuedouble);
	} else {
		char *s = cJSON_PrintUnformatted(v);

		if (s)
			put_clean(out, s);
		cJSON_free(s);
	}
}

static void cat_where(FILE *out, const cJSON *ev)
{
	const char *j = results_io_str(ev, "journey", NULL),
		   *t = results_io_str(ev, "transaction", NULL);

	if (!j)
		return;
	fputs("  [", out);
	put_clean(out, j);
	if (t && *t) {
		fputs(" :: ", out);
		put_clean(out, t);
	}
	fputc(']', out);
}

/* The colour of an event type on a terminal. */
static const char *cat_color(const char *type)
{
	if (strcmp(type, "error") == 0 || strcmp(type, "threshold") == 0)
		return "\033[31m";
	if (strcmp(type, "stats") == 0 || strcmp(type, "volume") == 0)
		return "\033[2m";
	if (strcmp(type, "http_metrics") == 0)
		return "\033[36m";
	if (strcmp(type, "end") == 0)
		return "\033[1m";
	return "\033[33m";
}

static void cat_error(FILE *out, const cJSON *ev)
{
	put_clean(out, results_io_str(ev, "message", "?"));
	fputs(" at ", out);
	put_clean(out, results_io_str(ev, "location", "?"));
	cat_where(out, ev);
}

static void cat_http(FILE *out, const cJSON *ev)
{
	char b[5][32];

	fprintf(out, "%s %.0f ", results_io_str(ev, "method", "?"),
		results_io_num(ev, "response_code", 0));
	put_clean(out, results_io_str(ev, "url", "?"));
	fprintf(out, "  %s (dns %s connect %s tls %s ttfb %s) %.0f B",
		results_io_secs(b[0], 32, ev, "total_time"),
		results_io_secs(b[1], 32, ev, "dns_time"),
		results_io_secs(b[2], 32, ev, "connect_time"),
		results_io_secs(b[3], 32, ev, "tls_time"), results_io_secs(b[4], 32, ev, "ttfb"),
		results_io_num(ev, "download_size", 0));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "reused")))
		fputs(" reused", out);
	cat_where(out, ev);
}

static void cat_volume(FILE *out, const cJSON *ev)
{
	const cJSON *x;
	int first = 1;

	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(ev, "journeys"))
	{
		const cJSON *req = cJSON_GetObjectItemCaseSensitive(x, "required");

		fprintf(out, "%s", first ? "" : ", ");
		put_clean(out, results_io_str(x, "journey", "?"));
		if (cJSON_IsNumber(req))
			fprintf(out, " %.0f/%.0f", results_io_num(x, "actual", 0),
				req->valuedouble);
		else
			fprintf(out, " %.0f running, %.0f started", results_io_num(x, "actual", 0),
				results_io_num(x, "started", 0));
		first = 0;
	}
	fputs(" (actual/required)", out);
}

static void cat_stats(FILE *out, const cJSON *ev)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(ev, "http"), *x;
	double dt = results_io_num(ev, "dt", 1);
	char b[32];

	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(ev, "transactions"))
	{
		put_clean(out, results_io_str(x, "name", "?"));
		fprintf(out, " %.0f", results_io_num(x, "count", 0));
		if (results_io_num(x, "failed", 0))
			fprintf(out, " (%.0f failed)", results_io_num(x, "failed", 0));
		fprintf(out, " p95 %s; ", results_io_secs(b, sizeof(b), x, "p95"));
	}
	if (results_io_num(h, "count", 0) || results_io_num(h, "errors", 0))
		fprintf(out, "http %.0f (%.1f/s, %.0f >= 400, %.0f errors); ",
			results_io_num(h, "count", 0),
			dt > 0 ? results_io_num(h, "count", 0) / dt : 0,
			results_io_num(h, "failed", 0), results_io_num(h, "errors", 0));
	fprintf(out, "errors %.0f over %.2f s", results_io_num(ev, "errors", 0), dt);
}

static void cat_threshold(FILE *out, const cJSON *ev)
{
	fputs("BROKEN ", out);
	put_clean(out, results_io_str(ev, "text", "?"));
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(ev, "value")))
		fprintf(out, ": value %.6g", results_io_num(ev, "value", 0));
	if (results_io_str(ev, "series", NULL)) {
		fputs(" (", out);
		put_clean(out, results_io_str(ev, "series", ""));
		fputc(')', out);
	}
}

static void cat_end(FILE *out, const cJSON *ev)
{
	fprintf(out, "end of the log: verdict %s, %.0f events, %.0f dropped",
		results_io_str(ev, "verdict", "?"), results_io_num(ev, "events", 0),
		results_io_num(ev, "dropped", 0));
}

/* A custom message: its fields. */
static void cat_custom(FILE *out, const cJSON *ev)
{
	const cJSON *x;
	int first = 1;

	cJSON_ArrayForEach(x, ev)
	{
		if (!x->string || strcmp(x->string, "type") == 0 ||
		    strcmp(x->string, "time") == 0 || strcmp(x->string, "journey") == 0 ||
		    strcmp(x->string, "transaction") == 0)
			continue;
		fprintf(out, "%s", first ? "" : " ");
		put_clean(out, x->string);
		fputc('=', out);
		put_value(out, x);
		first = 0;
	}
	cat_where(out, ev);
}

/* How each type of event is printed after its time and type; other types
 * are custom messages. */
static const struct {
	const char *type;
	void (*print)(FILE *out, const cJSON *ev);
} cat_types[] = {
	{ "error", cat_error }, { "http_metrics", cat_http },   { "volume", cat_volume },
	{ "stats", cat_stats }, { "threshold", cat_threshold }, { "end", cat_end },
};

/* One event on one line: its time, its type, and what it says. */
static void cat_event(FILE *out, const cJSON *ev, int color)
{
	const char *type = results_io_str(ev, "type", "?");
	const cJSON *tm = cJSON_GetObjectItemCaseSensitive(ev, "time");
	void (*print)(FILE *, const cJSON *) = cat_custom;

	if (!cJSON_IsNumber(tm))
		tm = cJSON_GetObjectItemCaseSensitive(ev, "start_time");
	if (cJSON_IsNumber(tm))
		fprintf(out, "%10.3f ", tm->valuedouble);
	else
		fprintf(out, "%10s ", "-");
	fprintf(out, "%s%-9s%s ", color ? cat_color(type) : "",
		strcmp(type, "http_metrics") == 0 ? "http" : type, color ? "\033[0m" : "");
	for (size_t i = 0; i < sizeof(cat_types) / sizeof(cat_types[0]); i++)
		if (strcmp(type, cat_types[i].type) == 0)
			print = cat_types[i].print;
	print(out, ev);
	fputc('\n', out);
}

static int cat_file(FILE *in, const char *name, FILE *out, int color)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int bad = 0;

	while ((n = getline(&line, &cap, in)) >= 0) {
		cJSON *ev;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n)
			continue;
		ev = cJSON_ParseWithLength(line, (size_t)n);
		if (!cJSON_IsObject(ev)) {
			if (bad++ < 10)
				fprintf(stderr, "mitectl: %s:%lu: not a JSON object; skipped\n",
					name, lineno);
			cJSON_Delete(ev);
			continue;
		}
		cat_event(out, ev, color);
		cJSON_Delete(ev);
	}
	free(line);
	if (bad > 10)
		fprintf(stderr, "mitectl: %s: %d lines skipped in all\n", name, bad);
	return ferror(in) ? -EIO : 0;
}

int results_io_cat(const char *path, FILE *out, int color, char *err, size_t errlen)
{
	struct stat st;
	char file[PATH_MAX];
	int rc = 0, top = 0;
	FILE *in;

	if (strcmp(path, "-") == 0)
		return cat_file(stdin, "(stdin)", out, color);
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		in = fopen(path, "re");
		if (!in) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -errno;
		}
		rc = cat_file(in, path, out, color);
		fclose(in);
		if (rc < 0)
			snprintf(err, errlen, "%s: read error", path);
		return rc;
	}
	/* A results folder: the rotated logs, oldest (highest number) first. */
	for (int k = 1; k <= RESULTS_IO_MAX_ROTATED; k++) {
		snprintf(file, sizeof(file), "%s/events.jsonl.%d", path, k);
		if (access(file, F_OK) != 0)
			break;
		top = k;
	}
	for (int k = top; k >= 0; k--) {
		if (k)
			snprintf(file, sizeof(file), "%s/events.jsonl.%d", path, k);
		else
			snprintf(file, sizeof(file), "%s/events.jsonl", path);
		in = fopen(file, "re");
		if (!in) {
			snprintf(err, errlen, "%s: %s", file, strerror(errno));
			return -errno;
		}
		rc = cat_file(in, file, out, color);
		fclose(in);
		if (rc < 0) {
			snprintf(err, errlen, "%s: read error", file);
			return rc;
		}
	}
	return 0;
}
