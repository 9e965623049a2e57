/*
 * report_html.c - the HTML report of a run (see report_html.h).
 *
 * The timeline (one record per second, see results.c) becomes arrays of
 * points; each chart is an inline <svg> with axes, grid lines, a legend and
 * one <path class="s"> per series (data-points says how many points it
 * holds). Missing values (a second without a transaction has no latency)
 * break the line rather than draw a zero.
 */
#include "config.h"

#include "controller/report_html.h"

#include "controller/results_io.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CH_W 920
#define CH_H 270
#define CH_L 64
#define CH_R 16
#define CH_T 30
#define CH_B 40

static const char *const palette[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
				       "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
				       "#bcbd22", "#17becf", "#393b79", "#637939" };
#define NPALETTE (sizeof(palette) / sizeof(palette[0]))

/* ---- text --------------------------------------------------------------- */

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* ---- the timeline as arrays --------------------------------------------- */

typedef struct dvec {
	double *v;
	size_t n, cap;
} dvec;

static int dvec_push(dvec *d, double x)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		double *p = realloc(d->v, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		d->v = p;
		d->cap = cap;
	}
	d->v[d->n++] = x;
	return 0;
}

enum { TX_COUNT, TX_FAILED, TX_P50, TX_P90, TX_P95, TX_P99, TX_N };

typedef struct tl_txn {
	char *journey, *name;
	double total;
	dvec v[TX_N]; /* one value per point; NAN when absent */
} tl_txn;

enum { VJ_REQ, VJ_ACT, VJ_N };

typedef struct tl_journey {
	char *name;
	int open;
	dvec v[VJ_N];
} tl_journey;

enum { G_TX, G_FAIL, G_HTTP, G_HTTP_FAIL, G_HTTP_ERR, G_ERRORS, G_N };

typedef struct timeline {
	dvec t; /* end of each point, run seconds */
	dvec dt; /* seconds it covers */
	dvec g[G_N]; /* totals per point */
	tl_txn *tx;
	size_t ntx;
	tl_journey *jr;
	size_t njr;
	size_t records;
} timeline;

static void tl_free(timeline *tl)
{
	free(tl->t.v);
	free(tl->dt.v);
	for (int k = 0; k < G_N; k++)
		free(tl->g[k].v);
	for (size_t i = 0; i < tl->ntx; i++) {
		free(tl->tx[i].journey);
		free(tl->tx[i].name);
		for (int k = 0; k < TX_N; k++)
			free(tl->tx[i].v[k].v);
	}
	free(tl->tx);
	for (size_t i = 0; i < tl->njr; i++) {
		free(tl->jr[i].name);
		for (int k = 0; k < VJ_N; k++)
			free(tl->jr[i].v[k].v);
	}
	free(tl->jr);
}

/* Pads every per-series array to npoints with NAN (or 0 for counts). */
static int tl_pad(timeline *tl, size_t npoints)
{
	for (size_t i = 0; i < tl->ntx; i++)
		for (int k = 0; k < TX_N; k++)
			while (tl->tx[i].v[k].n < npoints)
				if (dvec_push(&tl->tx[i].v[k], k <= TX_FAILED ? 0 : NAN) < 0)
					return -ENOMEM;
	for (size_t i = 0; i < tl->njr; i++)
		for (int k = 0; k < VJ_N; k++)
			while (tl->jr[i].v[k].n < npoints)
				if (dvec_push(&tl->jr[i].v[k], NAN) < 0)
					return -ENOMEM;
	return 0;
}

static tl_txn *tl_txn_get(timeline *tl, const char *journey, const char *name)
{
	tl_txn *v, *x;

	for (size_t i = 0; i < tl->ntx; i++)
		if (strcmp(tl->tx[i].journey, journey) == 0 && strcmp(tl->tx[i].name, name) == 0)
			return &tl->tx[i];
	v = realloc(tl->tx, (tl->ntx + 1) * sizeof(*v));
	if (!v)
		return NULL;
	tl->tx = v;
	x = &tl->tx[tl->ntx];
	memset(x, 0, sizeof(*x));
	x->journey = strdup(journey);
	x->name = strdup(name);
	if (!x->journey || !x->name) {
		free(x->journey);
		free(x->name);
		return NULL;
	}
	tl->ntx++;
	return x;
}

static tl_journey *tl_journey_get(timeline *tl, const char *name, int open)
{
	tl_journey *v, *x;

	for (size_t i = 0; i < tl->njr; i++)
		if (strcmp(tl->jr[i].name, name) == 0)
			return &tl->jr[i];
	v = realloc(tl->jr, (tl->njr + 1) * sizeof(*v));
	if (!v)
		return NULL;
	tl->jr = v;
	x = &tl->jr[tl->njr];
	memset(x, 0, sizeof(*x));
	x->open = open;
	if (!(x->name = strdup(name)))
		return NULL;
	tl->njr++;
	return x;
}

