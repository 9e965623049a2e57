/* util.c - small helpers the daemon's parts share (see util.h). */
#include "config.h"

#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void util_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int util_strv_eq(char *const *a, char *const *b)
{
	while (a && b && *a && *b && strcmp(*a, *b) == 0) {
		a++;
		b++;
	}
	return (!a || !*a) && (!b || !*b);
}

char *util_strv_join(char *const *v)
{
	size_t n = 1, o = 0;
	char *s;

	for (char *const *p = v; p && *p; p++)
		n += strlen(*p) + 2;
	if (!(s = malloc(n)))
		return NULL;
	/* Sized above: each piece is copied at its offset, no rescans. */
	for (char *const *p = v; p && *p; p++) {
		size_t l = strlen(*p);

		if (p != v) {
			memcpy(s + o, ", ", 2);
			o += 2;
		}
		memcpy(s + o, *p, l);
		o += l;
	}
	s[o] = '\0';
	return s;
}

char **util_strv_dup(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **out = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; out && i < n; i++)
		if (!(out[i] = strdup(v[i]))) {
			util_strv_free(out);
			return NULL;
		}
	return out;
}

/* Joins dir and name into a new string. */
char *util_path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s/%s", dir, name);
	return s;
}

char *util_dir_of(const char *path)
{
	char *s = strdup(path);
	if (!s)
		return NULL;
	char *slash = strrchr(s, '/');
	if (slash == s)
		s[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(s, strlen(s) + 1, ".");
	return s;
}

int util_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	int n = snprintf(buf, sizeof(buf), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

const char *util_sig_name(int sig)
{
	const char *s = sigabbrev_np(sig);
	return s ? s : "?";
}

void util_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int util_parse_size(const char *s, size_t *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || v == 0)
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1ULL << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1ULL << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1ULL << 30;
		end++;
		break;
	}
	if (mul > 1 && strcmp(end, "iB") == 0)
		end += 2;
	if (*end || v > SIZE_MAX / mul)
		return -1;
	*out = (size_t)(v * mul);
	return 0;
}
