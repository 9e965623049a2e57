/*
 * thresholds.c - pass/fail conditions of a scenario and their evaluation
 * (see thresholds.h and mite-scenario(5), THRESHOLDS).
 *
 * A threshold selects a set of series from the run's stats (by kind and
 * glob patterns on their labels), adds them up - counters by addition,
 * histograms bucket by bucket - and compares one statistic of the sum with
 * its bounds. With `each`, every matching series is judged on its own.
 * With `window`, the statistic is taken over the last N seconds: a ring of
 * one-second slices per series, each holding the second's counters and its
 * histogram in the sparse wire encoding (so memory follows what happened,
 * not 16 KiB per second), merged afresh at every evaluation.
 */
#include "config.h" /* _GNU_SOURCE: FNM_CASEFOLD */

#include "controller/thresholds.h"

#include "controller/cfg.h"

#include "core/hist.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum th_family { TH_TXN, TH_JOURNEY, TH_HTTP, TH_ERROR } th_family;
typedef enum th_stat {
	TH_COUNT,
	TH_FAILURES,
	TH_FAILURE_RATE,
	TH_RATE,
	TH_MIN,
	TH_MEAN,
	TH_MAX,
	TH_PCT,
} th_stat;

typedef struct threshold {
	char *metric; /* as written */
	char *stat_name; /* as written */
	char *text; /* for people: "txn:login p95 <= 0.25s" */
	th_family fam;
	char *pat; /* txn, journey, error: the name or message; http: the method */
	char *status; /* http: the status pattern */
	char *journey; /* filter, or NULL */
	char *transaction; /* filter (http, error), or NULL */
	int phase; /* http: which histogram (ST_H_*) */
	th_stat stat;
	double pct;
	int has_min, has_max;
	double min, max;
	int window; /* seconds; 0: the whole run */
	double after;
	int abort;
	int each;
	int line;
} threshold;

struct thresholds {
	threshold *v;
	size_t n;
};

static const char *const th_keys[] = { "metric",  "stat",        "min",   "max",
				       "window",  "after",       "abort", "each",
				       "journey", "transaction", "phase", NULL };


/* ---- parsing ------------------------------------------------------------ */

typedef struct th_parse {
	cfg_reader R; /* its prefix: "threshold N: " */
	char prefix[32];
} th_parse;

/* Messages name the threshold they are about (index: 1-based). */
static void th_at(th_parse *P, size_t index)
{
	snprintf(P->prefix, sizeof(P->prefix), "threshold %zu: ", index);
	P->R.prefix = P->prefix;
}

static int th_is_latency(th_stat s)
{
	return s == TH_MIN || s == TH_MEAN || s == TH_MAX || s == TH_PCT;
}

/* A bound (min or max): a number, or for latencies seconds (a number or
 * a time string). 0 when absent, 1 when read, -1 on error. */
static int th_bound(th_parse *P, const config_setting_t *g, const char *key, const threshold *t,
		    double *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	int secs = s && th_is_latency(t->stat) && config_setting_type(s) == CONFIG_TYPE_STRING;
	int got = secs ? cfg_get_secs(&P->R, g, key, out) : cfg_get_num(&P->R, g, key, out);

	if (got <= 0)
		return got;
	if (!isfinite(*out) || *out < 0)
		return cfg_fail(&P->R, s, "'%s' must be a number >= 0", key);
	if (t->stat == TH_FAILURE_RATE && *out > 1)
		return cfg_fail(
			&P->R, s,
			"'%s' of a failure_rate is a fraction from 0 to 1 (0.01 is 1 %%), not %g",
			key, *out);
	return 1;
}

/* A string that is not empty. */
static int th_string(th_parse *P, const config_setting_t *g, const char *key, const char **out)
{
	int got = cfg_get_str(&P->R, g, key, out);

	if (got > 0 && !**out)
		return cfg_fail(&P->R, config_setting_get_member(g, key), "'%s' is empty", key);
	return got;
}

