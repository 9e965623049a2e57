/*
 * util.h - small helpers the daemon's parts share: NULL-terminated string
 * vectors, paths, folders, signal names.
 */
#ifndef MITE_CORE_UTIL_H
#define MITE_CORE_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Frees a NULL-terminated vector of malloc'ed strings (NULL: nothing). */
void util_strv_free(char **v);
/* A deep copy of v (NULL: an empty vector); NULL on ENOMEM. */
char **util_strv_dup(char *const *v);
/* Non-zero when a and b hold the same strings in the same order (NULL is
 * the empty vector). */
int util_strv_eq(char *const *a, char *const *b);
/* The strings of v joined by ", " (malloc'ed), or NULL on ENOMEM. */
char *util_strv_join(char *const *v);
/* Joins dir and name into a new string. */
char *util_path_join(const char *dir, const char *name);
/* The folder of path (malloc'ed): "." for a bare name, "/" for one at the
 * root. NULL on ENOMEM. */
char *util_dir_of(const char *path);
/* Creates path and its missing parents with mode. 0 or -errno. */
int util_mkdir_p(const char *path, mode_t mode);
/* An error message into err (errlen bytes; nothing when err is NULL or
 * errlen 0): a message cut short still says enough. */
void util_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A size: bytes, or a number with a K, M or G suffix (powers of 1024, an
 * optional "iB" after it), more than 0 and fitting a size_t. 0, or -1 when
 * s is not one. */
int util_parse_size(const char *s, size_t *out);
/* "TERM" for SIGTERM ("?" when unknown). */
const char *util_sig_name(int sig);

#endif