/* Adds one timeline record as point p (already padded to p). */
static int tl_add(timeline *tl, const cJSON *rec, size_t p)
{
	const cJSON *x, *h = cJSON_GetObjectItemCaseSensitive(rec, "http");
	double tx = 0, fail = 0;

	if (dvec_push(&tl->t, results_io_num(rec, "t", 0)) < 0 ||
	    dvec_push(&tl->dt, results_io_num(rec, "dt", 0)) < 0)
		return -ENOMEM;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(rec, "transactions"))
	{
		tl_txn *t = tl_txn_get(tl, results_io_str(x, "journey", "?"),
				       results_io_str(x, "name", "?"));
		static const char *const keys[TX_N] = { "count", "failed", "p50",
							"p90",   "p95",    "p99" };

		if (!t || tl_pad(tl, p) < 0)
			return -ENOMEM;
		for (int k = 0; k < TX_N; k++)
			if (dvec_push(&t->v[k],
				      results_io_num(x, keys[k], k <= TX_FAILED ? 0 : NAN)) < 0)
				return -ENOMEM;
		t->total += results_io_num(x, "count", 0);
		tx += results_io_num(x, "count", 0);
		fail += results_io_num(x, "failed", 0);
	}
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(rec, "volume"))
	{
		const cJSON *req = cJSON_GetObjectItemCaseSensitive(x, "required");
		int open = strcmp(results_io_str(x, "model", "closed"), "open") == 0;
		tl_journey *j = tl_journey_get(tl, results_io_str(x, "journey", "?"), open);

		if (!j || tl_pad(tl, p) < 0)
			return -ENOMEM;
		/* Open models: starts per second against nothing required. */
		if (dvec_push(&j->v[VJ_REQ], cJSON_IsNumber(req) ? req->valuedouble : NAN) < 0 ||
		    dvec_push(&j->v[VJ_ACT], results_io_num(x, "actual", 0)) < 0)
			return -ENOMEM;
	}
	if (dvec_push(&tl->g[G_TX], tx) < 0 || dvec_push(&tl->g[G_FAIL], fail) < 0 ||
	    dvec_push(&tl->g[G_HTTP], results_io_num(h, "count", 0)) < 0 ||
	    dvec_push(&tl->g[G_HTTP_FAIL], results_io_num(h, "failed", 0)) < 0 ||
	    dvec_push(&tl->g[G_HTTP_ERR], results_io_num(h, "errors", 0)) < 0 ||
	    dvec_push(&tl->g[G_ERRORS], results_io_num(rec, "errors", 0)) < 0)
		return -ENOMEM;
	return tl_pad(tl, p + 1);
}

/* Folds consecutive points into one when there are too many: counts and
 * seconds add; latencies keep the highest value of the bucket. */
static void tl_downsample(timeline *tl)
{
	size_t n = tl->t.n, per, m = 0;

	if (n <= REPORT_HTML_MAX_POINTS)
		return;
	per = (n + REPORT_HTML_MAX_POINTS - 1) / REPORT_HTML_MAX_POINTS;
	for (size_t i = 0; i < n; i += per, m++) {
		size_t end = i + per < n ? i + per : n;
		double dt = 0, g[G_N] = { 0 };

		for (size_t k = i; k < end; k++) {
			dt += tl->dt.v[k];
			for (int q = 0; q < G_N; q++)
				g[q] += tl->g[q].v[k];
		}
		tl->t.v[m] = tl->t.v[end - 1];
		tl->dt.v[m] = dt;
		for (int q = 0; q < G_N; q++)
			tl->g[q].v[m] = g[q];
		for (size_t s = 0; s < tl->ntx; s++) {
			double c[TX_N] = { 0, 0, NAN, NAN, NAN, NAN };

			for (size_t k = i; k < end; k++)
				for (int q = 0; q < TX_N; q++) {
					double v = tl->tx[s].v[q].v[k];

					if (q <= TX_FAILED)
						c[q] += v;
					else if (!isnan(v) && (isnan(c[q]) || v > c[q]))
						c[q] = v;
				}
			for (int q = 0; q < TX_N; q++)
				tl->tx[s].v[q].v[m] = c[q];
		}
		for (size_t s = 0; s < tl->njr; s++)
			for (int q = 0; q < VJ_N; q++) {
				double sum = 0;
				size_t cnt = 0;

				for (size_t k = i; k < end; k++)
					if (!isnan(tl->jr[s].v[q].v[k])) {
						sum += tl->jr[s].v[q].v[k];
						cnt++;
					}
				tl->jr[s].v[q].v[m] = cnt ? sum / (double)cnt : NAN;
			}
	}
	tl->t.n = tl->dt.n = m;
	for (int q = 0; q < G_N; q++)
		tl->g[q].n = m;
	for (size_t s = 0; s < tl->ntx; s++)
		for (int q = 0; q < TX_N; q++)
			tl->tx[s].v[q].n = m;
	for (size_t s = 0; s < tl->njr; s++)
		for (int q = 0; q < VJ_N; q++)
			tl->jr[s].v[q].n = m;
}