/* "txn:NAME", "journey:NAME", "http:METHOD:STATUS", "error:MESSAGE";
 * a missing part is "*". */
static int th_metric(th_parse *P, const config_setting_t *at, threshold *t, const char *m)
{
	const char *colon = strchr(m, ':');
	size_t fam_len = colon ? (size_t)(colon - m) : strlen(m);
	const char *rest = colon ? colon + 1 : "*";

	if (colon && !*rest)
		return cfg_fail(&P->R, at, "metric '%s' ends with ':' (use '*' to match anything)",
				m);
	if (fam_len == 3 && strncmp(m, "txn", 3) == 0) {
		t->fam = TH_TXN;
	} else if (fam_len == 7 && strncmp(m, "journey", 7) == 0) {
		t->fam = TH_JOURNEY;
	} else if (fam_len == 5 && strncmp(m, "error", 5) == 0) {
		t->fam = TH_ERROR;
	} else if (fam_len == 4 && strncmp(m, "http", 4) == 0) {
		const char *c2 = strchr(rest, ':');

		t->fam = TH_HTTP;
		if (c2) {
			if (c2 == rest || !c2[1] || strchr(c2 + 1, ':'))
				return cfg_fail(
					&P->R, at,
					"metric '%s': expected http, http:METHOD or http:METHOD:STATUS",
					m);
			t->pat = strndup(rest, (size_t)(c2 - rest));
			t->status = strdup(c2 + 1);
		} else {
			t->pat = strdup(rest);
			t->status = strdup("*");
		}
		if (!t->pat || !t->status)
			return cfg_fail(&P->R, at, "out of memory");
		return 0;
	} else {
		return cfg_fail(
			&P->R, at,
			"unknown metric '%s' (expected txn:NAME, journey:NAME, http:METHOD:STATUS or "
			"error:MESSAGE; NAME and the parts may be globs like '*')",
			m);
	}
	t->pat = strdup(rest);
	if (!t->pat)
		return cfg_fail(&P->R, at, "out of memory");
	return 0;
}

static int th_stat_parse(th_parse *P, const config_setting_t *at, threshold *t, const char *s)
{
	static const struct {
		const char *name;
		th_stat stat;
	} names[] = {
		{ "count", TH_COUNT },
		{ "failures", TH_FAILURES },
		{ "failure_rate", TH_FAILURE_RATE },
		{ "rate", TH_RATE },
		{ "min", TH_MIN },
		{ "mean", TH_MEAN },
		{ "max", TH_MAX },
		{ "median", TH_PCT },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0) {
			t->stat = names[i].stat;
			t->pct = 50;
			goto check;
		}
	if (s[0] == 'p' && s[1] >= '0' && s[1] <= '9') {
		char *end;
		double p;

		errno = 0;
		p = strtod(s + 1, &end);
		if (!*end && !errno && p > 0 && p <= 100 &&
		    strspn(s + 1, "0123456789.") == strlen(s + 1) && end[-1] != '.') {
			t->stat = TH_PCT;
			t->pct = p;
			goto check;
		}
	}
	return cfg_fail(
		&P->R, at,
		"unknown stat '%s' (expected count, failures, failure_rate, rate, min, mean, max, "
		"median, or a percentile pNN such as p95 or p99.9)",
		s);
check:
	if (t->fam == TH_ERROR && t->stat != TH_COUNT && t->stat != TH_RATE)
		return cfg_fail(
			&P->R, at,
			"stat '%s' does not apply to errors (error: metrics have count and rate)",
			s);
	return 0;
}

