/*
 * verdict.c - the verdicts, the scenario's `verdict` group, and the list
 * of problems a judgement found (see verdict.h).
 */
#include "controller/verdict.h"

#include "controller/cfg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name, *title;
	int status;
} kinds[VERDICT_NKINDS] = {
	[VERDICT_PASSED] = {"passed", "passed", VERDICT_EXIT_PASSED},
	[VERDICT_THRESHOLDS] = {"thresholds", "failed: thresholds broken", VERDICT_EXIT_THRESHOLDS},
	[VERDICT_VOLUME] = {"volume", "failed: volume not delivered", VERDICT_EXIT_VOLUME},
	[VERDICT_TAINTED] = {"tainted", "tainted: mite itself was saturated", VERDICT_EXIT_TAINTED},
	[VERDICT_INCOMPLETE] = {"incomplete", "incomplete", VERDICT_EXIT_INCOMPLETE},
	[VERDICT_FAILED] = {"failed", "failed", VERDICT_EXIT_FAILED},
};

static verdict_kind clamp(verdict_kind k)
{
	return (unsigned)k < VERDICT_NKINDS ? k : VERDICT_FAILED;
}

const char *verdict_name(verdict_kind k) { return kinds[clamp(k)].name; }
const char *verdict_title(verdict_kind k) { return kinds[clamp(k)].title; }
int verdict_exit_status(verdict_kind k) { return kinds[clamp(k)].status; }

verdict_kind verdict_kind_of(const char *s)
{
	for (int k = 0; s && k < VERDICT_NKINDS; k++)
		if (strcmp(kinds[k].name, s) == 0)
			return (verdict_kind)k;
	return VERDICT_FAILED;
}

/* ---- the scenario's `verdict` group -------------------------------------- */

void verdict_conf_defaults(verdict_conf *c)
{
	c->volume_tolerance = VERDICT_VOLUME_TOLERANCE_DEFAULT;
	c->volume_warn = 0;
	c->start_lag = VERDICT_START_LAG_DEFAULT;
	c->loop_lag = VERDICT_LOOP_LAG_DEFAULT;
	c->loop_lag_share = VERDICT_LOOP_LAG_SHARE_DEFAULT;
	c->loop_lag_warn = 0;
}

static int conf_fail(const config_setting_t *s, const char *file, char *err, size_t errlen, const char *fmt,
		     ...) __attribute__((format(printf, 5, 6)));
static int conf_fail(const config_setting_t *s, const char *file, char *err, size_t errlen, const char *fmt,
		     ...)
{
	const char *src = config_setting_source_file(s);
	size_t n;
	va_list ap;

	snprintf(err, errlen, "%s:%u: verdict: ", src ? src : file, config_setting_source_line(s));
	n = strlen(err);
	if (n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A number, or seconds as a duration string ("250ms"), within [lo, hi]. */
static int conf_number(const config_setting_t *s, const char *file, int secs, double lo, double hi, double *out,
		       char *err, size_t errlen)
{
	const char *name = config_setting_name(s);
	double v;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = (double)config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		break;
	case CONFIG_TYPE_STRING:
		if (secs) {
			v = cfg_parse_seconds(config_setting_get_string(s));
			break;
		}
		/* fall through */
	default:
		return conf_fail(s, file, err, errlen, "'%s' must be %s, not %s", name,
				 secs ? "seconds (a number or a duration like \"250ms\")" : "a number",
				 cfg_type_name(s));
	}
	if (!isfinite(v) || v < lo || v > hi)
		return conf_fail(s, file, err, errlen, "'%s' must be from %g to %g%s", name, lo, hi,
				 secs ? " seconds" : "");
	*out = v;
	return 0;
}

/* A string that is one of two words: 0 for the first, 1 for the second. */
static int conf_choice(const config_setting_t *s, const char *file, const char *a, const char *b, int *out,
		       char *err, size_t errlen)
{
	const char *v = config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;

	if (v && strcmp(v, a) == 0)
		*out = 0;
	else if (v && strcmp(v, b) == 0)
		*out = 1;
	else
		return conf_fail(s, file, err, errlen, "'%s' must be \"%s\" or \"%s\"", config_setting_name(s), a,
				 b);
	return 0;
}

int verdict_conf_parse(const config_setting_t *g, const char *file, verdict_conf *c, char *err, size_t errlen)
{
	int n;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return conf_fail(g, file, err, errlen, "'verdict' must be a group { ... }, not %s", cfg_type_name(g));
	n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		int rc;

		if (strcmp(name, "volume_tolerance") == 0)
			rc = conf_number(s, file, 0, 0, 1, &c->volume_tolerance, err, errlen);
		else if (strcmp(name, "start_lag") == 0)
			rc = conf_number(s, file, 1, 0.001, 3600, &c->start_lag, err, errlen);
		else if (strcmp(name, "loop_lag") == 0)
			rc = conf_number(s, file, 1, 0.001, 3600, &c->loop_lag, err, errlen);
		else if (strcmp(name, "loop_lag_share") == 0)
			rc = conf_number(s, file, 0, 0, 1, &c->loop_lag_share, err, errlen);
		else if (strcmp(name, "volume") == 0)
			rc = conf_choice(s, file, "fail", "warn", &c->volume_warn, err, errlen);
		else if (strcmp(name, "saturation") == 0)
			rc = conf_choice(s, file, "taint", "warn", &c->loop_lag_warn, err, errlen);
		else
			rc = conf_fail(s, file, err, errlen,
				       "unknown key '%s' (allowed there: volume_tolerance, volume, start_lag, "
				       "loop_lag, loop_lag_share, saturation)",
				       name);
		if (rc < 0)
			return -1;
	}
	return 0;
}