/* Reads dir/timeline.jsonl; a missing file is an empty timeline. */
static int tl_load(const char *dir, timeline *tl, char *err, size_t errlen)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int rc = 0;

	memset(tl, 0, sizeof(*tl));
	if (snprintf(path, sizeof(path), "%s/timeline.jsonl", dir) >= (int)sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		if (rc == -ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		cJSON *rec = cJSON_ParseWithLength(line, (size_t)n);

		if (cJSON_IsObject(rec) && (rc = tl_add(tl, rec, tl->t.n)) < 0) {
			cJSON_Delete(rec);
			snprintf(err, errlen, "%s: out of memory", path);
			break;
		}
		cJSON_Delete(rec);
		tl->records++;
	}
	free(line);
	fclose(f);
	if (!rc)
		tl_downsample(tl);
	return rc;
}

/* ---- charts ------------------------------------------------------------- */

typedef struct series {
	const char *name;
	const double *y; /* per point; NAN: no value */
	const char *color;
	int dashed;
} series;

static double nice_ceil(double v)
{
	double e, f;

	if (!(v > 0) || !isfinite(v))
		return 1;
	e = pow(10, floor(log10(v)));
	f = v / e;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * e;
}

static void fmt_tick(char *buf, size_t len, double v)
{
	if (v != 0 && fabs(v) < 0.01)
		snprintf(buf, len, "%.2g", v);
	else
		snprintf(buf, len, "%g", round(v * 1000) / 1000);
}

static void fmt_time(char *buf, size_t len, double s)
{
	if (s >= 120)
		snprintf(buf, len, "%d:%02d", (int)(s / 60), (int)fmod(s, 60));
	else
		snprintf(buf, len, "%gs", round(s * 10) / 10);
}

/* One chart: x the points' run seconds, each series one path. */
static void chart(FILE *f, const char *id, const char *title, const char *unit, const double *x,
		  size_t n, const series *s, size_t ns)
{
	const double pw = CH_W - CH_L - CH_R, ph = CH_H - CH_T - CH_B;
	double ymax = 0, xmax = 0, xstep, ystep;
	char b[64];

	for (size_t i = 0; i < n; i++)
		if (x[i] > xmax)
			xmax = x[i];
	for (size_t k = 0; k < ns; k++)
		for (size_t i = 0; i < n; i++)
			if (!isnan(s[k].y[i]) && s[k].y[i] > ymax)
				ymax = s[k].y[i];
	ymax = nice_ceil(ymax * 1.05);
	xmax = nice_ceil(xmax);
	ystep = ymax / 5;
	xstep = nice_ceil(xmax / 8);
	fprintf(f, "<figure class=\"chart\" id=\"");
	esc(f, id);
	fprintf(f,
		"\">\n<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"",
		CH_W, CH_H, CH_W, CH_H);
	esc(f, title);
	fprintf(f, "\" data-series=\"%zu\">\n<text class=\"title\" x=\"%d\" y=\"18\">", ns, CH_L);
	esc(f, title);
	fprintf(f, " <tspan class=\"unit\">(");
	esc(f, unit);
	fprintf(f, ")</tspan></text>\n");
	/* Grid and axes. */
	for (int i = 0; i <= 5; i++) {
		double yv = ystep * i, yp = CH_T + ph - ph * yv / ymax;

		fmt_tick(b, sizeof(b), yv);
		fprintf(f,
			"<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
			"<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			CH_L, yp, CH_W - CH_R, yp, CH_L - 6, yp + 4, b);
	}
	for (double xv = 0; xv <= xmax + 1e-9 && xstep > 0; xv += xstep) {
		double xp = CH_L + pw * xv / xmax;

		fmt_time(b, sizeof(b), xv);
		fprintf(f,
			"<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\"/>"
			"<text class=\"tick\" x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n",
			xp, CH_T, xp, CH_T + ph, xp, CH_T + ph + 16, b);
	}
	fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%.0f\" x2=\"%d\" y2=\"%.0f\"/>\n", CH_L,
		CH_T + ph, CH_W - CH_R, CH_T + ph);
	fprintf(f, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">run time</text>\n",
		CH_W - CH_R, CH_H - 4);
	/* The series. */
	for (size_t k = 0; k < ns; k++) {
		size_t pts = 0;
		int pen = 0;

		fprintf(f, "<path class=\"s%s\" stroke=\"%s\" data-series=\"",
			s[k].dashed ? " dashed" : "", s[k].color);
		esc(f, s[k].name);
		fprintf(f, "\" d=\"");
		for (size_t i = 0; i < n; i++) {
			double xp, yp;

			if (isnan(s[k].y[i])) {
				pen = 0;
				continue;
			}
			xp = CH_L + pw * x[i] / xmax;
			yp = CH_T + ph - ph * s[k].y[i] / ymax;
			/* A lone point still shows: a tiny segment. */
			fprintf(f, "%s%.1f %.1f", pen ? " L" : (pts ? " M" : "M"), xp, yp);
			if (!pen && (i + 1 >= n || isnan(s[k].y[i + 1])))
				fprintf(f, " L%.1f %.1f", xp + 0.5, yp);
			pen = 1;
			pts++;
		}
		if (!pts)
			fprintf(f, "M%d %.0f", CH_L, CH_T + ph); /* keeps the element valid */
		fprintf(f, "\" data-points=\"%zu\"><title>", pts);
		esc(f, s[k].name);
		fprintf(f, "</title></path>\n");
	}
	fprintf(f, "</svg>\n<figcaption>");
	for (size_t k = 0; k < ns; k++) {
		fprintf(f, "<span class=\"key\"><i style=\"background:%s\"></i>", s[k].color);
		esc(f, s[k].name);
		fprintf(f, "%s</span> ", s[k].dashed ? " (dashed)" : "");
	}
	fprintf(f, "</figcaption></figure>\n");
}

