/*
 * testpaths.h - where the tests find their data and test plugins, and a
 * scratch folder per test.
 *
 * `make check` sets top_srcdir and top_builddir (absolute); run by hand
 * from the build folder, the source folder is found from this file's path
 * and the build folder is the working one.
 */
#ifndef MITE_TESTS_TESTPATHS_H
#define MITE_TESTS_TESTPATHS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline const char *tp_srcdir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("top_srcdir");
	const char *slash;

	if (env && *env)
		return env;
	/* __FILE__ is ".../tests/testpaths.h": its grandparent. */
	snprintf(dir, sizeof(dir), "%s", __FILE__);
	slash = strrchr(dir, '/');
	if (!slash)
		return "..";
	dir[slash - dir] = '\0';
	slash = strrchr(dir, '/');
	if (!slash)
		return ".";
	dir[slash - dir] = '\0';
	return dir;
}

static inline const char *tp_builddir(void)
{
	const char *env = getenv("top_builddir");
	return env && *env ? env : ".";
}

/* base/rel into buf (aborts on truncation: a test path must fit). */
static inline const char *tp_join(char *buf, size_t len, const char *base, const char *rel)
{
	int n = snprintf(buf, len, "%s/%s", base, rel);
	if (n < 0 || (size_t)n >= len)
		abort();
	return buf;
}

/* A built test plugin, e.g. tp_plugin(buf, "good") -> .../tests/plugins/good.so,
 * canonical. */
static inline const char *tp_plugin(char *buf, size_t len, const char *name)
{
	char p[PATH_MAX], rel[128];

	snprintf(rel, sizeof(rel), "tests/plugins/%s.so", name);
	tp_join(p, sizeof(p), tp_builddir(), rel);
	if (len < PATH_MAX || !realpath(p, buf))
		snprintf(buf, len, "%s", p);
	return buf;
}

static inline int tp_copy(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out, rc = 0;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -EIO;
			break;
		}
	if (n < 0)
		rc = -errno;
	close(in);
	close(out);
	return rc;
}

/* Copies the regular files of folder `from` into `to`. */
static inline int tp_copy_dir(const char *from, const char *to)
{
	DIR *d = opendir(from);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return -errno;
	while (rc == 0 && (e = readdir(d))) {
		char a[PATH_MAX], b[PATH_MAX];
		struct stat st;

		tp_join(a, sizeof(a), from, e->d_name);
		if (stat(a, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		rc = tp_copy(a, tp_join(b, sizeof(b), to, e->d_name));
	}
	closedir(d);
	return rc;
}

/* A new scratch folder (canonical path), or aborts. */
static inline const char *tp_mkdtemp(char *buf, size_t len)
{
	char tmpl[] = "/tmp/mite-test-XXXXXX";
	char real[PATH_MAX];

	if (!mkdtemp(tmpl) || !realpath(tmpl, real))
		abort();
	snprintf(buf, len, "%s", real);
	return buf;
}

/* Removes a scratch folder and the files in it (they hold no folders). */
static inline void tp_rmrf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char p[PATH_MAX];

		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlink(tp_join(p, sizeof(p), dir, e->d_name));
	}
	closedir(d);
	rmdir(dir);
}

/* Writes a file with the given contents (aborts on failure). */
static inline void tp_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(text, 1, strlen(text), f) != strlen(text))
		abort();
	fclose(f);
}

#endif
