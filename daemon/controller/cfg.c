/* cfg.c - shared readers of libconfig settings (see cfg.h). */
#include "controller/cfg.h"

#include <errno.h>
#include <math.h>
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
		{"ms", 1e-3}, {"us", 1e-6}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400},
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
