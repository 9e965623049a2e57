/* cfgbound.c - size limits on a libconfig file and its includes (see cfgbound.h). */
#include "controller/cfgbound.h"

#include "controller/cfg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* libconfig 1.5 refuses deeper nesting itself (MAX_INCLUDE_DEPTH). */
#define CFGBOUND_MAX_DEPTH 10

typedef struct cb_state {
	const char *include_dir;
	const cfgbound_limits *lim;
	size_t total; /* bytes of the files read so far */
	char *err;
	size_t errlen;
	cfg_reader R; /* "file:line: ..." messages */
} cb_state;

static int cb_scan(cb_state *st, const char *path, const char *buf, size_t n, int depth);

/* Reads a regular file of at most what is left of the budget. 0, 1 when it
 * cannot be opened (libconfig says why, in its words), -1 with err set. */
static int cb_load(cb_state *st, const char *path, char **out, size_t *outlen)
{
	struct stat sb;
	size_t left = st->lim->file_max - st->total, got = 0;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return 1;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(st->err, st->errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((unsigned long long)sb.st_size > left) {
		snprintf(
			st->err, st->errlen,
			"%s: %lld bytes: the scenario and the files it @includes come to %llu bytes, "
			"over the limit of %zu bytes",
			path, (long long)sb.st_size,
			(unsigned long long)st->total + (unsigned long long)sb.st_size,
			st->lim->file_max);
		close(fd);
		return -1;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		snprintf(st->err, st->errlen, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	/* Read no more than fstat said: a file that grows meanwhile is cut
	 * here, and libconfig reads only this copy (of the main file). */
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(st->err, st->errlen, "%s: cannot read: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	st->total += got;
	*out = buf;
	*outlen = got;
	return 0;
}

/* The file an @include at from:line names, as libconfig 1.5 resolves it.
 * One that cannot be opened is refused here, by name (libconfig says only
 * "cannot open include file"). */
static int cb_include(cb_state *st, const char *from, int line, const char *name, size_t len,
		      int depth)
{
	char path[PATH_MAX];
	char *buf = NULL;
	size_t n = 0;
	int rc;

	if (depth >= CFGBOUND_MAX_DEPTH)
		return 0; /* libconfig refuses it, by name */
	if (name[0] == '/' || !st->include_dir)
		rc = snprintf(path, sizeof(path), "%.*s", (int)len, name);
	else
		rc = snprintf(path, sizeof(path), "%s/%.*s", st->include_dir, (int)len, name);
	if (rc < 0 || (size_t)rc >= sizeof(path))
		return 0; /* libconfig cannot open it either, and says so */
	rc = cb_load(st, path, &buf, &n);
	if (rc > 0) {
		return cfg_fail_at(&st->R, from, (unsigned)line,
				   "cannot open include file \"%.*s\" (%s): %s", (int)len, name,
				   path, strerror(errno));
	}
	if (rc < 0)
		return -1;
	rc = cb_scan(st, path, buf, n, depth + 1);
	free(buf);
	return rc;
}

static int cb_string_too_long(cb_state *st, const char *path, int line, size_t len)
{
	return cfg_fail_at(&st->R, path, (unsigned)line,
			   "a string of %zu bytes, over the limit of %zu bytes for one string "
			   "(adjacent strings count as one)",
			   len, st->lim->string_max);
}

/* libconfig 1.5 reads a decimal integer over 2147483647 (or a hex one over
 * 0xffffffff) written without an L suffix as a wrapped 32-bit value
 * (5000000000 as 705032704): a silent bound the reader could not see
 * afterwards. The number at buf[*i] (a digit, not inside a word; neg: a
 * '-' before it): 1 when it is such an integer, else 0; *i moves past it
 * either way. */
static int cb_int_wraps(const char *buf, size_t n, size_t *i, int neg)
{
	size_t k = *i;
	int hex = buf[k] == '0' && k + 2 < n && (buf[k + 1] == 'x' || buf[k + 1] == 'X') &&
		isxdigit((unsigned char)buf[k + 2]);
	unsigned long long v = 0, cap = 1ULL << 40;

	if (hex)
		k += 2;
	for (; k < n && (hex ? isxdigit((unsigned char)buf[k]) : isdigit((unsigned char)buf[k]));
	     k++) {
		unsigned d = isdigit((unsigned char)buf[k])
			? (unsigned)(buf[k] - '0')
			: (unsigned)(tolower((unsigned char)buf[k]) - 'a' + 10);

		v = v < cap ? v * (hex ? 16 : 10) + d : v;
	}
	*i = k;
	if (k < n && (buf[k] == 'L' || buf[k] == 'l'))
		return 0; /* a 64-bit integer, as asked */
	if (!hex && k < n && (buf[k] == '.' || buf[k] == 'e' || buf[k] == 'E'))
		return 0; /* a float */
	return hex ? v > 0xffffffffULL : v > 2147483647ULL + (neg ? 1 : 0);
}

/* Whether the digit at buf[i] continues a word (a setting name such as
 * "retry-2", a float's fraction or exponent) rather than starting a number;
 * a '-' is a sign unless a name's character stands before it. */
static int cb_in_word(const char *buf, size_t i)
{
	char p = i > 0 ? buf[i - 1] : ' ';

	if (p == '-')
		p = i > 1 ? buf[i - 2] : ' ';
	return isalnum((unsigned char)p) || p == '_' || p == '.' || p == '*';
}

/* Walks the text as libconfig's lexer would, as far as sizes go: comments
 * are skipped, strings measured (a run of adjacent literals as one), and
 * each @include at the start of a line followed. */
static int cb_scan(cb_state *st, const char *path, const char *buf, size_t n, int depth)
{
	size_t i = 0, run = 0;
	int line = 1, bol = 1, in_run = 0, run_line = 1;

	while (i < n) {
		char c = buf[i];

		if (c == '\n') {
			line++;
			bol = 1;
			i++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			i++;
		} else if (c == '#' || (c == '/' && i + 1 < n && buf[i + 1] == '/')) {
			while (i < n && buf[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < n && buf[i + 1] == '*') {
			for (i += 2; i < n && !(buf[i] == '*' && i + 1 < n && buf[i + 1] == '/');
			     i++)
				line += buf[i] == '\n';
			i = i < n ? i + 2 : n;
		} else if (c == '@' && bol && n - i > 8 && strncmp(buf + i, "@include", 8) == 0 &&
			   (buf[i + 8] == ' ' || buf[i + 8] == '\t')) {
			size_t k = i + 8, start;

			while (k < n && (buf[k] == ' ' || buf[k] == '\t'))
				k++;
			if (k >= n || buf[k] != '"') {
				i = k; /* not an include: libconfig's syntax error */
				bol = in_run = 0;
				continue;
			}
			start = ++k;
			while (k < n && buf[k] != '"' && buf[k] != '\n')
				k++;
			if (k > start &&
			    cb_include(st, path, line, buf + start, k - start, depth) < 0)
				return -1;
			i = k < n ? k + 1 : n;
			bol = in_run = 0;
		} else if (c == '"') {
			size_t k = i + 1;

			if (!in_run) {
				run = 0;
				run_line = line;
			}
			while (k < n && buf[k] != '"') {
				if (buf[k] == '\\' && k + 1 < n)
					k++;
				line += buf[k] == '\n';
				k++;
			}
			run += k - i - 1;
			if (run > st->lim->string_max)
				return cb_string_too_long(st, path, run_line, run);
			i = k < n ? k + 1 : n;
			in_run = 1;
			bol = 0;
		} else if (isdigit((unsigned char)c) && !cb_in_word(buf, i)) {
			size_t start = i;

			if (cb_int_wraps(buf, n, &i, i > 0 && buf[i - 1] == '-'))
				return cfg_fail_at(
					&st->R, path, (unsigned)line,
					"the integer %.*s is over 32 bits: write it %.*sL",
					(int)(i - start), buf + start, (int)(i - start),
					buf + start);
			in_run = bol = 0;
		} else if (c == '\0') {
			return cfg_fail_at(&st->R, path, (unsigned)line,
					   "a NUL byte: not a text file");
		} else {
			in_run = bol = 0;
			i++;
		}
	}
	return 0;
}

int cfgbound_read(const char *path, const char *include_dir, const cfgbound_limits *lim,
		  char **text, char *err, size_t errlen)
{
	cb_state st = { .include_dir = include_dir,
			.lim = lim,
			.err = err,
			.errlen = errlen,
			.R = { .file = path, .err = err, .errlen = errlen } };
	char *buf = NULL;
	size_t n = 0;
	int rc = cb_load(&st, path, &buf, &n);

	if (rc > 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (rc < 0)
		return -1;
	if (cb_scan(&st, path, buf, n, 0) < 0) {
		free(buf);
		return -1;
	}
	*text = buf;
	return 0;
}
