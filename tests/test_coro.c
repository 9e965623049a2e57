/* test_coro.c - coroutines: switching, scale, stack pool, overflow report. */
#include "config.h"

#include "core/coro.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
void *__asan_region_is_poisoned(void *beg, size_t size);
#endif

/* ---- switching order -------------------------------------------------- */

static char trace[64];
static size_t ntrace;

struct pinger {
	char name;
	int rounds;
	coro *self;
};

static void pinger(void *arg)
{
	struct pinger *p = arg;

	for (int i = 0; i < p->rounds; i++) {
		cr_assert_eq(coro_current(), p->self);
		trace[ntrace++] = p->name;
		trace[ntrace++] = (char)('0' + i);
		coro_yield();
	}
}

Test(coro, ping_pong)
{
	struct pinger a = { .name = 'a', .rounds = 3 }, b = { .name = 'b', .rounds = 3 };
	int ra, rb, turns = 0;

	a.self = coro_new(CORO_DEFAULT_STACK, pinger, &a, "a");
	b.self = coro_new(CORO_DEFAULT_STACK, pinger, &b, "b");
	cr_assert(a.self && b.self);
	cr_assert_null(coro_current());
	do {
		ra = coro_resume(a.self);
		rb = coro_resume(b.self);
		cr_assert_null(coro_current());
		turns++;
	} while (ra || rb);
	/* Three yields each, then one more resume to see them return. */
	cr_assert_eq(turns, 4);
	trace[ntrace] = '\0';
	cr_assert_str_eq(trace, "a0b0a1b1a2b2");
	cr_assert(coro_done(a.self) && coro_done(b.self));
	cr_assert_eq(coro_resume(a.self), 0, "a finished coroutine stays finished");
	coro_free(a.self);
	coro_free(b.self);
	coro_pool_drain();
}

static void no_yield(void *arg)
{
	++*(int *)arg;
}

Test(coro, run_to_end_without_yield)
{
	int ran = 0;
	coro *c = coro_new(CORO_MIN_STACK, no_yield, &ran, "quick");

	cr_assert_not_null(c);
	cr_assert_eq(ran, 0, "nothing runs before the first resume");
	cr_assert_eq(coro_resume(c), 0);
	cr_assert_eq(ran, 1);
	cr_assert(coro_done(c));
	coro_free(c);
	coro_free(NULL);
	coro_pool_drain();
}

/* ---- many at once ----------------------------------------------------- */

#define MANY 10000
#define MANY_YIELDS 5

static void counter(void *arg)
{
	int *n = arg;

	for (int i = 0; i < MANY_YIELDS; i++) {
		++*n;
		coro_yield();
	}
	++*n;
}

Test(coro, ten_thousand_alive)
{
	static coro *c[MANY];
	static int count[MANY];
	size_t alive = MANY, rounds = 0;

	for (int i = 0; i < MANY; i++) {
		c[i] = coro_new(CORO_DEFAULT_STACK, counter, &count[i], "many");
		cr_assert_not_null(c[i], "coro_new %d: %s", i, strerror(errno));
	}
	/* Round robin: every one is suspended mid-function at once. */
	while (alive) {
		alive = 0;
		for (int i = 0; i < MANY; i++)
			alive += (size_t)coro_resume(c[i]);
		rounds++;
	}
	cr_assert_eq(rounds, MANY_YIELDS + 1);
	for (int i = 0; i < MANY; i++) {
		cr_assert_eq(count[i], MANY_YIELDS + 1);
		coro_free(c[i]);
	}
	coro_pool_drain();
}

/* ---- stacks: pool, reuse, abandoning ---------------------------------- */

/* Addresses on the coroutine's stack are frame addresses, not addresses
 * of locals: ASan's detect_stack_use_after_return moves locals to a fake
 * stack elsewhere. */
#define FRAME() ((uintptr_t)__builtin_frame_address(0))

struct probe {
	uintptr_t local; /* where the coroutine function's frame is */
	int forever; /* yield forever, never finish */
	int resumed;
	int stale; /* ASan shadow left poisoned below the frame */
};

/* Yields with an array (and, under ASan, its poisoned redzones) on the
 * stack. */
static __attribute__((noinline)) void yield_deep(void)
{
	volatile char pad[200];

	pad[0] = 1;
	coro_yield();
	pad[199] = pad[0];
}

