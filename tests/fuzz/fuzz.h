/*
 * fuzz.h - what the libFuzzer targets under tests/fuzz/ share: a scratch
 * folder per process, files written into it, a copy of the test plugin,
 * and the "one clear line" check every error message must pass.
 *
 * Targets are built and run by `make fuzz` (tests/fuzz/fuzz.mk); see
 * docs/fuzzing.md.
 */
#ifndef MITE_TESTS_FUZZ_H
#define MITE_TESTS_FUZZ_H

#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The built test plugin (tests/plugins/good.so); fuzz.mk passes the build
 * folder's, MITE_FUZZ_GOOD_SO overrides it. */
#ifndef FUZZ_GOOD_SO
#define FUZZ_GOOD_SO "tests/plugins/good.so"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char fuzz_dir_path[PATH_MAX];

static void fuzz_rmrf(void)
{
	DIR *d = opendir(fuzz_dir_path);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char p[PATH_MAX + 256];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", fuzz_dir_path, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(fuzz_dir_path);
}

/* This process's scratch folder (canonical), made on first use and removed
 * at exit. Aborts when it cannot be made: nothing could be fuzzed. */
static inline const char *fuzz_dir(void)
{
	char tmpl[] = "/tmp/mite-fuzz-XXXXXX";

	if (fuzz_dir_path[0])
		return fuzz_dir_path;
	if (!mkdtemp(tmpl) || !realpath(tmpl, fuzz_dir_path)) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(fuzz_rmrf);
	return fuzz_dir_path;
}

/* dir/name into buf; aborts on truncation (our own names always fit). */
static inline const char *fuzz_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", fuzz_dir(), name);

	if (n < 0 || (size_t)n >= len)
		abort();
	return buf;
}

/* Writes data into the scratch folder's `name`; aborts on failure. */
static inline const char *fuzz_write(char *buf, size_t len, const char *name, const void *data,
				     size_t size)
{
	int fd;

	fuzz_path(buf, len, name);
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size)) {
		perror("fuzz: write");
		abort();
	}
	close(fd);
	return buf;
}

/* Copies the test plugin into the scratch folder as good.so (a copy, not a
 * link: scenarios may only load modules that lie inside their folder).
 * Without it the targets still run; modules then fail to resolve. */
static inline void fuzz_copy_plugin(void)
{
	const char *from = getenv("MITE_FUZZ_GOOD_SO");
	char to[PATH_MAX], buf[65536];
	ssize_t n;
	int in, out;

	if (!from || !*from)
		from = FUZZ_GOOD_SO;
	in = open(from, O_RDONLY);
	if (in < 0) {
		fprintf(stderr,
			"fuzz: no test plugin at %s (set MITE_FUZZ_GOOD_SO): modules will not resolve\n",
			from);
		return;
	}
	out = open(fuzz_path(to, sizeof(to), "good.so"), O_WRONLY | O_CREAT | O_TRUNC, 0700);
	if (out < 0)
		abort();
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			abort();
	close(in);
	close(out);
}

/* The promise: an error is one clear line. Not empty, and no line break
 * that the input did not bring (a value quoted from the input may carry
 * its own). */
static inline void fuzz_check_error(const char *what, const char *err, const void *input,
				    size_t size)
{
	if (!err[0]) {
		fprintf(stderr, "fuzz: %s failed without a reason\n", what);
		abort();
	}
	if (memchr(input, '\n', size) || memchr(input, '\r', size))
		return;
	if (strpbrk(err, "\r\n")) {
		fprintf(stderr, "fuzz: %s: error is not one line: %s\n", what, err);
		abort();
	}
}

/* Keeps the daemon's log lines (expected for bad input) off the console:
 * libFuzzer's own output is what matters. MITE_FUZZ_LOG=1 shows them. */
static inline void fuzz_quiet(void)
{
	const char *v = getenv("MITE_FUZZ_LOG");

	log_set_level(v && *v == '1' ? LOG_LVL_DEBUG : LOG_LVL_ERR - 1);
}

#endif