cJSON *verdict_conf_json(const verdict_conf *c)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "volume_tolerance", c->volume_tolerance);
	cJSON_AddStringToObject(o, "volume", c->volume_warn ? "warn" : "fail");
	cJSON_AddNumberToObject(o, "start_lag", c->start_lag);
	cJSON_AddNumberToObject(o, "loop_lag", c->loop_lag);
	cJSON_AddNumberToObject(o, "loop_lag_share", c->loop_lag_share);
	cJSON_AddStringToObject(o, "saturation", c->loop_lag_warn ? "warn" : "taint");
	return o;
}

/* ---- the list of problems ------------------------------------------------ */

void verdict_list_init(verdict_list *v)
{
	v->reasons = cJSON_CreateArray();
	v->warnings = cJSON_CreateArray();
	v->worst = VERDICT_PASSED;
}

void verdict_list_free(verdict_list *v)
{
	cJSON_Delete(v->reasons);
	cJSON_Delete(v->warnings);
	v->reasons = v->warnings = NULL;
}

void verdict_add(verdict_list *v, verdict_kind k, const char *fmt, ...)
{
	char line[1024];
	cJSON *o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	k = clamp(k);
	if (k > v->worst)
		v->worst = k;
	/* Out of memory, the verdict still holds; only the line is lost. */
	if (v->reasons && (o = cJSON_CreateObject())) {
		cJSON_AddStringToObject(o, "verdict", verdict_name(k));
		cJSON_AddStringToObject(o, "reason", line);
		cJSON_AddItemToArray(v->reasons, o);
	}
}

void verdict_warn(verdict_list *v, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (v->warnings)
		cJSON_AddItemToArray(v->warnings, cJSON_CreateString(line));
}

void verdict_list_to_json(verdict_list *v, cJSON *o, const char *passed_reason)
{
	cJSON *sorted = cJSON_CreateArray(), *it;
	const char *first = NULL;
	char line[1200];
	int n = 0;

	/* Most severe first; within a kind, in the order found. */
	for (int k = VERDICT_NKINDS - 1; sorted && v->reasons && k > VERDICT_PASSED; k--)
		cJSON_ArrayForEach(it, v->reasons)
			if (verdict_kind_of(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "verdict"))) ==
			    (verdict_kind)k) {
				if (!first)
					first = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "reason"));
				cJSON_AddItemToArray(sorted, cJSON_Duplicate(it, 1));
				n++;
			}
	cJSON_AddStringToObject(o, "verdict", verdict_name(v->worst));
	if (!first)
		snprintf(line, sizeof(line), "%s", v->worst == VERDICT_PASSED ? passed_reason : verdict_title(v->worst));
	else if (n > 1)
		snprintf(line, sizeof(line), "%s (and %d more: see reasons)", first, n - 1);
	else
		snprintf(line, sizeof(line), "%s", first);
	cJSON_AddStringToObject(o, "verdict_reason", line);
	cJSON_AddItemToObject(o, "reasons", sorted ? sorted : cJSON_CreateArray());
	cJSON_AddItemToObject(o, "warnings", v->warnings ? v->warnings : cJSON_CreateArray());
	v->warnings = NULL;
	verdict_list_free(v);
	v->worst = VERDICT_PASSED;
}
