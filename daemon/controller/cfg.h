/*
 * cfg.h - the one reader of libconfig settings: scenario files (their
 * journeys, datapools, volumes, thresholds and verdict group) and the
 * settings of mited.conf read here.
 *
 * Every error is one line "file:line: [prefix]message", made by one
 * formatter (cfg_fail, cfg_fail_at): the file a setting came from (an
 * @included file by its path, resolved against the folder of the file
 * read, which is libconfig's include folder), and its line - line 1 for a
 * setting that has none (the root group).
 *
 * The typed getters read the member `key` of a group and return 1 when it
 * is there and good (*out set), 0 when it is absent (*out untouched) and
 * -1 when it is not what it must be (the message in the reader's err).
 * Each kind of mistake has one wording wherever it is made.
 */
#ifndef MITE_CONTROLLER_CFG_H
#define MITE_CONTROLLER_CFG_H

#include <libconfig.h>
#include <stddef.h>

typedef struct cfg_reader {
	const char *file; /* the file read (its path, as messages name it) */
	const char *prefix; /* after "file:line: " in every message ("threshold 2: "), or NULL */
	char *err;
	size_t errlen;
} cfg_reader;

/* The type of a setting as an error message names it: "an integer", "a
 * string", "a list ( ... )", ... */
const char *cfg_type_name(const config_setting_t *s);
/* A duration written with units, "90", "90s", "1.5m", "1h30m", "250ms",
 * "800us", "2d", as seconds; -1 when malformed (signs, spaces, unknown
 * units). */
double cfg_parse_seconds(const char *str);
/* Bytes written as a number with an optional K, M, G or T (powers of
 * 1024) and an optional "B" or "iB": "4096", "64K", "1.5M", "8GiB". -1 when
 * malformed or negative. *rest (may be NULL) gets what follows the number
 * when it is not a unit (the caller may accept "50%"); then the result is
 * the number alone. */
double cfg_parse_bytes(const char *str, const char **rest);

/* The file a setting came from, as messages name it: src (libconfig's
 * name for it, or NULL for R->file) made a path against R->file's folder
 * when it is relative. */
void cfg_file_of(const cfg_reader *R, const char *src, char *buf, size_t len);
/* The one formatter: "file:line: [prefix]message" into R->err, src and
 * line as libconfig gives them (line 0: 1). Returns -1. */
int cfg_fail_at(const cfg_reader *R, const char *src, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same at setting `at` (NULL: R->file, line 1). Returns -1. */
int cfg_fail(const cfg_reader *R, const config_setting_t *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Every member of group g is one of `allowed` (NULL-terminated), else
 * "unknown key 'k' in WHERE (allowed there: a, b, c)" (without " in WHERE"
 * when where is NULL). 0 or -1. */
int cfg_check_keys(const cfg_reader *R, const config_setting_t *g, const char *where,
		   const char *const *allowed);
/* "missing required key 'key' in WHERE", at g. Returns -1. */
int cfg_missing(const cfg_reader *R, const config_setting_t *g, const char *key, const char *where);
/* For a getter's result `got`: 0 when the key was there and good; -1 when
 * it was bad (already reported) or absent (reported as missing in where). */
int cfg_need(const cfg_reader *R, const config_setting_t *g, const char *key, const char *where,
	     int got);
/* Setting s is a group, else "'NAME' must be a group { ... }, not TYPE".
 * 0 or -1. */
int cfg_is_group(const cfg_reader *R, const config_setting_t *s);

/* The getters: 1 read, 0 absent, -1 reported (see above). */
int cfg_get_str(const cfg_reader *R, const config_setting_t *g, const char *key, const char **out);
int cfg_get_int(const cfg_reader *R, const config_setting_t *g, const char *key, long long *out);
/* An integer from lo to hi: "'k' must be between LO and HI, not V" */
int cfg_get_int_in(const cfg_reader *R, const config_setting_t *g, const char *key, long long lo,
		   long long hi, long long *out);
/* A number: an integer or one with a fraction. */
int cfg_get_num(const cfg_reader *R, const config_setting_t *g, const char *key, double *out);
/* A number from lo to hi: "'k' must be between LO and HI, not V" */
int cfg_get_num_in(const cfg_reader *R, const config_setting_t *g, const char *key, double lo,
		   double hi, double *out);
int cfg_get_bool(const cfg_reader *R, const config_setting_t *g, const char *key, int *out);
/* Seconds: a number, or a string with units (cfg_parse_seconds); never
 * negative. */
int cfg_get_secs(const cfg_reader *R, const config_setting_t *g, const char *key, double *out);
/* Seconds from lo to hi (whole: an integral count): "'k' must be [whole ]
 * seconds between LO and HI, not V". */
int cfg_get_secs_in(const cfg_reader *R, const config_setting_t *g, const char *key, double lo,
		    double hi, int whole, double *out);
/* Bytes: an integer, or a string cfg_parse_bytes reads, at most hi. */
int cfg_get_size(const cfg_reader *R, const config_setting_t *g, const char *key, double hi,
		 unsigned long long *out);
/* Bytes from lo to hi: "'k' must be between LO and HI bytes, not V"
 * (V as written: "2TiB"). */
int cfg_get_size_in(const cfg_reader *R, const config_setting_t *g, const char *key,
		    unsigned long long lo, unsigned long long hi, unsigned long long *out);
/* One of the words of `names` (NULL-terminated): *out its index. Else
 * "'k' must be \"a\", \"b\" or \"c\", not \"x\"". */
int cfg_get_enum(const cfg_reader *R, const config_setting_t *g, const char *key,
		 const char *const *names, int *out);
/* An array or list of strings: a NULL-terminated vector of copies in *out
 * (util_strv_free it), *n their count. On -1, *out may hold what was copied
 * so far: free it too. */
int cfg_get_strv(const cfg_reader *R, const config_setting_t *g, const char *key, char ***out,
		 size_t *n);

#endif
