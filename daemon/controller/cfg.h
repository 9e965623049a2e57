/* cfg.h - what scenario files, thresholds and mited.conf share in reading
 * libconfig settings. */
#ifndef MITE_CONTROLLER_CFG_H
#define MITE_CONTROLLER_CFG_H

#include <libconfig.h>

/* The type of a setting as an error message names it: "an integer", "a
 * string", "a list ( ... )", ... */
const char *cfg_type_name(const config_setting_t *s);
/* A duration written with units, "90", "90s", "1.5m", "1h30m", "250ms",
 * "800us", "2d", as seconds; -1 when malformed (signs, spaces, unknown
 * units). */
double cfg_parse_seconds(const char *str);

#endif