static void th_describe(threshold *t)
{
	char buf[1024], num[64];
	size_t n;
	const char *unit = th_is_latency(t->stat) ? "s" : t->stat == TH_RATE ? "/s" : "";

	n = (size_t)snprintf(buf, sizeof(buf), "%s", t->metric);
	if (t->fam == TH_HTTP && t->phase != ST_H_TOTAL && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s", stats_phase_names[t->phase]);
	if (n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s", t->stat_name);
	if (t->has_min && n < sizeof(buf)) {
		snprintf(num, sizeof(num), "%g", t->min);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " >= %s%s", num, unit);
	}
	if (t->has_max && n < sizeof(buf)) {
		snprintf(num, sizeof(num), "%g", t->max);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s <= %s%s",
				      t->has_min ? " and" : "", num, unit);
	}
	if (t->journey && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " [journey %s]", t->journey);
	if (t->transaction && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " [transaction %s]",
				      t->transaction);
	if ((t->window || t->each || t->abort || t->after > 0) && n < sizeof(buf)) {
		int first = 1;

		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " (");
		if (t->window && n < sizeof(buf)) {
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%d s window", t->window);
			first = 0;
		}
		if (t->each && n < sizeof(buf)) {
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%seach series",
					      first ? "" : ", ");
			first = 0;
		}
		if (t->after > 0 && n < sizeof(buf)) {
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%safter %g s",
					      first ? "" : ", ", t->after);
			first = 0;
		}
		if (t->abort && n < sizeof(buf))
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%saborts",
					      first ? "" : ", ");
		if (n < sizeof(buf))
			snprintf(buf + n, sizeof(buf) - n, ")");
	}
	t->text = strdup(buf);
}

static void th_clear(threshold *t)
{
	free(t->metric);
	free(t->stat_name);
	free(t->text);
	free(t->pat);
	free(t->status);
	free(t->journey);
	free(t->transaction);
}

/* What a threshold measures and its bounds: metric, stat, min, max. */
static int th_one_what(th_parse *P, const config_setting_t *g, threshold *t)
{
	const char *metric = NULL, *stat = NULL;
	int rc;

	if ((rc = th_string(P, g, "metric", &metric)) < 0)
		return -1;
	if (!rc)
		return cfg_fail(&P->R, g, "'metric' is missing (e.g. metric = \"txn:login\";)");
	if (!(t->metric = strdup(metric)))
		return cfg_fail(&P->R, g, "out of memory");
	if (th_metric(P, config_setting_get_member(g, "metric"), t, metric) < 0)
		return -1;
	if ((rc = th_string(P, g, "stat", &stat)) < 0)
		return -1;
	if (!rc)
		return cfg_fail(&P->R, g, "'stat' is missing (e.g. stat = \"p95\";)");
	if (!(t->stat_name = strdup(stat)))
		return cfg_fail(&P->R, g, "out of memory");
	if (th_stat_parse(P, config_setting_get_member(g, "stat"), t, stat) < 0)
		return -1;
	if ((rc = th_bound(P, g, "min", t, &t->min)) < 0)
		return -1;
	t->has_min = rc;
	if ((rc = th_bound(P, g, "max", t, &t->max)) < 0)
		return -1;
	t->has_max = rc;
	if (!t->has_min && !t->has_max)
		return cfg_fail(&P->R, g, "'%s %s' needs a bound: 'max' and/or 'min'", metric,
				stat);
	if (t->has_min && t->has_max && t->min > t->max)
		return cfg_fail(&P->R, config_setting_get_member(g, "min"),
				"'min' (%g) is above 'max' (%g)", t->min, t->max);
	return 0;
}

/* When and how it is judged: window, after, abort, each. */
static int th_one_when(th_parse *P, const config_setting_t *g, threshold *t)
{
	double window = 0;

	if (cfg_get_secs_in(&P->R, g, "window", 1, THRESHOLDS_MAX_WINDOW, 1, &window) < 0 ||
	    cfg_get_secs_in(&P->R, g, "after", 0, 86400 * 7, 0, &t->after) < 0 ||
	    cfg_get_bool(&P->R, g, "abort", &t->abort) < 0 ||
	    cfg_get_bool(&P->R, g, "each", &t->each) < 0)
		return -1;
	t->window = (int)window;
	return 0;
}

