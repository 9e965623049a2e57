/* cfg.c - the one reader of libconfig settings (see cfg.h). */
#include "controller/cfg.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cfg_type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number with a fraction";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	}
	return "nothing";
}

double cfg_parse_seconds(const char *str)
{
	static const struct {
		const char *unit;
		double seconds;
	} units[] = {
		/* Longest first: "ms" before "m". */
		{ "ms", 1e-3 }, { "us", 1e-6 }, { "s", 1 },
		{ "m", 60 },    { "h", 3600 },  { "d", 86400 },
	};
	double total = 0;
	const char *p = str;

	if (!*p)
		return -1;
	while (*p) {
		char *end;
		double v;
		size_t i;

		if (*p == '-' || *p == '+' || *p == ' ')
			return -1;
		errno = 0;
		v = strtod(p, &end);
		if (end == p || errno || !isfinite(v))
			return -1;
		p = end;
		for (i = 0; i < sizeof units / sizeof units[0]; i++) {
			size_t n = strlen(units[i].unit);

			if (strncmp(p, units[i].unit, n) == 0) {
				v *= units[i].seconds;
				p += n;
				break;
			}
		}
		/* A bare number is seconds, but only as the whole string's end. */
		if (i == sizeof units / sizeof units[0] && *p)
			return -1;
		total += v;
	}
	return total;
}

double cfg_parse_bytes(const char *str, const char **rest)
{
	static const char units[] = "KMGT";
	const char *u;
	char *end;
	double v;

	if (rest)
		*rest = NULL;
	if (*str == '-' || *str == '+' || *str == ' ')
		return -1;
	errno = 0;
	v = strtod(str, &end);
	if (end == str || errno || !isfinite(v) || v < 0)
		return -1;
	u = *end ? strchr(units, *end & ~0x20) : NULL;
	if (u) {
		v *= pow(1024.0, (double)(u - units + 1));
		end++;
		if (end[0] == 'i' && end[1] == 'B')
			end += 2;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end && rest) {
		*rest = end;
		return v;
	}
	return *end ? -1 : v;
}

/* ---- messages ------------------------------------------------------------ */

void cfg_file_of(const cfg_reader *R, const char *src, char *buf, size_t len)
{
	const char *file = R->file ? R->file : "(configuration)";
	const char *slash = strrchr(file, '/');

	/* libconfig names @included files as they were written: relative to
	 * the include folder, which is the folder of the file read. A cut
	 * path still locates the error well enough. */
	if (!src || src[0] == '/' || !slash)
		snprintf(buf, len, "%s", src ? src : file);
	else
		snprintf(buf, len, "%.*s/%s", (int)(slash - file), file, src);
}

static int cfg_vfail_at(const cfg_reader *R, const char *src, unsigned line, const char *fmt,
			va_list ap) __attribute__((format(printf, 4, 0)));
static int cfg_vfail_at(const cfg_reader *R, const char *src, unsigned line, const char *fmt,
			va_list ap)
{
	char where[PATH_MAX + 16];
	size_t n;

	if (!R->err || !R->errlen)
		return -1;
	cfg_file_of(R, src, where, sizeof(where));
	snprintf(R->err, R->errlen, "%s:%u: %s", where, line ? line : 1,
		 R->prefix ? R->prefix : "");
	n = strlen(R->err);
	if (n < R->errlen)
		vsnprintf(R->err + n, R->errlen - n, fmt, ap);
	return -1;
}

int cfg_fail_at(const cfg_reader *R, const char *src, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_vfail_at(R, src, line, fmt, ap);
	va_end(ap);
	return -1;
}

int cfg_fail(const cfg_reader *R, const config_setting_t *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_vfail_at(R, at ? config_setting_source_file(at) : NULL,
		     at ? config_setting_source_line(at) : 1, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- keys ---------------------------------------------------------------- */

int cfg_check_keys(const cfg_reader *R, const config_setting_t *g, const char *where,
		   const char *const *allowed)
{
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);
		char list[512] = "";
		size_t used = 0;
		int ok = 0;

		for (size_t k = 0; allowed[k] && !ok; k++)
			ok = strcmp(allowed[k], name) == 0;
		if (ok)
			continue;
		for (size_t k = 0; allowed[k] && used < sizeof(list); k++) {
			int w = snprintf(list + used, sizeof(list) - used, "%s%s", k ? ", " : "",
					 allowed[k]);
			if (w < 0)
				break;
			used += (size_t)w;
		}
		return cfg_fail(R, m, "unknown key '%s'%s%s (allowed there: %s)", name,
				where ? " in " : "", where ? where : "", list);
	}
	return 0;
}

