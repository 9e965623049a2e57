/*
 * verdict.c - the verdicts, the scenario's `verdict` group, and the list
 * of problems a judgement found (see verdict.h).
 */
#include "controller/verdict.h"

#include "controller/cfg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name, *title;
	int status;
} kinds[VERDICT_NKINDS] = {
	[VERDICT_PASSED] = { "passed", "passed", VERDICT_EXIT_PASSED },
	[VERDICT_THRESHOLDS] = { "thresholds", "failed: thresholds broken",
				 VERDICT_EXIT_THRESHOLDS },
	[VERDICT_VOLUME] = { "volume", "failed: volume not delivered", VERDICT_EXIT_VOLUME },
	[VERDICT_TAINTED] = { "tainted", "tainted: mite itself was saturated",
			      VERDICT_EXIT_TAINTED },
	[VERDICT_INCOMPLETE] = { "incomplete", "incomplete", VERDICT_EXIT_INCOMPLETE },
	[VERDICT_FAILED] = { "failed", "failed", VERDICT_EXIT_FAILED },
};

static verdict_kind clamp(verdict_kind k)
{
	return (unsigned)k < VERDICT_NKINDS ? k : VERDICT_FAILED;
}

const char *verdict_name(verdict_kind k)
{
	return kinds[clamp(k)].name;
}
const char *verdict_title(verdict_kind k)
{
	return kinds[clamp(k)].title;
}
int verdict_exit_status(verdict_kind k)
{
	return kinds[clamp(k)].status;
}

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

int verdict_conf_parse(const config_setting_t *g, const char *file, verdict_conf *c, char *err,
		       size_t errlen)
{
	static const char *const keys[] = {
		"volume_tolerance", "volume",     "start_lag", "loop_lag",
		"loop_lag_share",   "saturation", NULL
	};
	static const char *const volume[] = { "fail", "warn", NULL };
	static const char *const saturation[] = { "taint", "warn", NULL };
	cfg_reader R = { .file = file, .prefix = "verdict: ", .err = err, .errlen = errlen };

	if (cfg_is_group(&R, g) < 0 || cfg_check_keys(&R, g, NULL, keys) < 0 ||
	    cfg_get_num_in(&R, g, "volume_tolerance", 0, 1, &c->volume_tolerance) < 0 ||
	    cfg_get_secs_in(&R, g, "start_lag", 0.001, 3600, 0, &c->start_lag) < 0 ||
	    cfg_get_secs_in(&R, g, "loop_lag", 0.001, 3600, 0, &c->loop_lag) < 0 ||
	    cfg_get_num_in(&R, g, "loop_lag_share", 0, 1, &c->loop_lag_share) < 0 ||
	    cfg_get_enum(&R, g, "volume", volume, &c->volume_warn) < 0 ||
	    cfg_get_enum(&R, g, "saturation", saturation, &c->loop_lag_warn) < 0)
		return -1;
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
		cJSON_ArrayForEach(it, v->reasons) if (verdict_kind_of(cJSON_GetStringValue(
							       cJSON_GetObjectItemCaseSensitive(
								       it, "verdict"))) ==
						       (verdict_kind)k)
		{
			if (!first)
				first = cJSON_GetStringValue(
					cJSON_GetObjectItemCaseSensitive(it, "reason"));
			cJSON_AddItemToArray(sorted, cJSON_Duplicate(it, 1));
			n++;
		}
	cJSON_AddStringToObject(o, "verdict", verdict_name(v->worst));
	if (!first)
		snprintf(line, sizeof(line), "%s",
			 v->worst == VERDICT_PASSED ? passed_reason : verdict_title(v->worst));
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