/* What it is narrowed to: journey, transaction, phase. */
static int th_one_filters(th_parse *P, const config_setting_t *g, threshold *t)
{
	const char *s = NULL;
	int rc;

	if ((rc = th_string(P, g, "journey", &s)) < 0)
		return -1;
	if (rc && !(t->journey = strdup(s)))
		return cfg_fail(&P->R, g, "out of memory");
	if ((rc = th_string(P, g, "transaction", &s)) < 0)
		return -1;
	if (rc && t->fam != TH_HTTP && t->fam != TH_ERROR)
		return cfg_fail(
			&P->R, config_setting_get_member(g, "transaction"),
			"'transaction' filters http: and error: metrics only (for txn: put the "
			"name in the metric)");
	if (rc && !(t->transaction = strdup(s)))
		return cfg_fail(&P->R, g, "out of memory");
	t->phase = ST_H_TOTAL;
	if ((rc = cfg_get_enum(&P->R, g, "phase", stats_phase_names, &t->phase)) <= 0)
		return rc;
	if (t->fam != TH_HTTP)
		return cfg_fail(&P->R, config_setting_get_member(g, "phase"),
				"'phase' applies to http: metrics only");
	if (!th_is_latency(t->stat))
		return cfg_fail(&P->R, config_setting_get_member(g, "phase"),
				"'phase' goes with a latency stat (min, mean, max, pNN), not '%s'",
				t->stat_name);
	return 0;
}

static int th_one(th_parse *P, const config_setting_t *g, threshold *t)
{
	t->line = (int)config_setting_source_line(g);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cfg_fail(
			&P->R, g,
			"expected a group { metric = \"...\"; stat = \"...\"; max = ...; }, not %s",
			cfg_type_name(g));
	if (cfg_check_keys(&P->R, g, NULL, th_keys) < 0 || th_one_what(P, g, t) < 0 ||
	    th_one_when(P, g, t) < 0 || th_one_filters(P, g, t) < 0)
		return -1;
	th_describe(t);
	if (!t->text)
		return cfg_fail(&P->R, g, "out of memory");
	return 0;
}

thresholds *thresholds_parse(const config_setting_t *list, const char *file, char *err,
			     size_t errlen)
{
	th_parse P = { .R = { .file = file, .err = err, .errlen = errlen } };
	thresholds *t;
	int n;

	if (errlen)
		err[0] = '\0';
	if (config_setting_type(list) != CONFIG_TYPE_LIST) {
		cfg_fail(
			&P.R, list,
			"'thresholds' must be a list of groups ( { metric = \"txn:NAME\"; stat = \"p95\"; max = 0.5; "
			"}, ... ), not %s",
			cfg_type_name(list));
		return NULL;
	}
	n = config_setting_length(list);
	if (n > THRESHOLDS_MAX) {
		cfg_fail(&P.R, list, "%d thresholds: at most %d", n, THRESHOLDS_MAX);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t || (n && !(t->v = calloc((size_t)n, sizeof(*t->v))))) {
		free(t);
		cfg_fail(&P.R, list, "out of memory");
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		th_at(&P, (size_t)i + 1);
		/* Counted before parsing so that thresholds_free releases a
		 * half-built one. */
		t->n++;
		if (th_one(&P, config_setting_get_elem(list, (unsigned)i), &t->v[i]) < 0)
			goto fail;
	}
	return t;
fail:
	thresholds_free(t);
	return NULL;
}

void thresholds_free(thresholds *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		th_clear(&t->v[i]);
	free(t->v);
	free(t);
}

size_t thresholds_count(const thresholds *t)
{
	return t ? t->n : 0;
}

int thresholds_any_abort(const thresholds *t)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (t->v[i].abort)
			return 1;
	return 0;
}

const char *thresholds_text(const thresholds *t, size_t i)
{
	return t && i < t->n ? t->v[i].text : "";
}

/* ---- measuring ---------------------------------------------------------- */

/* The sum of the series a threshold selects. */
typedef struct th_acc {
	uint64_t count, failures;
	hist *h; /* scratch, owned by the evaluation */
} th_acc;