int cfg_missing(const cfg_reader *R, const config_setting_t *g, const char *key, const char *where)
{
	return cfg_fail(R, g, "missing required key '%s' in %s", key, where);
}

int cfg_need(const cfg_reader *R, const config_setting_t *g, const char *key, const char *where,
	     int got)
{
	if (got > 0)
		return 0;
	if (got == 0)
		cfg_missing(R, g, key, where);
	return -1;
}

int cfg_is_group(const cfg_reader *R, const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_GROUP)
		return 0;
	return cfg_fail(R, s, "'%s' must be a group { ... }, not %s", config_setting_name(s),
			cfg_type_name(s));
}

/* ---- typed getters ------------------------------------------------------- */

static int is_int(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT ||
		config_setting_type(s) == CONFIG_TYPE_INT64;
}

/* A setting's value as it was written, for "..., not VALUE". */
static const char *written(const config_setting_t *s, char *buf, size_t len)
{
	if (is_int(s))
		snprintf(buf, len, "%lld", (long long)config_setting_get_int64(s));
	else if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		snprintf(buf, len, "%g", config_setting_get_float(s));
	else if (config_setting_type(s) == CONFIG_TYPE_STRING)
		snprintf(buf, len, "\"%s\"", config_setting_get_string(s));
	else
		snprintf(buf, len, "%s", cfg_type_name(s));
	return buf;
}

/* The one wording of a value out of its range: the field, its limits and
 * the value as written. */
static int out_of_range(const cfg_reader *R, const config_setting_t *g, const char *key,
			const char *lo, const char *hi, const char *unit)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	char v[128];

	return cfg_fail(R, s, "'%s' must be between %s and %s%s, not %s", key, lo, hi, unit,
			written(s, v, sizeof(v)));
}

int cfg_get_str(const cfg_reader *R, const config_setting_t *g, const char *key, const char **out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_fail(R, s, "'%s' must be a string, not %s", key, cfg_type_name(s));
	*out = config_setting_get_string(s);
	return 1;
}

int cfg_get_int(const cfg_reader *R, const config_setting_t *g, const char *key, long long *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (!s)
		return 0;
	if (!is_int(s))
		return cfg_fail(R, s, "'%s' must be an integer, not %s", key, cfg_type_name(s));
	*out = config_setting_get_int64(s);
	return 1;
}

int cfg_get_int_in(const cfg_reader *R, const config_setting_t *g, const char *key, long long lo,
		   long long hi, long long *out)
{
	long long v;
	int got = cfg_get_int(R, g, key, &v);

	if (got <= 0)
		return got;
	if (v < lo || v > hi) {
		char l[32], h[32];

		snprintf(l, sizeof(l), "%lld", lo);
		snprintf(h, sizeof(h), "%lld", hi);
		return out_of_range(R, g, key, l, h, "");
	}
	*out = v;
	return 1;
}

int cfg_get_num(const cfg_reader *R, const config_setting_t *g, const char *key, double *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (!s)
		return 0;
	if (is_int(s))
		*out = (double)config_setting_get_int64(s);
	else if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		*out = config_setting_get_float(s);
	else
		return cfg_fail(R, s, "'%s' must be a number, not %s", key, cfg_type_name(s));
	return 1;
}

int cfg_get_num_in(const cfg_reader *R, const config_setting_t *g, const char *key, double lo,
		   double hi, double *out)
{
	double v;
	int got = cfg_get_num(R, g, key, &v);

	if (got <= 0)
		return got;
	if (!(v >= lo && v <= hi)) {
		char l[32], h[32];

		snprintf(l, sizeof(l), "%g", lo);
		snprintf(h, sizeof(h), "%g", hi);
		return out_of_range(R, g, key, l, h, "");
	}
	*out = v;
	return 1;
}

int cfg_get_bool(const cfg_reader *R, const config_setting_t *g, const char *key, int *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return cfg_fail(R, s, "'%s' must be true or false, not %s", key, cfg_type_name(s));
	*out = config_setting_get_bool(s);
	return 1;
}