/* count/dt per point into out (n long). */
static void per_second(const double *c, const double *dt, size_t n, double *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = dt[i] > 0 ? c[i] / dt[i] : NAN;
}

static int charts(FILE *f, timeline *tl)
{
	size_t n = tl->t.n, order[REPORT_HTML_MAX_TXN_CHARTS], nord = 0;
	double *buf;
	series s[16];
	char names[16][300];
	size_t ns;
	int rc = 0;

	if (!n) {
		fprintf(f,
			"<p class=\"note\">No timeline (timeline.jsonl is missing or empty): no charts.</p>\n");
		return 0;
	}
	/* Scratch rows: the series of one chart at a time. */
	buf = calloc(n * 16, sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	/* The busiest transactions, busiest first. */
	for (size_t i = 0; i < tl->ntx; i++) {
		size_t at = nord;

		while (at > 0 && tl->tx[order[at - 1]].total < tl->tx[i].total)
			at--;
		if (at >= REPORT_HTML_MAX_TXN_CHARTS)
			continue;
		if (nord < REPORT_HTML_MAX_TXN_CHARTS)
			nord++;
		memmove(&order[at + 1], &order[at], (nord - 1 - at) * sizeof(order[0]));
		order[at] = i;
	}

	fprintf(f, "<h2 id=\"throughput\">Throughput</h2>\n");
	ns = 0;
	per_second(tl->g[G_TX].v, tl->dt.v, n, buf);
	s[ns++] = (series){ "transactions/s (all)", buf, palette[0], 0 };
	per_second(tl->g[G_HTTP].v, tl->dt.v, n, buf + n);
	s[ns++] = (series){ "HTTP requests/s", buf + n, palette[1], 1 };
	for (size_t k = 0; k < nord && k < 8; k++) {
		tl_txn *t = &tl->tx[order[k]];

		per_second(t->v[TX_COUNT].v, tl->dt.v, n, buf + n * ns);
		s[ns] = (series){ t->name, buf + n * ns, palette[(ns) % NPALETTE], 0 };
		ns++;
	}
	chart(f, "chart-throughput", "Requests per second", "per second", tl->t.v, n, s, ns);

	fprintf(f, "<h2 id=\"latency\">Latency percentiles</h2>\n");
	for (size_t k = 0; k < nord; k++) {
		tl_txn *t = &tl->tx[order[k]];
		static const char *const pct[] = { "p50", "p90", "p95", "p99" };
		char id[64], title[600];

		for (int q = 0; q < 4; q++) {
			for (size_t i = 0; i < n; i++)
				buf[n * q + i] = t->v[TX_P50 + q].v[i] * 1e3;
			s[q] = (series){ pct[q], buf + n * q, palette[q], 0 };
		}
		snprintf(id, sizeof(id), "chart-latency-%zu", k);
		snprintf(title, sizeof(title), "%s :: %s", t->journey, t->name);
		chart(f, id, title, "ms, per second", tl->t.v, n, s, 4);
	}
	if (!nord)
		fprintf(f, "<p class=\"note\">No transactions.</p>\n");

	fprintf(f, "<h2 id=\"failures\">Failures</h2>\n");
	ns = 0;
	per_second(tl->g[G_FAIL].v, tl->dt.v, n, buf + n * ns);
	s[ns] = (series){ "failed transactions/s", buf + n * ns, palette[1], 0 }, ns++;
	per_second(tl->g[G_ERRORS].v, tl->dt.v, n, buf + n * ns);
	s[ns] = (series){ "journey errors/s", buf + n * ns, palette[3], 0 }, ns++;
	per_second(tl->g[G_HTTP_FAIL].v, tl->dt.v, n, buf + n * ns);
	s[ns] = (series){ "HTTP responses >= 400 /s", buf + n * ns, palette[4], 1 }, ns++;
	per_second(tl->g[G_HTTP_ERR].v, tl->dt.v, n, buf + n * ns);
	s[ns] = (series){ "HTTP requests without a response /s", buf + n * ns, palette[5], 1 },
	ns++;
	chart(f, "chart-failures", "Failures per second", "per second", tl->t.v, n, s, ns);

	fprintf(f, "<h2 id=\"volume\">Volume: required vs actual</h2>\n");
	ns = 0;
	for (size_t j = 0; j < tl->njr && ns + 2 <= 16; j++) {
		tl_journey *jr = &tl->jr[j];

		snprintf(names[ns], sizeof(names[ns]), "%s actual", jr->name);
		s[ns] = (series){ names[ns], jr->v[VJ_ACT].v, palette[j % NPALETTE], 0 };
		ns++;
		if (!jr->open) {
			snprintf(names[ns], sizeof(names[ns]), "%s required", jr->name);
			s[ns] = (series){ names[ns], jr->v[VJ_REQ].v, palette[j % NPALETTE], 1 };
			ns++;
		}
	}
	chart(f, "chart-volume", "Journey instances (actual solid, required dashed)", "instances",
	      tl->t.v, n, s, ns);
	free(buf);
	return rc;
}

/* ---- tables ------------------------------------------------------------- */

static void th_row(FILE *f, const char *const *cols, size_t n)
{
	fprintf(f, "<tr>");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "<th>");
		esc(f, cols[i]);
		fprintf(f, "</th>");
	}
	fprintf(f, "</tr>\n");
}