/* Whether ASan's shadow says some of the kilobyte below this frame is
 * poisoned: it is unused stack, so only frames of an abandoned coroutine
 * could have left that (code built without ASan, libcurl say, then trips
 * over it). */
static __attribute__((noinline)) int stale_poison_below(void)
{
#ifdef TEST_ASAN
	return __asan_region_is_poisoned((void *)(FRAME() - 1024), 1024) != NULL;
#else
	return 0;
#endif
}

static void prober(void *arg)
{
	struct probe *p = arg;

	p->local = FRAME();
	p->stale = stale_poison_below();
	do {
		p->resumed++;
		if (p->forever)
			yield_deep();
		else
			coro_yield();
	} while (p->forever);
}

static void run_probe(coro *c, struct probe *p)
{
	while (coro_resume(c))
		;
	cr_assert_gt(p->local, 0);
}

Test(coro, pool_reuses_stack)
{
	struct probe p1 = { 0 }, p2 = { 0 }, p3 = { 0 };
	coro *c1, *c2, *c3;

	c1 = coro_new(CORO_DEFAULT_STACK, prober, &p1, "p1");
	cr_assert_not_null(c1);
	run_probe(c1, &p1);
	coro_free(c1);

	/* Same size: the freed stack comes back, so the same frame of the
	 * same function sits at the same address. */
	c2 = coro_new(CORO_DEFAULT_STACK, prober, &p2, "p2");
	cr_assert_not_null(c2);
	run_probe(c2, &p2);
	cr_assert_eq(p2.local, p1.local);

	/* Another size while c2 holds that stack: a stack of its own. */
	c3 = coro_new(2 * CORO_DEFAULT_STACK, prober, &p3, "p3");
	cr_assert_not_null(c3);
	run_probe(c3, &p3);
	cr_assert_neq(p3.local, p1.local);
	coro_free(c2);
	coro_free(c3);

	/* Each size has its own free list. */
	c3 = coro_new(2 * CORO_DEFAULT_STACK, prober, &p3, "p3 again");
	c2 = coro_new(CORO_DEFAULT_STACK, prober, &p2, "p2 again");
	p2.local = p3.local = 0;
	run_probe(c2, &p2);
	run_probe(c3, &p3);
	cr_assert_eq(p2.local, p1.local);
	cr_assert_neq(p3.local, p1.local);
	coro_free(c2);
	coro_free(c3);
	coro_pool_drain();
}

Test(coro, free_suspended_and_reuse)
{
	struct probe p1 = { .forever = 1 }, p2 = { 0 };
	coro *c1, *c2;

	c1 = coro_new(CORO_DEFAULT_STACK, prober, &p1, "abandoned");
	cr_assert_not_null(c1);
	cr_assert_eq(coro_resume(c1), 1);
	cr_assert_eq(coro_resume(c1), 1);
	cr_assert_eq(p1.resumed, 2);
	cr_assert_not(coro_done(c1));
	/* Freed mid-function: its frames are abandoned, its stack reused. */
	coro_free(c1);

	c2 = coro_new(CORO_DEFAULT_STACK, prober, &p2, "reuser");
	cr_assert_not_null(c2);
	cr_assert_eq(coro_resume(c2), 1);
	cr_assert_eq(p2.local, p1.local, "the abandoned stack is the one reused");
	cr_assert_not(p2.stale, "the abandoned frames left ASan poison behind");
	cr_assert_eq(coro_resume(c2), 0);
	cr_assert_eq(p2.resumed, 1);
	cr_assert(coro_done(c2));
	coro_free(c2);
	coro_pool_drain();
}

Test(coro, stack_sizes)
{
	long page = sysconf(_SC_PAGESIZE);

	cr_assert_eq(coro_stack_bytes(0), CORO_DEFAULT_STACK);
	cr_assert_eq(coro_stack_bytes(1), CORO_MIN_STACK);
	cr_assert_eq(coro_stack_bytes(CORO_DEFAULT_STACK), CORO_DEFAULT_STACK);
	cr_assert_eq(coro_stack_bytes(CORO_DEFAULT_STACK + 1), CORO_DEFAULT_STACK + (size_t)page);
	cr_assert_eq(coro_stack_bytes(SIZE_MAX) % (size_t)page, 0, "no wrap to a small size");
	cr_assert_gt(coro_stack_bytes(SIZE_MAX), (size_t)1 << 40);
}

static void never_runs(void *arg)
{
	(void)arg;
}