static int th_glob(const char *pat, const char *s, int casefold)
{
	return fnmatch(pat, s, casefold ? FNM_CASEFOLD : 0) == 0;
}

/* Whether entry e belongs to t's selection; adds it into a when so. */
static int th_take(const threshold *t, const stats_entry *e, th_acc *a)
{
	const hist *h = NULL;
	uint64_t count = 0, failures = 0;

	switch (t->fam) {
	case TH_TXN:
		if (strcmp(e->kind, "txn") != 0 || e->nlabels != 2 ||
		    !th_glob(t->pat, e->labels[1], 0))
			return 0;
		count = e->c[ST_TXN_OK] + e->c[ST_TXN_FAILED];
		failures = e->c[ST_TXN_FAILED];
		h = e->h[0];
		break;
	case TH_JOURNEY:
		if (strcmp(e->kind, "journey") != 0 || e->nlabels != 1 ||
		    !th_glob(t->pat, e->labels[0], 0))
			return 0;
		count = e->c[ST_J_OK] + e->c[ST_J_FAILED];
		failures = e->c[ST_J_FAILED];
		h = e->h[0];
		break;
	case TH_HTTP:
		if (e->nlabels != 4 || !th_glob(t->pat, e->labels[2], 1))
			return 0;
		if (strcmp(e->kind, "http") == 0) {
			long st = strtol(e->labels[3], NULL, 10);

			if (!th_glob(t->status, e->labels[3], 0))
				return 0;
			count = e->c[ST_HTTP_COUNT];
			failures = st >= 400 || st <= 0 ? count : 0;
			h = e->h[t->phase];
		} else if (strcmp(e->kind, "httperr") == 0) {
			/* Requests that got no response count as failed
			 * requests of every status pattern that takes all. */
			if (strcmp(t->status, "*") != 0)
				return 0;
			count = failures = e->c[0];
		} else {
			return 0;
		}
		if (t->transaction && !th_glob(t->transaction, e->labels[1], 0))
			return 0;
		break;
	case TH_ERROR:
		if (strcmp(e->kind, "error") != 0 || e->nlabels != 4 ||
		    !th_glob(t->pat, e->labels[3], 0))
			return 0;
		if (t->transaction && !th_glob(t->transaction, e->labels[1], 0))
			return 0;
		count = e->c[0];
		break;
	}
	if (t->journey && !th_glob(t->journey, e->labels[0], 0))
		return 0;
	a->count += count;
	a->failures += failures;
	if (h && a->h && th_is_latency(t->stat))
		hist_merge(a->h, h);
	return 1;
}

/* The name of a series (an entry) when thresholds are judged per series. */
static void th_series_name(const stats_entry *e, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < e->nlabels && n < len; i++) {
		int w = snprintf(buf + n, len - n, "%s%s", i ? " / " : "", e->labels[i]);

		if (w < 0)
			break;
		n += (size_t)w;
	}
}

/* The statistic of a sum over `seconds`; 0, or -1 when there is none (no
 * samples for a latency or failure rate). */
static int th_value(const threshold *t, const th_acc *a, double seconds, double *out)
{
	switch (t->stat) {
	case TH_COUNT:
		*out = (double)a->count;
		return 0;
	case TH_FAILURES:
		*out = (double)a->failures;
		return 0;
	case TH_FAILURE_RATE:
		if (!a->count)
			return -1;
		*out = (double)a->failures / (double)a->count;
		return 0;
	case TH_RATE:
		*out = seconds > 0 ? (double)a->count / seconds : 0;
		return 0;
	default:
		break;
	}
	if (!a->h || !hist_count(a->h))
		return -1;
	switch (t->stat) {
	case TH_MIN:
		*out = (double)hist_min(a->h) / 1e9;
		break;
	case TH_MEAN:
		*out = hist_mean(a->h) / 1e9;
		break;
	case TH_MAX:
		*out = (double)hist_max(a->h) / 1e9;
		break;
	default:
		*out = (double)hist_percentile(a->h, t->pct) / 1e9;
		break;
	}
	return 0;
}