static void td(FILE *f, const char *s, int num)
{
	fprintf(f, num ? "<td class=\"n\">" : "<td>");
	esc(f, s);
	fprintf(f, "</td>");
}

/* A number with `decimals` decimals and an optional unit. */
static void tdn(FILE *f, double v, int decimals, const char *unit)
{
	char b[64];

	snprintf(b, sizeof(b), "%.*f%s", decimals, v, unit);
	td(f, b, 1);
}

static void table_thresholds(FILE *f, const cJSON *sum)
{
	const cJSON *x, *a;

	a = cJSON_GetObjectItemCaseSensitive(sum, "thresholds");
	if (cJSON_GetArraySize(a) > 0) {
		static const char *const h[] = { "", "threshold", "value", "broken at", "series" };

		fprintf(f, "<h2 id=\"thresholds\">Thresholds</h2>\n<table>\n");
		th_row(f, h, 5);
		cJSON_ArrayForEach(x, a)
		{
			int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "ok"));
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(x, "value");

			fprintf(f, "<tr class=\"%s\">", ok ? "ok" : "bad");
			td(f, ok ? "ok" : "BROKEN", 0);
			td(f, results_io_str(x, "text", "?"), 0);
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "no_data")))
				td(f, "no data", 1);
			else if (cJSON_IsNumber(v))
				tdn(f, v->valuedouble, 6, "");
			else
				td(f, "-", 1);
			if (!ok)
				tdn(f, results_io_num(x, "broken_at", 0), 0, " s");
			else
				td(f, "", 1);
			td(f, results_io_str(x, "series", ""), 0);
			fprintf(f, "</tr>\n");
		}
		fprintf(f, "</table>\n");
	}
}

static void table_journeys(FILE *f, const cJSON *sum)
{
	const cJSON *x;
	char b[8][32];

	fprintf(f, "<h2 id=\"journeys\">Journeys</h2>\n<table>\n");
	{
		static const char *const h[] = { "journey",
						 "model",
						 "started",
						 "ok",
						 "failed",
						 "required mean/max",
						 "actual mean/max",
						 "behind",
						 "p50",
						 "p95",
						 "max" };

		th_row(f, h, 11);
	}
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sum, "journeys"))
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(x, "volume");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(x, "duration");
		char req[64], act[64];

		if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(v, "required_mean")))
			snprintf(req, sizeof(req), "%.1f / %.0f",
				 results_io_num(v, "required_mean", 0),
				 results_io_num(v, "required_max", 0));
		else
			snprintf(req, sizeof(req), "open: %.2f starts/s",
				 results_io_num(v, "started_rate", 0));
		snprintf(act, sizeof(act), "%.1f / %.0f", results_io_num(v, "actual_mean", 0),
			 results_io_num(v, "actual_max", 0));
		fprintf(f, "<tr>");
		td(f, results_io_str(x, "name", "?"), 0);
		td(f, results_io_str(x, "model", "?"), 0);
		tdn(f, results_io_num(x, "started", 0), 0, "");
		tdn(f, results_io_num(x, "ok", 0), 0, "");
		tdn(f, results_io_num(x, "failed", 0), 0, "");
		td(f, req, 1);
		td(f, act, 1);
		if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(v, "behind_seconds")))
			tdn(f, results_io_num(v, "behind_seconds", 0), 0, " s");
		else
			td(f, "-", 1);
		td(f, results_io_secs(b[0], 32, d, "p50"), 1);
		td(f, results_io_secs(b[1], 32, d, "p95"), 1);
		td(f, results_io_secs(b[2], 32, d, "max"), 1);
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</table>\n");
}

