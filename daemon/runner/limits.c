/* limits.c - a runner's memory and open-files limits (see limits.h). */
#include "config.h"

#include "runner/limits.h"

#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define LIMITS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LIMITS_ASAN 1
#endif
#endif

#define WATCH_MS 200

static uint64_t mem_limit; /* bytes; 0: none */
static uv_timer_t watch;
static int watching;

/* Bytes of address space in use, from /proc/self/statm; 0 when unknown.
 * Async-signal-safe (open, read, close and arithmetic). */
static uint64_t vm_bytes(void)
{
	char buf[64];
	uint64_t pages = 0;
	ssize_t n;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		pages = pages * 10 + (uint64_t)(buf[i] - '0');
	return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

int limits_apply(int index, uint64_t memory, long files)
{
	struct rlimit r;
	int rc = 0;

	if (files > 0 && getrlimit(RLIMIT_NOFILE, &r) == 0) {
		rlim_t want = (rlim_t)files;

		if (r.rlim_max != RLIM_INFINITY && want > r.rlim_max) {
			log_warn("runner %d: runner_limits.open_files %ld is over the hard limit %llu; "
				 "using that",
				 index, files, (unsigned long long)r.rlim_max);
			want = r.rlim_max;
		}
		r.rlim_cur = r.rlim_max = want;
		if (setrlimit(RLIMIT_NOFILE, &r) != 0)
			log_warn("runner %d: cannot set its open files limit to %llu: %s", index,
				 (unsigned long long)want, strerror(errno));
	}
	if (!memory)
		return 0;
#ifdef LIMITS_ASAN
	log_msg(LOG_LVL_NOTICE,
		"runner %d: runner_limits.memory (%llu MiB) not applied: a sanitizer build needs "
		"its address space",
		index, (unsigned long long)(memory >> 20));
#else
	r.rlim_cur = r.rlim_max = (rlim_t)memory;
	if (setrlimit(RLIMIT_AS, &r) != 0) {
		rc = -errno;
		log_err("runner %d: cannot set its memory limit to %llu MiB: %s", index,
			(unsigned long long)(memory >> 20), strerror(errno));
	} else {
		mem_limit = memory;
	}
#endif
	return rc;
}

static void watch_cb(uv_timer_t *t)
{
	uint64_t vm = vm_bytes();

	(void)t;
	if (!mem_limit || vm < mem_limit - mem_limit / 16)
		return;
	/* The line mited reads for the reason; then the runner ends, rather
	 * than fail every allocation from here on. */
	log_err("mite: memory limit of %llu MiB reached (%llu MiB in use); ending the runner",
		(unsigned long long)(mem_limit >> 20), (unsigned long long)(vm >> 20));
	fflush(stderr);
	_exit(1); /* as any runner that failed (mited(8), EXIT STATUS) */
}

void limits_watch(uv_loop_t *loop)
{
	if (!mem_limit || watching)
		return;
	uv_timer_init(loop, &watch);
	uv_timer_start(&watch, watch_cb, WATCH_MS, WATCH_MS);
	uv_unref((uv_handle_t *)&watch);
	watching = 1;
}

void limits_stop(void)
{
	if (!watching)
		return;
	watching = 0;
	uv_close((uv_handle_t *)&watch, NULL);
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

	if (!mem_limit)
		return 0;
	vm = vm_bytes();
	if (vm < mem_limit - mem_limit / 4)
		return 0;
	put(buf, len, &n, "<2>mite: memory limit of ");
	put_u64(buf, len, &n, mem_limit >> 20);
	put(buf, len, &n, " MiB nearly reached (");
	put_u64(buf, len, &n, vm >> 20);
	put(buf, len, &n, " MiB in use)\n");
	return n;
}