static int th_breaks(const threshold *t, double v)
{
	return (t->has_max && v > t->max) || (t->has_min && v < t->min);
}

/* ---- evaluation state --------------------------------------------------- */

typedef struct th_slot {
	uint64_t count, failures;
	cJSON *h; /* sparse histogram, or NULL */
} th_slot;

typedef struct th_series {
	char *name;
	th_slot *slots; /* window of them, a ring */
} th_series;

typedef struct th_state {
	const threshold *t;
	th_series *series;
	size_t nseries, cap;
	int broken;
	double broken_at; /* run seconds */
	char *broken_series;
	int has_value;
	double value; /* the final value, or the worst of the windows */
	int evaluated; /* live evaluations that had data */
	int no_data; /* the final evaluation found nothing */
	int aborted; /* this one stopped the run */
} th_state;

struct thresholds_eval {
	const thresholds *th;
	th_state *s;
	hist *scratch;
	uint64_t seconds; /* slices seen */
	const char *aborted_by;
};

thresholds_eval *thresholds_eval_new(const thresholds *t)
{
	thresholds_eval *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->th = t;
	if (thresholds_count(t)) {
		e->s = calloc(t->n, sizeof(*e->s));
		e->scratch = hist_new();
		if (!e->s || !e->scratch) {
			free(e->s);
			hist_free(e->scratch);
			free(e);
			return NULL;
		}
		for (size_t i = 0; i < t->n; i++)
			e->s[i].t = &t->v[i];
	}
	return e;
}

static void th_series_free(th_series *s, int window)
{
	for (int k = 0; s->slots && k < window; k++)
		cJSON_Delete(s->slots[k].h);
	free(s->slots);
	free(s->name);
}

void thresholds_eval_free(thresholds_eval *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < thresholds_count(e->th); i++) {
		th_state *st = &e->s[i];

		for (size_t k = 0; k < st->nseries; k++)
			th_series_free(&st->series[k], st->t->window);
		free(st->series);
		free(st->broken_series);
	}
	free(e->s);
	hist_free(e->scratch);
	free(e);
}

static th_series *th_series_get(th_state *st, const char *name)
{
	th_series *s;

	for (size_t i = 0; i < st->nseries; i++)
		if (strcmp(st->series[i].name, name) == 0)
			return &st->series[i];
	if (st->nseries == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 4;
		th_series *v = realloc(st->series, cap * sizeof(*v));

		if (!v)
			return NULL;
		st->series = v;
		st->cap = cap;
	}
	s = &st->series[st->nseries];
	s->name = strdup(name);
	s->slots = calloc((size_t)st->t->window, sizeof(*s->slots));
	if (!s->name || !s->slots) {
		free(s->name);
		free(s->slots);
		return NULL;
	}
	st->nseries++;
	return s;
}

static void th_mark(th_state *st, double v, double at, const char *series)
{
	const threshold *t = st->t;

	if (!st->broken && th_breaks(t, v)) {
		st->broken = 1;
		st->broken_at = at;
		st->value = v;
		st->has_value = 1;
		free(st->broken_series);
		st->broken_series = series && *series ? strdup(series) : NULL;
		return;
	}
	if (st->broken)
		return;
	/* Keep the worst value seen, in the direction of the bound. */
	if (!st->has_value || (t->has_max ? v > st->value : v < st->value)) {
		st->value = v;
		st->has_value = 1;
	}
}

/* Adds a sum (its histogram in the evaluation's scratch) into the slot of
 * the current second of series `name`. */