static void table_transactions(FILE *f, const cJSON *sum)
{
	const cJSON *x;
	char b[8][32];

	fprintf(f, "<h2 id=\"transactions\">Transactions</h2>\n<table>\n");
	{
		static const char *const h[] = { "journey", "transaction", "count", "failures",
						 "rate/s",  "min",         "mean",  "p50",
						 "p90",     "p95",         "p99",   "p99.9",
						 "max" };

		th_row(f, h, 13);
	}
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sum, "transactions"))
	{
		static const char *const keys[] = { "min", "mean", "p50",   "p90",
						    "p95", "p99",  "p99_9", "max" };

		fprintf(f, "<tr>");
		td(f, results_io_str(x, "journey", "?"), 0);
		td(f, results_io_str(x, "name", "?"), 0);
		tdn(f, results_io_num(x, "count", 0), 0, "");
		tdn(f, results_io_num(x, "failures", 0), 0, "");
		tdn(f, results_io_num(x, "rate", 0), 2, "");
		for (size_t k = 0; k < 8; k++)
			td(f, results_io_secs(b[k], 32, x, keys[k]), 1);
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</table>\n");
}

static void table_http(FILE *f, const cJSON *sum)
{
	const cJSON *x, *a;
	char b[8][32];

	a = cJSON_GetObjectItemCaseSensitive(sum, "http");
	if (cJSON_GetArraySize(a) > 0) {
		static const char *const h[] = { "transaction", "method",  "status",
						 "count",       "rate/s",  "p50",
						 "p95",         "p99",     "dns p95",
						 "connect p95", "tls p95", "ttfb p95",
						 "bytes in" };

		fprintf(f, "<h2 id=\"http\">HTTP</h2>\n<table>\n");
		th_row(f, h, 13);
		cJSON_ArrayForEach(x, a)
		{
			const cJSON *ph = cJSON_GetObjectItemCaseSensitive(x, "phases");
			const cJSON *tot = cJSON_GetObjectItemCaseSensitive(ph, "total");

			fprintf(f, "<tr>");
			td(f, results_io_str(x, "transaction", "-"), 0);
			td(f, results_io_str(x, "method", "?"), 0);
			td(f, results_io_str(x, "status", "?"), 1);
			tdn(f, results_io_num(x, "count", 0), 0, "");
			tdn(f, results_io_num(x, "rate", 0), 2, "");
			td(f, results_io_secs(b[0], 32, tot, "p50"), 1);
			td(f, results_io_secs(b[1], 32, tot, "p95"), 1);
			td(f, results_io_secs(b[2], 32, tot, "p99"), 1);
			td(f,
			   results_io_secs(b[3], 32, cJSON_GetObjectItemCaseSensitive(ph, "dns"),
					   "p95"),
			   1);
			td(f,
			   results_io_secs(b[4], 32,
					   cJSON_GetObjectItemCaseSensitive(ph, "connect"), "p95"),
			   1);
			td(f,
			   results_io_secs(b[5], 32, cJSON_GetObjectItemCaseSensitive(ph, "tls"),
					   "p95"),
			   1);
			td(f,
			   results_io_secs(b[6], 32, cJSON_GetObjectItemCaseSensitive(ph, "ttfb"),
					   "p95"),
			   1);
			tdn(f, results_io_num(x, "bytes_in", 0), 0, "");
			fprintf(f, "</tr>\n");
		}
		fprintf(f, "</table>\n");
	}
}

static void table_http_errors(FILE *f, const cJSON *sum)
{
	const cJSON *x, *a;

	a = cJSON_GetObjectItemCaseSensitive(sum, "http_errors");
	if (cJSON_GetArraySize(a) > 0) {
		static const char *const h[] = { "transaction", "method", "class", "count" };

		fprintf(f, "<h3>HTTP requests without a response</h3>\n<table>\n");
		th_row(f, h, 4);
		cJSON_ArrayForEach(x, a)
		{
			fprintf(f, "<tr>");
			td(f, results_io_str(x, "transaction", "-"), 0);
			td(f, results_io_str(x, "method", "?"), 0);
			td(f, results_io_str(x, "class", "?"), 0);
			tdn(f, results_io_num(x, "count", 0), 0, "");
			fprintf(f, "</tr>\n");
		}
		fprintf(f, "</table>\n");
	}
}