int cfg_get_secs(const cfg_reader *R, const config_setting_t *g, const char *key, double *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	double v;

	if (!s)
		return 0;
	if (is_int(s)) {
		v = (double)config_setting_get_int64(s);
	} else if (config_setting_type(s) == CONFIG_TYPE_FLOAT) {
		v = config_setting_get_float(s);
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		v = cfg_parse_seconds(config_setting_get_string(s));
		if (v < 0)
			return cfg_fail(R, s,
					"'%s' must be seconds or a time like \"90s\", \"5m\", "
					"\"1h30m\", not \"%s\"",
					key, config_setting_get_string(s));
	} else {
		return cfg_fail(R, s, "'%s' must be seconds or a time like \"5m\", not %s", key,
				cfg_type_name(s));
	}
	if (!isfinite(v) || v < 0)
		return cfg_fail(R, s, "'%s' must not be negative", key);
	*out = v;
	return 1;
}

int cfg_get_secs_in(const cfg_reader *R, const config_setting_t *g, const char *key, double lo,
		    double hi, int whole, double *out)
{
	double v;
	int got = cfg_get_secs(R, g, key, &v);

	if (got <= 0)
		return got;
	if (v < lo || v > hi || (whole && v != floor(v))) {
		const config_setting_t *s = config_setting_get_member(g, key);
		char w[128];

		return cfg_fail(R, s, "'%s' must be %sseconds between %g and %g, not %s", key,
				whole ? "whole " : "", lo, hi, written(s, w, sizeof(w)));
	}
	*out = v;
	return 1;
}

int cfg_get_size(const cfg_reader *R, const config_setting_t *g, const char *key, double hi,
		 unsigned long long *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	double v = -1;

	if (!s)
		return 0;
	if (is_int(s))
		v = (double)config_setting_get_int64(s);
	else if (config_setting_type(s) == CONFIG_TYPE_STRING)
		v = cfg_parse_bytes(config_setting_get_string(s), NULL);
	if (v < 0 && config_setting_type(s) == CONFIG_TYPE_STRING)
		return cfg_fail(R, s,
				"'%s' must be bytes or a size like \"64K\" or \"1M\", not \"%s\"",
				key, config_setting_get_string(s));
	if (v < 0 && !is_int(s))
		return cfg_fail(R, s, "'%s' must be bytes or a size like \"64K\", not %s", key,
				cfg_type_name(s));
	if (v < 0 || v > hi) {
		char h[32];

		snprintf(h, sizeof(h), "%.0f", hi);
		return out_of_range(R, g, key, "0", h, " bytes");
	}
	*out = (unsigned long long)v;
	return 1;
}

int cfg_get_size_in(const cfg_reader *R, const config_setting_t *g, const char *key,
		    unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
	unsigned long long v;
	int got = cfg_get_size(R, g, key, (double)ULLONG_MAX, &v);

	if (got <= 0)
		return got;
	if (v < lo || v > hi) {
		char l[32], h[32];

		snprintf(l, sizeof(l), "%llu", lo);
		snprintf(h, sizeof(h), "%llu", hi);
		return out_of_range(R, g, key, l, h, " bytes");
	}
	*out = v;
	return 1;
}

int cfg_get_enum(const cfg_reader *R, const config_setting_t *g, const char *key,
		 const char *const *names, int *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	const char *v = s && config_setting_type(s) == CONFIG_TYPE_STRING
		? config_setting_get_string(s)
		: NULL;
	char list[512] = "";
	size_t used = 0, n = 0;

	if (!s)
		return 0;
	for (; names[n]; n++)
		if (v && strcmp(v, names[n]) == 0) {
			*out = (int)n;
			return 1;
		}
	for (size_t k = 0; k < n && used < sizeof(list); k++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s\"%s\"",
				 !k                   ? ""
					 : k + 1 == n ? " or "
						      : ", ",
				 names[k]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (v)
		return cfg_fail(R, s, "'%s' must be %s, not \"%s\"", key, list, v);
	return cfg_fail(R, s, "'%s' must be %s, not %s", key, list, cfg_type_name(s));
}

int cfg_get_strv(const cfg_reader *R, const config_setting_t *g, const char *key, char ***out,
		 size_t *n)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	int len;

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST)
		return cfg_fail(R, s, "'%s' must be an array of strings [\"a\", \"b\"], not %s",
				key, cfg_type_name(s));
	len = config_setting_length(s);
	*out = calloc((size_t)len + 1, sizeof(**out));
	if (!*out)
		return cfg_fail(R, s, "%s", strerror(ENOMEM));
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return cfg_fail(R, e, "'%s' must hold strings only, not %s", key,
					cfg_type_name(e));
		(*out)[i] = strdup(config_setting_get_string(e));
		if (!(*out)[i])
			return cfg_fail(R, s, "%s", strerror(ENOMEM));
	}
	*n = (size_t)len;
	return 1;
}