static void th_slot_put(thresholds_eval *e, th_state *st, const char *name, size_t pos,
			const th_acc *a)
{
	th_series *s = th_series_get(st, name);
	th_slot *sl;

	if (!s)
		return; /* out of memory: this second is lost, not the run */
	sl = &s->slots[pos];
	sl->count += a->count;
	sl->failures += a->failures;
	if (!hist_count(e->scratch))
		return;
	if (sl->h) {
		/* Two entries with the same series name: merge them. */
		hist *tmp = hist_new();

		if (tmp && hist_merge_json(tmp, sl->h) == 0) {
			hist_merge(tmp, e->scratch);
			cJSON_Delete(sl->h);
			sl->h = hist_to_json(tmp);
		}
		hist_free(tmp);
	} else {
		sl->h = hist_to_json(e->scratch);
	}
}

/* A one-second slice into the ring of a windowed threshold, then the
 * judgement of each series over its window. */
static void th_window_second(thresholds_eval *e, th_state *st, const stats *slice, double elapsed,
			     int judge)
{
	const threshold *t = st->t;
	size_t pos = (size_t)(e->seconds % (uint64_t)t->window);
	char name[1024];

	/* Whatever the ring held for this second a window ago goes. */
	for (size_t i = 0; i < st->nseries; i++) {
		th_slot *sl = &st->series[i].slots[pos];

		cJSON_Delete(sl->h);
		memset(sl, 0, sizeof(*sl));
	}
	if (!t->each) {
		th_acc a = { 0 };
		int any = 0;

		hist_reset(e->scratch);
		a.h = e->scratch;
		for (const stats_entry *en = slice->first; en; en = en->order)
			any |= th_take(t, en, &a);
		if (any)
			th_slot_put(e, st, "", pos, &a);
	} else {
		for (const stats_entry *en = slice->first; en; en = en->order) {
			th_acc a = { 0 };

			hist_reset(e->scratch);
			a.h = e->scratch;
			if (!th_take(t, en, &a))
				continue;
			th_series_name(en, name, sizeof(name));
			th_slot_put(e, st, name, pos, &a);
		}
	}
	if (!judge)
		return;
	for (size_t i = 0; i < st->nseries; i++) {
		th_series *s = &st->series[i];
		th_acc a = { 0 };
		double v;

		hist_reset(e->scratch);
		a.h = e->scratch;
		for (int k = 0; k < t->window; k++) {
			a.count += s->slots[k].count;
			a.failures += s->slots[k].failures;
			if (s->slots[k].h)
				hist_merge_json(e->scratch, s->slots[k].h);
		}
		if (th_value(t, &a, (double)t->window, &v) < 0)
			continue;
		st->evaluated++;
		th_mark(st, v, elapsed, s->name);
	}
}

/* Judges the whole-run sum (or each series of it) on the totals. Returns
 * the number of values found. */
static int th_whole(thresholds_eval *e, th_state *st, const stats *totals, double elapsed)
{
	const threshold *t = st->t;
	int found = 0;
	double v;

	if (!t->each) {
		th_acc a = { 0 };

		hist_reset(e->scratch);
		a.h = e->scratch;
		for (const stats_entry *en = totals->first; en; en = en->order)
			th_take(t, en, &a);
		if (th_value(t, &a, elapsed, &v) < 0)
			return 0;
		th_mark(st, v, elapsed, NULL);
		return 1;
	}
	for (const stats_entry *en = totals->first; en; en = en->order) {
		th_acc a = { 0 };
		char name[1024];

		hist_reset(e->scratch);
		a.h = e->scratch;
		if (!th_take(t, en, &a) || th_value(t, &a, elapsed, &v) < 0)
			continue;
		th_series_name(en, name, sizeof(name));
		th_mark(st, v, elapsed, name);
		found++;
	}
	return found;
}