static void table_errors(FILE *f, const cJSON *sum)
{
	const cJSON *x, *a;

	a = cJSON_GetObjectItemCaseSensitive(sum, "errors");
	if (cJSON_GetArraySize(a) > 0) {
		static const char *const h[] = { "count", "message", "location",
						 "where (journey :: transaction)" };

		int shown = 0;

		fprintf(f, "<h2 id=\"errors\">Errors</h2>\n<table>\n");
		th_row(f, h, 4);
		cJSON_ArrayForEach(x, a)
		{
			const cJSON *w;
			int k = 0;

			if (shown++ == REPORT_HTML_MAX_ERRORS) {
				fprintf(f,
					"<tr><td colspan=\"4\">... and %d more distinct errors (see summary.json)</td></tr>\n",
					cJSON_GetArraySize(a) - REPORT_HTML_MAX_ERRORS);
				break;
			}
			fprintf(f, "<tr>");
			tdn(f, results_io_num(x, "count", 0), 0, "");
			td(f, results_io_str(x, "message", "?"), 0);
			td(f, results_io_str(x, "location", "?"), 0);
			fprintf(f, "<td>");
			cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(x, "where"))
			{
				const char *txn = results_io_str(w, "transaction", "");

				fprintf(f, "%s", k++ ? ", " : "");
				esc(f, results_io_str(w, "journey", "?"));
				if (*txn) {
					fprintf(f, " :: ");
					esc(f, txn);
				}
			}
			fprintf(f, "</td></tr>\n");
		}
		fprintf(f, "</table>\n");
	}
}

static void table_messages(FILE *f, const cJSON *sum)
{
	const cJSON *x, *a;

	a = cJSON_GetObjectItemCaseSensitive(sum, "messages");
	if (cJSON_GetArraySize(a) > 0) {
		static const char *const h[] = { "journey", "type", "count" };

		fprintf(f, "<h2 id=\"messages\">Custom messages</h2>\n<table>\n");
		th_row(f, h, 3);
		cJSON_ArrayForEach(x, a)
		{
			fprintf(f, "<tr>");
			td(f, results_io_str(x, "journey", "?"), 0);
			td(f, results_io_str(x, "type", "?"), 0);
			tdn(f, results_io_num(x, "count", 0), 0, "");
			fprintf(f, "</tr>\n");
		}
		fprintf(f, "</table>\n");
	}
}

static void table_lag(FILE *f, const cJSON *sum)
{
	const cJSON *x, *a;
	char b[8][32];

	a = cJSON_GetObjectItemCaseSensitive(sum, "lag");
	if (cJSON_GetArraySize(a) > 0) {
		static const char *const h[] = { "journey", "starts", "p50", "p95", "p99", "max" };

		fprintf(f, "<h2 id=\"lag\">Scheduling lag</h2>\n<table>\n");
		th_row(f, h, 6);
		cJSON_ArrayForEach(x, a)
		{
			fprintf(f, "<tr>");
			td(f, results_io_str(x, "journey", "?"), 0);
			tdn(f, results_io_num(x, "count", 0), 0, "");
			td(f, results_io_secs(b[0], 32, x, "p50"), 1);
			td(f, results_io_secs(b[1], 32, x, "p95"), 1);
			td(f, results_io_secs(b[2], 32, x, "p99"), 1);
			td(f, results_io_secs(b[3], 32, x, "max"), 1);
			fprintf(f, "</tr>\n");
		}
		fprintf(f, "</table>\n");
	}
}

static void table_events(FILE *f, const cJSON *sum)
{
	const cJSON *x;

	x = cJSON_GetObjectItemCaseSensitive(sum, "events");
	if (x) {
		fprintf(f,
			"<p class=\"note\">Events: %.0f logged, %.0f dropped by the log, %.0f dropped by runners.%s</p>\n",
			results_io_num(x, "logged", 0), results_io_num(x, "dropped_log", 0),
			results_io_num(x, "dropped_runners", 0),
			results_io_num(x, "dropped_log", 0) +
						results_io_num(x, "dropped_runners", 0) >
					0
				? " The event log is incomplete."
				: "");
	}
}

/* The summary's tables, one function a section. */
static void tables(FILE *f, const cJSON *sum)
{
	table_thresholds(f, sum);
	table_journeys(f, sum);
	table_transactions(f, sum);
	table_http(f, sum);
	table_http_errors(f, sum);
	table_errors(f, sum);
	table_messages(f, sum);
	table_lag(f, sum);
	table_events(f, sum);
}

/* ---- the page ----------------------------------------------------------- */