Test(coro, absurd_stack_is_enomem)
{
	errno = 0;
	cr_assert_null(coro_new((size_t)1 << 62, never_runs, NULL, "huge"));
	/* valgrind's mmap says EINVAL where the kernel says ENOMEM. */
	cr_assert(errno == ENOMEM || (RUNNING_ON_VALGRIND && errno == EINVAL), "errno %d", errno);
}

/* ---- depth ------------------------------------------------------------ */

static uintptr_t stack_top;
static size_t deepest;

/* Recurses until `target` bytes of stack are in use below stack_top. The
 * frames are measured rather than counted, so that ASan's larger frames
 * reach the same depth in bytes. */
static int recurse_to(size_t target, int depth)
{
	volatile char pad[256];
	size_t used = stack_top - FRAME();

	pad[0] = (char)depth;
	pad[255] = (char)depth;
	if (used > deepest)
		deepest = used;
	if (used < target)
		return recurse_to(target, depth + 1) + pad[0] - pad[255] + 1;
	/* Switch out and back at the bottom: the frames survive a yield. */
	coro_yield();
	return 1;
}

static void deep(void *arg)
{
	stack_top = FRAME();
	*(int *)arg = recurse_to(48 * 1024, 0);
}

Test(coro, deep_legal_recursion)
{
	int frames = 0;
	coro *c = coro_new(CORO_DEFAULT_STACK, deep, &frames, "deep");

	cr_assert_not_null(c);
	cr_assert_eq(coro_install_overflow_handler(), 0);
	cr_assert_eq(coro_resume(c), 1);
	cr_assert_eq(coro_resume(c), 0);
	cr_log_info("coro: %d frames, %zu bytes of a %d KiB stack", frames, deepest,
		    CORO_DEFAULT_STACK / 1024);
	cr_assert_geq(deepest, 48 * 1024);
	cr_assert_gt(frames, 100);
	coro_free(c);
	coro_pool_drain();
}

/* ---- overflow ------------------------------------------------------------ */

static volatile unsigned long bottomless = ~0ul;

/* Never tail-calls (it uses its frame after the call), and the compiler
 * cannot prove it endless (the bound is volatile). */
static unsigned long recurse_forever(unsigned long depth)
{
	volatile char pad[512];

	pad[0] = (char)depth;
	if (depth < bottomless)
		return recurse_forever(depth + 1) + (unsigned long)pad[0];
	return pad[0];
}

static void overflower(void *arg)
{
	*(unsigned long *)arg = recurse_forever(0);
}

Test(coro, overflow_dies_of_sigsegv, .signal = SIGSEGV)
{
	static unsigned long out;
	coro *c = coro_new(CORO_DEFAULT_STACK, overflower, &out, "overflower");

	cr_assert_not_null(c);
	cr_assert_eq(coro_install_overflow_handler(), 0);
	cr_assert_eq(coro_install_overflow_handler(), 0, "idempotent");
	coro_resume(c);
	cr_assert_fail("the overflow was survived");
}

