/*
 * results_view.c - the run table of mitectl (see results_view.h).
 */
#include "controller/results_view.h"

#include "controller/results_io.h"

#include <string.h>

#define COL(o, c) ((o)->color ? (c) : "")
#define RESET "\033[0m"
#define BOLD "\033[1m"
#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define DIM "\033[2m"

static const cJSON *member(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

const char *results_view_dur(char *buf, size_t len, double s)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
	else
		snprintf(buf, len, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
	return buf;
}

static void progress_bar(char *buf, size_t len, double elapsed, double duration)
{
	const int width = 24;
	size_t n = 0;
	double f;
	int fill;

	if (duration <= 0) {
		snprintf(buf, len, "[%*s]", width, "no duration");
		return;
	}
	f = elapsed / duration > 1 ? 1 : elapsed / duration;
	fill = (int)(f * width + 0.5);
	buf[n++] = '[';
	for (int i = 0; i < width && n + 2 < len; i++)
		buf[n++] = i < fill ? '#' : '.';
	buf[n++] = ']';
	buf[n] = '\0';
}

/* What is read where: a status object keeps everything at its top; a
 * summary keeps the run's facts under "run" and the volume per journey
 * under "volume". */
typedef struct view {
	const cJSON *head; /* id, name, state, elapsed, ... */
	const cJSON *top; /* verdict, journeys, transactions, ... */
	int summary;
} view;

static void header(FILE *f, const view *v, const results_view_opts *o)
{
	char bar[64], el[32], du[32];
	const cJSON *h = v->head;
	const char *state = results_io_str(h, "state", "?");
	double elapsed = results_io_num(h, "elapsed", 0),
	       duration = results_io_num(h, "duration", 0);
	const char *sc = cJSON_IsTrue(member(h, "failed")) ? RED
		: strcmp(state, "running") == 0            ? GREEN
		: strcmp(state, "done") == 0               ? ""
							   : YELLOW;

	progress_bar(bar, sizeof(bar), elapsed, duration);
	fprintf(f, "%srun %s%s  %s  %s%s%s  %s %s / %s  scale %g%%  runners %g/%g", COL(o, BOLD),
		results_io_str(h, "id", "?"), COL(o, RESET), results_io_str(h, "name", "?"),
		COL(o, sc), state, COL(o, RESET), bar, results_view_dur(el, sizeof(el), elapsed),
		duration > 0 ? results_view_dur(du, sizeof(du), duration) : "-",
		results_io_num(h, "scale", 1) * 100, results_io_num(h, "runners", 0),
		results_io_num(h, "runners_wanted", results_io_num(h, "runners", 0)));
	if (results_io_num(h, "restarts", 0) > 0)
		fprintf(f, "  %srestarts %g%s", COL(o, YELLOW), results_io_num(h, "restarts", 0),
			COL(o, RESET));
	fputc('\n', f);
	/* Runner hosts (docs/distributed.md): each one's share now. */
	const cJSON *x;
	int n = 0;
	cJSON_ArrayForEach(x, member(h, "hosts")) fprintf(
		f, "%s%s %g runner%s %g instances",
		n++ ? "; " : "hosts: ", results_io_str(x, "name", "?"),
		results_io_num(x, "runners", 0), results_io_num(x, "runners", 0) == 1 ? "" : "s",
		results_io_num(x, "instances", 0));
	if (n)
		fputc('\n', f);
}

static void verdict_lines(FILE *f, const view *v, const results_view_opts *o)
{
	const cJSON *h = v->head, *stopped = member(h, "stopped"), *it;
	const char *verdict = results_io_str(v->top, "verdict", NULL);
	const char *now = results_io_str(v->top, "verdict_now", NULL);
	const char *shown = verdict ? verdict : now;
	int n = cJSON_GetArraySize(member(v->top, "reasons"));

	if (shown)
		fprintf(f, "verdict%s: %s%s%s (%s)\n", verdict ? "" : " so far",
			COL(o, strcmp(shown, "passed") ? RED : GREEN), shown, COL(o, RESET),
			results_io_str(v->top, "verdict_reason", ""));
	if (n > 1)
		cJSON_ArrayForEach(it, member(v->top, "reasons"))
			fprintf(f, "  - %s: %s\n", results_io_str(it, "verdict", "?"),
				results_io_str(it, "reason", "?"));
	cJSON_ArrayForEach(it, member(v->top, "warnings"))
		fprintf(f, "%swarning: %s%s\n", COL(o, YELLOW),
			cJSON_GetStringValue(it) ? it->valuestring : "?", COL(o, RESET));
	if (results_io_str(h, "error", NULL))
		fprintf(f, "%serror: %s%s\n", COL(o, RED), results_io_str(h, "error", ""),
			COL(o, RESET));
	if (results_io_str(stopped, "by", NULL) && cJSON_IsNumber(member(stopped, "at")))
		fprintf(f, "stopped by %s at %.1f s%s\n", results_io_str(stopped, "by", "?"),
			results_io_num(stopped, "at", 0),
			cJSON_IsTrue(member(stopped, "early")) ? ", before its end" : "");
	if (cJSON_IsFalse(member(v->top, "on_disk")) ||
	    cJSON_IsFalse(member(member(v->top, "files"), "on_disk")))
		fprintf(f, "%sthe summary is NOT on disk%s\n", COL(o, RED), COL(o, RESET));
}

/* The required and actual columns of a journey: instances now (status),
 * or the run's means (summary; open models: starts per second). */
static void volume_cols(const view *v, const cJSON *j, char *req, char *act, size_t len)
{
	const cJSON *vol = member(j, "volume");

	if (!v->summary) {
		snprintf(req, len, "%.0f", results_io_num(j, "required", 0));
		snprintf(act, len, "%.0f", results_io_num(j, "actual", 0));
	} else if (cJSON_IsNumber(member(vol, "required_mean"))) {
		snprintf(req, len, "%.1f", results_io_num(vol, "required_mean", 0));
		snprintf(act, len, "%.1f", results_io_num(vol, "actual_mean", 0));
	} else {
		snprintf(req, len, "%.1f/s", results_io_num(vol, "required_rate", 0));
		snprintf(act, len, "%.1f/s", results_io_num(vol, "started_rate", 0));
	}
}

static void journeys(FILE *f, const view *v, const results_view_opts *o)
{
	const cJSON *js = member(v->top, "journeys"), *j;

	if (cJSON_GetArraySize(js) <= 0)
		return;
	fprintf(f, "%s%-28s %9s %9s %10s %10s %8s %9s %6s %7s%s\n", COL(o, DIM), "journey",
		"required", "actual", "started", "ok", "failed", "cancelled", "short", "behind",
		COL(o, RESET));
	cJSON_ArrayForEach(j, js)
	{
		const cJSON *vol = member(j, "volume");
		char req[32], act[32], sh[16], beh[16];
		const char *why;
		double jf = results_io_num(j, "failed", 0);
		int shortfall = cJSON_IsFalse(member(vol, "delivered"));

		volume_cols(v, j, req, act, sizeof(req));
		if (cJSON_IsNumber(member(vol, "short")))
			snprintf(sh, sizeof(sh), "%.0f%%", results_io_num(vol, "short", 0) * 100);
		else
			snprintf(sh, sizeof(sh), "-");
		if (cJSON_IsNumber(member(vol, "behind_seconds")))
			snprintf(beh, sizeof(beh), "%.0fs",
				 results_io_num(vol, "behind_seconds", 0));
		else
			snprintf(beh, sizeof(beh), "-");
		fprintf(f, "%-28.28s %9s %9s %10.0f %10.0f %s%8.0f%s %9.0f %s%6s%s %7s%s\n",
			results_io_str(j, "name", "?"), req, act, results_io_num(j, "started", 0),
			results_io_num(j, "ok", 0), COL(o, jf > 0 ? RED : ""), jf,
			COL(o, jf > 0 ? RESET : ""), results_io_num(j, "cancelled", 0),
			COL(o, shortfall ? RED : ""), sh, COL(o, shortfall ? RESET : ""), beh,
			cJSON_IsTrue(member(j, "ended")) ? "  (ended)" : "");
		why = results_io_str(vol, "why", results_io_str(j, "why", NULL));
		if (why)
			fprintf(f, "  %s%s: %s%s\n", COL(o, shortfall ? RED : YELLOW),
				shortfall ? "short" : "runner says", why, COL(o, RESET));
	}
}

static void transactions(FILE *f, const view *v, const results_view_opts *o)
{
	const cJSON *ts = member(v->top, "transactions"), *t;
	double elapsed = results_io_num(v->head, "elapsed", 0);

	if (cJSON_GetArraySize(ts) <= 0)
		return;
	fprintf(f, "%s%-36s %9s %8s %8s %9s %9s %9s%s\n", COL(o, DIM), "transaction", "count",
		"tx/s", "failed", "p50", "p95", "p99", COL(o, RESET));
	cJSON_ArrayForEach(t, ts)
	{
		char name[256], p50[16], p95[16], p99[16];
		/* A status says "failed", a summary "failures". */
		double cnt = results_io_num(t, "count", 0),
		       tf = results_io_num(t, "failed", results_io_num(t, "failures", 0));
		double rate = o->rate ? o->rate(t, elapsed, o->data) : results_io_num(t, "rate", 0);

		snprintf(name, sizeof(name), "%s :: %s", results_io_str(t, "journey", "?"),
			 results_io_str(t, "name", "?"));
		fprintf(f, "%-36.36s %9.0f %8.1f %s%8.0f%s %9s %9s %9s\n", name, cnt, rate,
			COL(o, tf > 0 ? RED : ""), tf, COL(o, tf > 0 ? RESET : ""),
			results_io_secs(p50, sizeof(p50), t, "p50"),
			results_io_secs(p95, sizeof(p95), t, "p95"),
			results_io_secs(p99, sizeof(p99), t, "p99"));
	}
}

/* Each runner's loop lag: the last batch's (status) or the run's (summary). */
static void loop_lag(FILE *f, const view *v, const results_view_opts *o)
{
	const cJSON *g = member(v->top, "generator");
	const cJSON *a = v->summary ? member(g, "runners") : member(v->top, "loop_lag"), *x;
	double bound = v->summary ? results_io_num(g, "loop_lag_bound", 0)
				  : results_io_num(v->top, "loop_lag_bound", 0);
	int any = 0;

	cJSON_ArrayForEach(x, a)
	{
		char p99[16], mx[16], rn[32];
		int over = bound > 0 && results_io_num(x, "p99", 0) > bound;

		if (!any++)
			fprintf(f, "%sloop lag p99/max%s", COL(o, DIM), COL(o, RESET));
		if (cJSON_IsString(member(x, "runner")))
			snprintf(rn, sizeof(rn), "%s", member(x, "runner")->valuestring);
		else
			snprintf(rn, sizeof(rn), "%.0f", results_io_num(x, "runner", 0));
		fprintf(f, "  runner %s: %s%s/%s%s", rn, COL(o, over ? RED : ""),
			results_io_secs(p99, sizeof(p99), x, "p99"),
			results_io_secs(mx, sizeof(mx), x, "max"), COL(o, over ? RESET : ""));
	}
	if (any) {
		char b[16];

		fprintf(f, "  (bound %s)%s\n",
			results_io_secs(b, sizeof(b), v->summary ? g : v->top, "loop_lag_bound"),
			cJSON_IsTrue(member(g, "tainted")) ? "  TAINTED" : "");
	}
}

void results_view_run(FILE *f, const cJSON *run, const results_view_opts *o)
{
	const cJSON *head = member(run, "run");
	view v = { .head = run, .top = run, .summary = 0 };

	if (cJSON_IsObject(head) && cJSON_IsString(member(run, "mite_version"))) {
		v.head = head;
		v.summary = 1;
	}
	header(f, &v, o);
	verdict_lines(f, &v, o);
	journeys(f, &v, o);
	transactions(f, &v, o);
	loop_lag(f, &v, o);
}