static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222;padding:0 12px}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}"
	"h3{font-size:15px}table{border-collapse:collapse;margin:6px 0;font-size:13px}"
	"th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}td.n{text-align:right;"
	"font-variant-numeric:tabular-nums}th{background:#f5f5f5}tr.bad td{color:#b00}"
	".verdict{display:inline-block;padding:4px 10px;border-radius:4px;font-weight:600;color:#fff}"
	".passed{background:#2a7}.failed,.thresholds{background:#c33}.meta td{border:none;padding:1px 8px}"
	"figure{margin:8px 0}figcaption{font-size:12px}.key{margin-right:12px;white-space:nowrap}"
	".key i{display:inline-block;width:12px;height:3px;margin:0 4px 3px 0;vertical-align:middle}"
	"svg .grid{stroke:#eee}svg .axis{stroke:#999}svg .tick{font-size:11px;fill:#666}"
	"svg .title{font-size:13px;font-weight:600;fill:#222}svg .unit{font-weight:400;fill:#888}"
	"svg path.s{fill:none;stroke-width:1.6}svg path.dashed{stroke-dasharray:5 3}"
	".note{color:#666}nav a{margin-right:10px}";

/* Proves in the browser that the charts were laid out: each series path
 * must have a size; the result goes on <body data-drawn="N/M">. */
static const char script[] =
	"(function(){var p=document.querySelectorAll('svg path.s'),n=0,i,b;"
	"for(i=0;i<p.length;i++){b=p[i].getBBox();if(b.width>0||b.height>0)n++;}"
	"document.body.setAttribute('data-drawn',n+'/'+p.length);})();";

int report_html_write(const char *dir, FILE *f, char *err, size_t errlen)
{
	char path[PATH_MAX];
	const cJSON *rn, *it;
	cJSON *sum;
	timeline tl;
	int rc;

	if (snprintf(path, sizeof(path), "%s/summary.json", dir) >= (int)sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	sum = results_io_load_json(path, err, errlen);
	if (!sum)
		return -EINVAL;
	rc = tl_load(dir, &tl, err, errlen);
	if (rc < 0) {
		cJSON_Delete(sum);
		tl_free(&tl);
		return rc;
	}
	rn = cJSON_GetObjectItemCaseSensitive(sum, "run");
	fprintf(f,
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		"style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>mite: ");
	esc(f, results_io_str(rn, "name", "run"));
	fprintf(f, " (%s)</title>\n<style>%s</style>\n</head>\n<body>\n<h1>",
		results_io_str(rn, "id", "?"), css);
	esc(f, results_io_str(rn, "name", "run"));
	fprintf(f, " <span class=\"verdict %s\">", results_io_str(sum, "verdict", "failed"));
	esc(f, results_io_str(sum, "verdict", "?"));
	fprintf(f, "</span></h1>\n<p>");
	esc(f, results_io_str(sum, "verdict_reason", ""));
	fprintf(f, "</p>\n<table class=\"meta\">\n");
	{
		static const char *const keys[] = { "id",  "scenario", "start",
						    "end", "error",    "aborted_by" };

		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			if (!results_io_str(rn, keys[k], NULL))
				continue;
			fprintf(f, "<tr><td>%s</td><td>", keys[k]);
			esc(f, results_io_str(rn, keys[k], ""));
			fprintf(f, "</td></tr>\n");
		}
	}
	fprintf(f,
		"<tr><td>elapsed</td><td>%.1f s (duration %g s), %.0f runner(s), scale %g</td></tr>\n",
		results_io_num(rn, "elapsed", 0), results_io_num(rn, "duration", 0),
		results_io_num(rn, "runners", 0), results_io_num(rn, "scale", 1));
	fprintf(f, "<tr><td>mite</td><td>");
	esc(f, results_io_str(sum, "mite_version", "?"));
	fprintf(f, "</td></tr>\n<tr><td>config</td><td>");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rn, "config"))
	{
		esc(f, it->string);
		fputc('=', f);
		esc(f, cJSON_IsString(it) ? it->valuestring : "?");
		fputc(' ', f);
	}
	fprintf(f,
		"</td></tr>\n</table>\n<nav><a href=\"#throughput\">throughput</a><a href=\"#latency\">latency</a>"
		"<a href=\"#failures\">failures</a><a href=\"#volume\">volume</a><a href=\"#journeys\">tables</a></nav>\n");
	rc = charts(f, &tl);
	if (rc < 0)
		snprintf(err, errlen, "%s: out of memory drawing the charts", dir);
	else
		tables(f, sum);
	fprintf(f,
		"<p class=\"note\">Made by mite %s from %s (%zu timeline records).</p>\n<script>%s</script>\n"
		"</body>\n</html>\n",
		PACKAGE_VERSION, dir, tl.records, script);
	cJSON_Delete(sum);
	tl_free(&tl);
	if (!rc && (fflush(f) != 0 || ferror(f))) {
		snprintf(err, errlen, "writing the report failed: %s", strerror(errno));
		rc = -EIO;
	}
	return rc;
}