/* Resumes c in a child whose stderr goes to buf; the child's wait status. */
static int resume_in_child(coro *c, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int fds[2], status;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	/* The child only installs the handler and switches: no allocation
	 * after fork. */
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		if (dup2(fds[1], STDERR_FILENO) < 0)
			_exit(2);
		if (coro_install_overflow_handler() < 0)
			_exit(3);
		coro_resume(c);
		_exit(4);
	}
	close(fds[1]);
	while (got < len - 1 && (n = read(fds[0], buf + got, len - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		cr_assert_gt(n, 0);
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

Test(coro, overflow_reports_journey)
{
	static unsigned long out;
	coro *c = coro_new(CORO_DEFAULT_STACK, overflower, &out, "overflower");
	char buf[4096];
	int status;

	cr_assert_not_null(c);
	status = resume_in_child(c, buf, sizeof(buf));
	cr_assert(WIFSIGNALED(status), "child exited with %d; stderr: %s",
		  WIFEXITED(status) ? WEXITSTATUS(status) : -1, buf);
	cr_assert_eq(WTERMSIG(status), SIGSEGV);
	cr_assert_not_null(strstr(buf, "mite: journey overflower overflowed its 64 KiB stack\n"),
			   "stderr: %s", buf);
	coro_free(c);
	coro_pool_drain();
}

static volatile size_t big_len = 256 * 1024;

/* A frame four times the stack: its first write lands far below the guard
 * page (unless the compiler probes each page, -fstack-clash-protection). A
 * variable-length array, so that ASan keeps it on the real stack. */
static __attribute__((noinline)) void big_frame(void)
{
	volatile char big[big_len];

	big[0] = 1;
	big[big_len - 1] = big[0];
}

/* Reserves the MiB below this coroutine's guard page, so that the jump
 * over the guard faults there rather than silently in a neighbour. Says
 * in *arg whether it could, and if so yields, to jump when resumed. */
static void guard_jumper(void *arg)
{
	char *guard = (char *)coro_slot_base(coro_current());
	char *want = guard - 1024 * 1024;
	void *hole = mmap(want, 1024 * 1024, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (hole != want) {
		if (hole != MAP_FAILED)
			munmap(hole, 1024 * 1024); /* an old kernel took it as a hint */
		*(int *)arg = 0;
		return;
	}
	*(int *)arg = 1;
	coro_yield();
	big_frame();
}

Test(coro, overflow_past_guard_reported)
{
	static coro *tried[256];
	coro *c = NULL;
	char buf[4096];
	int status, reserved = 0;
	size_t n;

	/* valgrind reports the write into the hole as an error first. */
	if (RUNNING_ON_VALGRIND)
		cr_skip_test("valgrind reports the wild write itself");
	/* Stacks fill the gaps in the address space from the top; soon one is
	 * the lowest mapping, with free space below. Those tried stay
	 * allocated meanwhile, so that the pool does not hand them back. */
	for (n = 0; n < sizeof(tried) / sizeof(tried[0]) && !reserved; n++) {
		tried[n] = c = coro_new(CORO_DEFAULT_STACK, guard_jumper, &reserved, "jumper");
		cr_assert_not_null(c);
		coro_resume(c);
	}
	cr_assert(reserved, "no stack with free space below in %zu tries", n);
	status = resume_in_child(c, buf, sizeof(buf));
	cr_assert(WIFSIGNALED(status), "child exited with %d; stderr: %s",
		  WIFEXITED(status) ? WEXITSTATUS(status) : -1, buf);
	cr_assert_eq(WTERMSIG(status), SIGSEGV);
	cr_assert_not_null(strstr(buf, "mite: journey jumper overflowed its 64 KiB stack\n"),
			   "stderr: %s", buf);
	while (n--)
		coro_free(tried[n]);
	coro_pool_drain();
}

/* Writes into a read-only page that is no coroutine's guard page (not
 * PROT_NONE: valgrind would count that as an invalid write, an error). */
static void touch_forbidden_page(void)
{
	volatile char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq((void *)p, MAP_FAILED);
	p[100] = 1;
}

/* A fault outside any guard page is not reported as an overflow: it goes
 * to the disposition that was there before, here the default (set first,
 * since ASan would otherwise have its own handler there). */
Test(coro, other_fault_default_action, .signal = SIGSEGV)
{
	signal(SIGSEGV, SIG_DFL);
	cr_assert_eq(coro_install_overflow_handler(), 0);
	touch_forbidden_page();
}

static void earlier_handler(int sig)
{
	(void)sig;
	_exit(42);
}

/* ... or a crash reporter's handler, with the fault intact. */
Test(coro, other_fault_chains_to_earlier_handler, .exit_code = 42)
{
	struct sigaction sa = { .sa_handler = earlier_handler };

	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGSEGV, &sa, NULL), 0);
	cr_assert_eq(coro_install_overflow_handler(), 0);
	touch_forbidden_page();
}

#ifdef TEST_ASAN
static volatile int past_end = 16;

static void overrun_after_yield(void *arg)
{
	volatile char buf[16];

	(void)arg;
	buf[0] = 0;
	coro_yield();
	buf[past_end] = buf[0];
}

/* ASan still sees a coroutine's stack overruns after it has been switched
 * out and back (its swapcontext interceptor would have wiped the shadow;
 * ASan's exit code is 1). */
Test(coro, asan_sees_overrun_after_yield, .exit_code = 1)
{
	coro *c = coro_new(CORO_DEFAULT_STACK, overrun_after_yield, NULL, "overrun");

	cr_assert_not_null(c);
	while (coro_resume(c))
		;
	cr_assert_fail("the overrun went unseen");
}
#endif

/* ---- slabs, guards, limits ------------------------------------------------ */

static long maps_now(void)
{
	char buf[4096];
	long lines = 0;
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY);

	cr_assert_geq(fd, 0);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	return lines;
}

static long rss_pages(void)
{
	long size = 0, rss = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%ld %ld", &size, &rss), 2);
	fclose(f);
	return rss;
}

/* Red-zone stacks (no guard mapping) cost a mapping per slab, not two per
 * stack, all the same when every one of them has run. */
Test(coro, many_alive_cost_few_mappings)
{
	static coro *c[MANY];
	static int count[MANY];
	size_t kinds[4];
	long before;

	coro_guard_policy(0, 0);
	before = maps_now();
	for (int i = 0; i < MANY; i++) {
		c[i] = coro_new(CORO_DEFAULT_STACK, counter, &count[i], "many");
		cr_assert_not_null(c[i], "coro_new %d: %s", i, strerror(errno));
		cr_assert_eq(coro_resume(c[i]), 1);
	}
	cr_log_info("coro: %d stacks took %ld mappings", MANY, maps_now() - before);
	cr_assert_lt(maps_now() - before, 64);
	coro_guard_counts(kinds);
	cr_assert_eq(kinds[CORO_GUARD_REDZONE], MANY);
	cr_assert_eq(kinds[CORO_GUARD_MPROTECT] + kinds[CORO_GUARD_MADVISE], 0);
	for (int i = 0; i < MANY; i++) {
		while (coro_resume(c[i]))
			;
		cr_assert_eq(count[i], MANY_YIELDS + 1);
		coro_free(c[i]);
	}
	coro_pool_drain();
}

/* mprotect guard pages only within their budget; red zones past it. */
Test(coro, mprotect_guards_within_budget)
{
	coro *c[10];
	size_t kinds[4];
	long before;

	coro_guard_policy(0, 4);
	before = maps_now();
	for (int i = 0; i < 10; i++)
		cr_assert_not_null(c[i] = coro_new(CORO_MIN_STACK, never_runs, NULL, "g"));
	coro_guard_counts(kinds);
	cr_assert_eq(kinds[CORO_GUARD_MPROTECT], 4);
	cr_assert_eq(kinds[CORO_GUARD_REDZONE], 6);
	/* Two mappings per guard page, one for the slab. */
	cr_assert_geq(maps_now() - before, 8);
	for (int i = 0; i < 10; i++)
		coro_free(c[i]);
	coro_pool_drain();
	cr_assert_leq(maps_now(), before, "drain unmapped the slab");
}

/* The default: MADV_GUARD_INSTALL where the kernel has it (6.13), else
 * mprotect. */
Test(coro, default_guard_is_a_real_guard_page)
{
	coro *c = coro_new(CORO_MIN_STACK, never_runs, NULL, "g");
	size_t kinds[4];

	cr_assert_not_null(c);
	coro_guard_counts(kinds);
	cr_log_info("coro: guard by %s",
		    kinds[CORO_GUARD_MADVISE] ? "MADV_GUARD_INSTALL" : "mprotect");
	cr_assert_eq(kinds[CORO_GUARD_MADVISE] + kinds[CORO_GUARD_MPROTECT], 1);
	coro_free(c);
	coro_pool_drain();
}

/* More live coroutines than vm.max_map_count has room for mappings. */
Test(coro, more_stacks_than_the_map_count, .timeout = 60)
{
	long max = coro_max_map_count();
	size_t n;
	coro **c;

	if (max < 0 || max > 200000 || RUNNING_ON_VALGRIND)
		cr_skip_test("needs a readable vm.max_map_count of at most 200000 (it is %ld)",
			     max);
	n = (size_t)max + 1000;
	cr_assert_not_null(c = calloc(n, sizeof *c));
	for (size_t i = 0; i < n; i++) {
		c[i] = coro_new(CORO_MIN_STACK, never_runs, NULL, "filler");
		if (!c[i]) {
			int err = errno;

			while (i--)
				coro_free(c[i]);
			free(c);
			coro_pool_drain();
			cr_assert_fail("coro_new %zu of %zu: %s", i, n, strerror(err));
		}
	}
	for (size_t i = 0; i < n; i++)
		coro_free(c[i]);
	free(c);
	coro_pool_drain();
}

struct extra_probe {
	char bytes[200];
	int ran;
};

static void extra_user(void *arg)
{
	struct extra_probe *p = arg;

	for (size_t i = 0; i < sizeof p->bytes; i++)
		cr_assert_eq(p->bytes[i], 0, "extra bytes not zeroed");
	memset(p->bytes, 0x5a, sizeof p->bytes);
	p->ran = 1;
	coro_yield();
}

Test(coro, extra_bytes_live_in_the_slot)
{
	for (int round = 0; round < 2; round++) {
		coro *c = coro_new_with(CORO_DEFAULT_STACK, sizeof(struct extra_probe), extra_user,
					"x");
		struct extra_probe *p;
		const char *base;

		cr_assert_not_null(c);
		p = coro_extra(c);
		base = coro_slot_base(c);
		cr_assert_eq((uintptr_t)p % 16, 0);
		cr_assert((const char *)p > base + CORO_DEFAULT_STACK, "above the stack");
		cr_assert((const char *)(p + 1) <=
				  base + 2 * sysconf(_SC_PAGESIZE) + CORO_DEFAULT_STACK,
			  "within the slot");
		cr_assert_eq(coro_resume(c), 1);
		cr_assert_eq(p->ran, 1);
		cr_assert_eq(coro_resume(c), 0);
		/* The second round reuses the slot: zeroed again. */
		coro_free(c);
	}
	errno = 0;
	cr_assert_null(coro_new_with(0, CORO_EXTRA_MAX + 1, extra_user, "x"));
	cr_assert_eq(errno, EINVAL);
	coro_pool_drain();
}

static void touch_and_yield(void *arg)
{
	volatile char pad[8192];

	pad[0] = pad[8191] = 1;
	(void)arg;
	coro_yield();
}

/* Trimming gives the pages of free stacks back; their slots stay pooled. */
Test(coro, trim_gives_pages_back)
{
	enum { N = 2000 };
	static coro *c[N];
	long before, full, trimmed;
	const void *first;

	before = rss_pages();
	for (int i = 0; i < N; i++) {
		cr_assert_not_null(c[i] = coro_new(CORO_DEFAULT_STACK, touch_and_yield, NULL, "t"));
		cr_assert_eq(coro_resume(c[i]), 1);
	}
	first = coro_slot_base(c[0]);
	for (int i = 0; i < N; i++)
		coro_free(c[i]);
	full = rss_pages();
	coro_pool_trim(16);
	trimmed = rss_pages();
	cr_log_info("coro: rss %ld -> %ld -> %ld pages", before, full, trimmed);
	/* Each touched two pages or three (record and frames, both ends of
	 * pad); those of all but the 16 kept go back (ASan's shadow of them
	 * stays). */
	cr_assert_geq(full - before, 2 * N);
	cr_assert_geq(full - trimmed, 3 * (N - 16) / 2);
	/* Still pooled: the oldest slot comes back last, clean. */
	for (int i = 0; i < N; i++)
		cr_assert_not_null(c[i] = coro_new(CORO_DEFAULT_STACK, touch_and_yield, NULL, "t"));
	cr_assert_eq(coro_slot_base(c[N - 1]), first);
	for (int i = 0; i < N; i++)
		coro_free(c[i]);
	coro_pool_drain();
}

Test(coro, maps_needed)
{
	cr_assert_eq(coro_maps_needed(0, 0), 0);
	cr_assert_eq(coro_maps_needed(1, 0), 1);
	cr_assert_eq(coro_maps_needed(16, 0), 1);
	cr_assert_eq(coro_maps_needed(17, 0), 2);
	cr_assert_leq(coro_maps_needed(1e6, 0), 2000);
	cr_assert_geq(coro_maps_needed(1e6, 0), 1000);
	cr_assert_gt(coro_maps_needed(1e6, 1 << 20), coro_maps_needed(1e6, 0));
}

Test(coro, max_map_count_override)
{
	long real;

	unsetenv("MITE_MAX_MAP_COUNT");
	real = coro_max_map_count();
	if (real < 0)
		cr_skip_test("vm.max_map_count cannot be read here");
	setenv("MITE_MAX_MAP_COUNT", "1000", 1);
	cr_assert_eq(coro_max_map_count(), real < 1000 ? real : 1000);
	setenv("MITE_MAX_MAP_COUNT", "99999999999", 1);
	cr_assert_eq(coro_max_map_count(), real, "only ever lowered");
	setenv("MITE_MAX_MAP_COUNT", "12x", 1);
	cr_assert_eq(coro_max_map_count(), real, "garbage ignored");
	setenv("MITE_MAX_MAP_COUNT", "1000", 1);
	cr_assert_lt(coro_maps_free(), 1000);
	unsetenv("MITE_MAX_MAP_COUNT");
	cr_assert_gt(coro_maps_free(), 0);
}

/* ---- red-zone stacks: overflows caught at the switch ---------------------- */

static size_t redzone_target;

/* Recurses until the frames reach redzone_target bytes below the top, then
 * either yields there or returns all the way and yields at the top. */
static int recurse_below(int yield_at_bottom)
{
	volatile char pad[256];
	size_t used = stack_top - FRAME();

	/* Every byte written: whatever part of the frames lands in the red
	 * zone is not zero. */
	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = 1;
	if (used < redzone_target)
		return recurse_below(yield_at_bottom) + pad[0];
	if (yield_at_bottom)
		coro_yield();
	return pad[255];
}

/* A frame reaching 2 KiB below the stack whose only write is at its top:
 * the red zone stays clean, the stack pointer does not. */
static __attribute__((noinline)) int jump_and_yield(size_t n)
{
	volatile char big[n];

	big[n - 1] = 1;
	coro_yield();
	return big[n - 1];
}

static void redzone_overflower(void *arg)
{
	int at_bottom = *(int *)arg;
	uintptr_t lo = (uintptr_t)coro_slot_base(coro_current()) + (uintptr_t)sysconf(_SC_PAGESIZE);

	stack_top = FRAME();
	/* 1 KiB into the guard page: past the stack, short of a neighbour. */
	redzone_target = stack_top - lo + 1024;
	if (at_bottom)
		jump_and_yield(stack_top - lo + 2048);
	else
		recurse_below(at_bottom);
	coro_yield();
}

static void redzone_case(int at_bottom)
{
	static int mode;
	coro *c;
	char buf[4096];
	int status;

	coro_guard_policy(0, 0);
	mode = at_bottom;
	c = coro_new(CORO_DEFAULT_STACK, redzone_overflower, &mode, "redzone");
	cr_assert_not_null(c);
	status = resume_in_child(c, buf, sizeof(buf));
	cr_assert(WIFSIGNALED(status), "child exited with %d; stderr: %s",
		  WIFEXITED(status) ? WEXITSTATUS(status) : -1, buf);
	cr_assert_eq(WTERMSIG(status), SIGSEGV);
	cr_assert_not_null(strstr(buf, "mite: journey redzone overflowed its 64 KiB stack\n"),
			   "stderr: %s", buf);
}

/* An overflow that returned before the switch: the red zone tells. */
Test(coro, redzone_overflow_caught_at_switch)
{
	if (RUNNING_ON_VALGRIND)
		cr_skip_test("valgrind reports the write below the stack itself");
	redzone_case(0);
}

/* A frame below the stack at a yield, the red zone untouched: the stack
 * pointer tells. */
Test(coro, redzone_overflow_caught_at_yield)
{
	if (RUNNING_ON_VALGRIND)
		cr_skip_test("valgrind reports the write below the stack itself");
	redzone_case(1);
}

/* The same legal depth as deep_legal_recursion raises nothing. */
Test(coro, redzone_legal_depth_passes)
{
	int frames = 0;
	coro *c;

	coro_guard_policy(0, 0);
	c = coro_new(CORO_DEFAULT_STACK, deep, &frames, "deep");
	cr_assert_not_null(c);
	cr_assert_eq(coro_resume(c), 1);
	cr_assert_eq(coro_resume(c), 0);
	cr_assert_gt(frames, 100);
	coro_free(c);
	coro_pool_drain();
}

/* The classic guard page (as on kernels before 6.13) still reports. */
Test(coro, overflow_reports_journey_mprotect)
{
	static unsigned long out;
	coro *c;
	char buf[4096];
	size_t kinds[4];
	int status;

	coro_guard_policy(0, -1);
	c = coro_new(CORO_DEFAULT_STACK, overflower, &out, "overflower");
	cr_assert_not_null(c);
	coro_guard_counts(kinds);
	cr_assert_eq(kinds[CORO_GUARD_MPROTECT], 1);
	status = resume_in_child(c, buf, sizeof(buf));
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "stderr: %s", buf);
	cr_assert_not_null(strstr(buf, "mite: journey overflower overflowed its 64 KiB stack\n"),
			   "stderr: %s", buf);
	coro_free(c);
	coro_pool_drain();
}
