/* limits.c - a runner's memory, address space and open-files limits (see limits.h). */
#include "config.h"

#include "runner/limits.h"

#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define LIMITS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LIMITS_ASAN 1
#endif
#endif

#define WATCH_NS 50000000L /* 50 ms between two looks at the RSS */

static uint64_t mem_limit; /* bytes of RSS; 0: none */
static uint64_t as_limit; /* bytes of address space; 0: none */

/* Field `field` (0: size, 1: resident) of /proc/self/statm, in bytes; 0
 * when unknown. Async-signal-safe (open, read, close and arithmetic). */
static uint64_t statm_bytes(int field)
{
	char buf[128];
	uint64_t pages = 0;
	ssize_t n, i = 0;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	for (int f = 0; f < field && i < n; f++) {
		while (i < n && buf[i] != ' ')
			i++;
		i++;
	}
	for (; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		pages = pages * 10 + (uint64_t)(buf[i] - '0');
	return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* The watch: a thread of its own, so that a journey that allocates in a
 * loop without yielding is seen too. */
static void *watch_main(void *arg)
{
	const struct timespec ts = { .tv_sec = 0, .tv_nsec = WATCH_NS };

	(void)arg;
	for (;;) {
		uint64_t rss;

		nanosleep(&ts, NULL);
		rss = statm_bytes(1);
		if (rss < mem_limit)
			continue;
		/* The line mited reads for the reason; then the runner ends. */
		log_err("mite: memory limit of %llu MiB reached (%llu MiB resident); ending the runner",
			(unsigned long long)(mem_limit >> 20), (unsigned long long)(rss >> 20));
		fflush(stderr);
		_exit(1); /* as any runner that failed (mited(8), EXIT STATUS) */
	}
	return NULL;
}

static void set_files(int index, long files)
{
	struct rlimit r;
	rlim_t want = (rlim_t)files;

	if (getrlimit(RLIMIT_NOFILE, &r) != 0)
		return;
	if (r.rlim_max != RLIM_INFINITY && want > r.rlim_max) {
		log_warn(
			"runner %d: runner_limits.open_files %ld is over the hard limit %llu; using that",
			index, files, (unsigned long long)r.rlim_max);
		want = r.rlim_max;
	}
	r.rlim_cur = r.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &r) != 0)
		log_warn("runner %d: cannot set its open files limit to %llu: %s", index,
			 (unsigned long long)want, strerror(errno));
}

static int set_address_space(int index, uint64_t bytes)
{
#ifdef LIMITS_ASAN
	log_msg(LOG_LVL_NOTICE,
		"runner %d: runner_limits.address_space (%llu MiB) not applied: this build has "
		"ASan, which reserves terabytes of address space",
		index, (unsigned long long)(bytes >> 20));
	return 0;
#else
	struct rlimit r = { .rlim_cur = (rlim_t)bytes, .rlim_max = (rlim_t)bytes };

	if (setrlimit(RLIMIT_AS, &r) != 0) {
		int e = errno;

		log_err("runner %d: cannot set its address space limit to %llu MiB: %s", index,
			(unsigned long long)(bytes >> 20), strerror(e));
		return -e;
	}
	as_limit = bytes;
	return 0;
#endif
}

int limits_apply(int index, uint64_t memory, uint64_t address_space, long files)
{
	int rc = 0;

	if (files > 0)
		set_files(index, files);
	if (address_space)
		rc = set_address_space(index, address_space);
	if (memory) {
		pthread_t th;
		int e;

		mem_limit = memory;
		e = pthread_create(&th, NULL, watch_main, NULL);
		if (e) {
			log_err("runner %d: cannot watch its memory limit: %s", index, strerror(e));
			mem_limit = 0;
			return -e;
		}
		pthread_detach(th);
	}
	return rc;
}

/* Appends s to buf at *n (async-signal-safe). */
static void put(char *buf, size_t len, size_t *n, const char *s)
{
	while (*s && *n + 1 < len)
		buf[(*n)++] = *s++;
}

static void put_u64(char *buf, size_t len, size_t *n, uint64_t v)
{
	char d[24];
	size_t k = 0;

	do {
		d[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && k < sizeof(d));
	while (k && *n + 1 < len)
		buf[(*n)++] = d[--k];
}

size_t limits_fatal_note(char *buf, size_t len)
{
	uint64_t vm;
	size_t n = 0;

	if (!as_limit)
		return 0;
	vm = statm_bytes(0);
	if (vm < as_limit - as_limit / 4)
		return 0;
	put(buf, len, &n, "<2>mite: address space limit of ");
	put_u64(buf, len, &n, as_limit >> 20);
	put(buf, len, &n, " MiB nearly reached (");
	put_u64(buf, len, &n, vm >> 20);
	put(buf, len, &n, " MiB in use)\n");
	return n;
}