int thresholds_eval_second(thresholds_eval *e, const stats *slice, const stats *totals,
			   double elapsed, int running)
{
	int abort_now = 0;

	if (!e)
		return 0;
	e->seconds++;
	for (size_t i = 0; i < thresholds_count(e->th); i++) {
		th_state *st = &e->s[i];
		const threshold *t = st->t;
		int was = st->broken;
		int judge = running && elapsed >= t->after;

		if (t->window) {
			th_window_second(e, st, slice, elapsed,
					 judge && e->seconds >= (uint64_t)t->window);
		} else if (t->abort && judge) {
			/* A whole-run threshold that aborts is watched as the
			 * run goes, on its totals so far. */
			if (th_whole(e, st, totals, elapsed))
				st->evaluated++;
		}
		if (!was && st->broken && t->abort && !e->aborted_by) {
			st->aborted = 1;
			e->aborted_by = t->text;
			abort_now = 1;
		}
	}
	return abort_now;
}

void thresholds_eval_final(thresholds_eval *e, const stats *totals, double elapsed)
{
	if (!e)
		return;
	for (size_t i = 0; i < thresholds_count(e->th); i++) {
		th_state *st = &e->s[i];
		const threshold *t = st->t;

		/* A window judged at least once keeps its worst; the tail of a
		 * draining run is not a full window. */
		if (t->window && st->evaluated)
			continue;
		if (st->broken)
			continue;
		if (!t->window)
			st->has_value = 0; /* the final value, not the live worst */
		if (!th_whole(e, st, totals, elapsed)) {
			/* Nothing matched: a misspelt metric must not pass. */
			st->no_data = 1;
			st->broken = 1;
			st->broken_at = elapsed;
		}
	}
}

size_t thresholds_eval_broken(const thresholds_eval *e)
{
	size_t n = 0;

	for (size_t i = 0; e && i < thresholds_count(e->th); i++)
		n += e->s[i].broken != 0;
	return n;
}

int thresholds_eval_is_broken(const thresholds_eval *e, size_t i)
{
	return e && i < thresholds_count(e->th) && e->s[i].broken;
}

const char *thresholds_eval_aborted_by(const thresholds_eval *e)
{
	return e ? e->aborted_by : NULL;
}

cJSON *thresholds_eval_json(const thresholds_eval *e)
{
	cJSON *a = cJSON_CreateArray();

	if (!a)
		return NULL;
	for (size_t i = 0; e && i < thresholds_count(e->th); i++) {
		const th_state *st = &e->s[i];
		const threshold *t = st->t;
		cJSON *o = cJSON_CreateObject();

		if (!o) {
			cJSON_Delete(a);
			return NULL;
		}
		cJSON_AddStringToObject(o, "text", t->text);
		cJSON_AddStringToObject(o, "metric", t->metric);
		cJSON_AddStringToObject(o, "stat", t->stat_name);
		if (t->fam == TH_HTTP)
			cJSON_AddStringToObject(o, "phase", stats_phase_names[t->phase]);
		if (t->has_min)
			cJSON_AddNumberToObject(o, "min", t->min);
		if (t->has_max)
			cJSON_AddNumberToObject(o, "max", t->max);
		if (t->window)
			cJSON_AddNumberToObject(o, "window", t->window);
		if (t->after > 0)
			cJSON_AddNumberToObject(o, "after", t->after);
		if (t->journey)
			cJSON_AddStringToObject(o, "journey", t->journey);
		if (t->transaction)
			cJSON_AddStringToObject(o, "transaction", t->transaction);
		cJSON_AddBoolToObject(o, "abort", t->abort);
		cJSON_AddBoolToObject(o, "each", t->each);
		cJSON_AddNumberToObject(o, "line", t->line);
		cJSON_AddBoolToObject(o, "ok", !st->broken);
		if (st->has_value)
			cJSON_AddNumberToObject(o, "value", st->value);
		else
			cJSON_AddNullToObject(o, "value");
		if (st->no_data)
			cJSON_AddTrueToObject(o, "no_data");
		if (st->broken)
			cJSON_AddNumberToObject(o, "broken_at", st->broken_at);
		if (st->broken_series)
			cJSON_AddStringToObject(o, "series", st->broken_series);
		if (st->aborted)
			cJSON_AddTrueToObject(o, "aborted_run");
		cJSON_AddItemToArray(a, o);
	}
	return a;
}
