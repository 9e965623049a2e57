/*
 * coro.c - ucontext coroutines with guard-paged, pooled mmap stacks.
 *
 * One thread (a runner's loop) runs every coroutine, so the running
 * coroutine, the main context and the pool are plain statics.
 *
 * A stack is one anonymous mapping: a PROT_NONE guard page at the low end
 * (stacks grow down into it), then the usable bytes. MAP_NORESERVE and
 * lazy commit mean an idle 64 KiB stack costs the page or two its frames
 * touched. The mprotect splits the mapping in two, which is what makes
 * vm.max_map_count the limit on live coroutines (coro_map_limit).
 *
 * A freed coroutine keeps its stack and goes to a free list for its stack
 * size; coro_new takes from there first. Nothing is unmapped before
 * coro_pool_drain.
 */
#include "config.h"

#include "coro.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

/* gcc says __SANITIZE_ADDRESS__, clang __has_feature. The sanitizer
 * headers may not be installed, so the three calls are declared here, as
 * compiler-rt and libasan define them. */
#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif

#ifdef CORO_ASAN
#include <dlfcn.h>
#include <gnu/lib-names.h>

void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
				     size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);

typedef int (*swapcontext_fn)(ucontext_t *, const ucontext_t *);

/* ASan intercepts swapcontext to clear the shadow of the whole stack being
 * entered, at every switch: once a coroutine has yielded, the redzones of
 * its live frames are gone and overflows of its locals go unseen. The
 * fiber annotations already tell ASan what it needs, so switch with libc's
 * own swapcontext, looked up in libc's scope (where no interceptor is). */
static swapcontext_fn libc_swapcontext(void)
{
	static swapcontext_fn fn;
	void *libc;

	if (!fn) {
		if ((libc = dlopen(LIBC_SO, RTLD_LAZY | RTLD_NOLOAD))) {
			fn = (swapcontext_fn)dlsym(libc, "swapcontext");
			dlclose(libc); /* NOLOAD took a reference; libc stays */
		}
		if (!fn)
			fn = swapcontext;
	}
	return fn;
}
#endif

#define ALTSTACK_BYTES (64 * 1024)

/*
 * The switch. On x86-64 (outside ASan builds) a dozen instructions save the
 * callee-saved registers, MXCSR and the x87 control word on the stack being
 * left and load them from the stack entered: no signal mask syscall, which
 * swapcontext makes at every call (about 0.2 us here), and a context is a
 * stack pointer instead of a ~1 KiB ucontext_t. Elsewhere, and under ASan
 * (whose fiber support is proven with swapcontext), ucontext does it.
 * Configure with CPPFLAGS=-DMITE_CORO_UCONTEXT to force ucontext.
 */
#if defined(__x86_64__) && !defined(CORO_ASAN) && !defined(MITE_CORO_UCONTEXT)
#define CORO_FAST_SWITCH 1
typedef struct coro_ctx {
	void *sp;
} coro_ctx;

/* Saves the running context's registers on its stack and its stack pointer
 * in *save, then continues the context whose stack pointer is `load`. */
void mite_coro_swap(void **save, void *load);
__asm__(".text\n"
	".globl mite_coro_swap\n"
	".hidden mite_coro_swap\n"
	".type mite_coro_swap,@function\n"
	"mite_coro_swap:\n"
	"\tendbr64\n"
	"\tpushq %rbp\n"
	"\tpushq %rbx\n"
	"\tpushq %r12\n"
	"\tpushq %r13\n"
	"\tpushq %r14\n"
	"\tpushq %r15\n"
	"\tsubq $8, %rsp\n"
	"\tstmxcsr (%rsp)\n"
	"\tfnstcw 4(%rsp)\n"
	"\tmovq %rsp, (%rdi)\n"
	"\tmovq %rsi, %rsp\n"
	"\tldmxcsr (%rsp)\n"
	"\tfldcw 4(%rsp)\n"
	"\taddq $8, %rsp\n"
	"\tpopq %r15\n"
	"\tpopq %r14\n"
	"\tpopq %r13\n"
	"\tpopq %r12\n"
	"\tpopq %rbx\n"
	"\tpopq %rbp\n"
	"\tret\n"
	".size mite_coro_swap,.-mite_coro_swap\n");
#else
typedef ucontext_t coro_ctx;
#endif

struct coro {
	coro_ctx ctx;
	coro_fn fn;
	void *arg;
	const char *label;
	char *map;          /* the mapping: guard page, then the stack */
	size_t stack_bytes; /* usable bytes above the guard page */
	int done;
	/* the live list (for the overflow handler), or the pool's free list
	 * (next only) once freed */
	struct coro *prev, *next;
	void *fake_stack;  /* ASan's fake stack while suspended */
	unsigned vg_stack; /* valgrind's id for the stack */
};

/* The free stacks of one size. */
struct pool_class {
	size_t stack_bytes;
	coro *free;
	struct pool_class *next;
};

static size_t page_bytes;
/* Set by coro_resume before it switches: the coroutine being entered, which
 * is how coro_entry finds its coroutine (makecontext passes ints only). */
static coro *running;
static coro *live;
static struct pool_class *pool;
static coro_ctx main_ctx;
/* ASan's view of the main context: its fake stack while a coroutine runs,
 * and its stack's bounds, learnt when a coroutine is first entered. */
static void *main_fake;
static const void *main_bottom;
static size_t main_size;

static size_t page_size(void)
{
	if (!page_bytes) {
		long p = sysconf(_SC_PAGESIZE);

		page_bytes = p > 0 ? (size_t)p : 4096;
	}
	return page_bytes;
}

size_t coro_stack_bytes(size_t stack_size)
{
	size_t p = page_size();

	if (!stack_size)
		stack_size = CORO_DEFAULT_STACK;
	if (stack_size < CORO_MIN_STACK)
		stack_size = CORO_MIN_STACK;
	/* Absurd sizes must not wrap to small ones when rounded: mmap refuses
	 * this one with ENOMEM instead. */
	if (stack_size > SIZE_MAX / 2)
		stack_size = SIZE_MAX / 2;
	return (stack_size + p - 1) & ~(p - 1);
}

/* Every stack switch goes through here, so that something faster than
 * swapcontext (a sigprocmask syscall per call) can replace it alone.
 * `fake` keeps ASan's fake stack of the side that leaves until it is
 * switched back into; NULL says it never will be (a finished coroutine).
 * [bottom, bottom + size) is the stack being entered. When this side is
 * resumed, from_bottom and from_size (if not NULL) get the bounds of the
 * stack that switched back to it. */
static void coro_switch(coro_ctx *from, const coro_ctx *to, void **fake, const void *bottom,
			size_t size, const void **from_bottom, size_t *from_size)
{
#if defined(CORO_FAST_SWITCH)
	(void)fake, (void)bottom, (void)size, (void)from_bottom, (void)from_size;
	mite_coro_swap(&from->sp, to->sp);
#elif defined(CORO_ASAN)
	swapcontext_fn swap = libc_swapcontext();

	__sanitizer_start_switch_fiber(fake, bottom, size);
	(void)swap(from, to);
	__sanitizer_finish_switch_fiber(fake ? *fake : NULL, from_bottom, from_size);
#else
	(void)fake, (void)bottom, (void)size, (void)from_bottom, (void)from_size;
	/* Fails only for a bad pointer. */
	(void)swapcontext(from, to);
#endif
}

static void coro_entry(void)
{
	coro *c = running;

#ifdef CORO_ASAN
	__sanitizer_finish_switch_fiber(NULL, &main_bottom, &main_size);
#endif
	c->fn(c->arg);
	c->done = 1;
	coro_switch(&c->ctx, &main_ctx, NULL, main_bottom, main_size, NULL, NULL);
	/* A finished coroutine is never switched back into. */
	abort();
}

static char *stack_map(size_t bytes)
{
	size_t len = bytes + page_size();
	char *m;
	int err;

	m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (m == MAP_FAILED)
		goto fail;
	/* ENOMEM here too once the split would pass vm.max_map_count. */
	if (mprotect(m, page_size(), PROT_NONE) < 0)
		goto fail_map;
	return m;

fail_map:
	err = errno;
	munmap(m, len);
	errno = err;
fail:
	return NULL;
}

static void stack_unmap(coro *c)
{
#ifdef HAVE_VALGRIND_VALGRIND_H
	VALGRIND_STACK_DEREGISTER(c->vg_stack);
#endif
#ifdef CORO_ASAN
	/* The shadow outlives the mapping: leave nothing poisoned for
	 * whatever the address range holds next. */
	__asan_unpoison_memory_region(c->map + page_size(), c->stack_bytes);
#endif
	munmap(c->map, c->stack_bytes + page_size());
}

static struct pool_class *pool_find(size_t stack_bytes)
{
	struct pool_class *pc;

	for (pc = pool; pc; pc = pc->next)
		if (pc->stack_bytes == stack_bytes)
			return pc;
	return NULL;
}

static void live_insert(coro *c)
{
	c->prev = NULL;
	c->next = live;
	if (live)
		live->prev = c;
	live = c;
}

static void live_remove(coro *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		live = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* Apart from coro_new, whose locals gcc would otherwise warn that the
 * returns_twice getcontext may clobber (it never returns twice here:
 * nothing switches to the context before makecontext rewrites it). */
static void context_init(coro *c)
{
#ifdef CORO_FAST_SWITCH
	/* The frame mite_coro_swap pops, at the top of the new stack: MXCSR
	 * and x87 control word (the current ones), six zeroed callee-saved
	 * registers, then coro_entry as the return address - 16-byte aligned,
	 * so coro_entry starts with the stack aligned as after a call - and a
	 * zero "return address" above it that ends backtraces. */
	uint64_t *top = (uint64_t *)(void *)(c->map + page_size() + c->stack_bytes);
	uint64_t *sp = top - 9;
	uint32_t mxcsr;
	uint16_t fpucw;

	__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
	__asm__ volatile("fnstcw %0" : "=m"(fpucw));
	memset(sp, 0, 9 * sizeof *sp);
	sp[0] = (uint64_t)mxcsr | ((uint64_t)fpucw << 32);
	sp[7] = (uint64_t)(uintptr_t)coro_entry;
	sp[8] = 0;
	c->ctx.sp = sp;
#else
	/* getcontext only fails for a bad pointer; makecontext needs it to
	 * fill in the registers and signal mask it leaves alone. */
	(void)getcontext(&c->ctx);
	c->ctx.uc_stack.ss_sp = c->map + page_size();
	c->ctx.uc_stack.ss_size = c->stack_bytes;
	c->ctx.uc_stack.ss_flags = 0;
	c->ctx.uc_link = NULL; /* coro_entry never returns */
	makecontext(&c->ctx, coro_entry, 0);
#endif
}

coro *coro_new(size_t stack_size, coro_fn fn, void *arg, const char *label)
{
	size_t bytes = coro_stack_bytes(stack_size);
	struct pool_class *pc = pool_find(bytes);
	coro *c;
	int err;

	if (pc && pc->free) {
		c = pc->free;
		pc->free = c->next;
#ifdef CORO_ASAN
		/* A coroutine freed while suspended left poisoned redzones
		 * of frames that never returned. */
		__asan_unpoison_memory_region(c->map + page_size(), c->stack_bytes);
#endif
	} else {
		if (!(c = calloc(1, sizeof(*c))))
			goto fail;
		if (!(c->map = stack_map(bytes)))
			goto fail_c;
		c->stack_bytes = bytes;
#ifdef HAVE_VALGRIND_VALGRIND_H
		c->vg_stack = VALGRIND_STACK_REGISTER(c->map + page_size(),
						      c->map + page_size() + bytes);
#endif
	}
	context_init(c);
	c->fn = fn;
	c->arg = arg;
	c->label = label;
	c->done = 0;
	c->fake_stack = NULL;
	live_insert(c);
	return c;

fail_c:
	err = errno;
	free(c);
	errno = err;
fail:
	return NULL;
}

int coro_resume(coro *c)
{
	assert(!running);
	if (c->done)
		return 0;
	running = c;
	coro_switch(&main_ctx, &c->ctx, &main_fake, c->map + page_size(), c->stack_bytes, NULL,
		    NULL);
	running = NULL;
	return !c->done;
}

void coro_yield(void)
{
	coro *c = running;

	assert(c);
	if (!c)
		return;
	coro_switch(&c->ctx, &main_ctx, &c->fake_stack, main_bottom, main_size, &main_bottom,
		    &main_size);
}

coro *coro_current(void) { return running; }

int coro_done(const coro *c) { return c->done; }

void coro_free(coro *c)
{
	struct pool_class *pc;

	if (!c)
		return;
	assert(c != running);
	live_remove(c);
	c->fn = NULL;
	c->arg = NULL;
	c->label = NULL;
	if (!(pc = pool_find(c->stack_bytes))) {
		/* The first stack of this size: make its free list. Without
		 * memory for it the stack is not pooled but unmapped. */
		if (!(pc = calloc(1, sizeof(*pc)))) {
			stack_unmap(c);
			free(c);
			return;
		}
		pc->stack_bytes = c->stack_bytes;
		pc->next = pool;
		pool = pc;
	}
	c->next = pc->free;
	pc->free = c;
}

void coro_pool_drain(void)
{
	struct pool_class *pc, *pc_next;
	coro *c, *c_next;

	for (pc = pool; pc; pc = pc_next) {
		pc_next = pc->next;
		for (c = pc->free; c; c = c_next) {
			c_next = c->next;
			stack_unmap(c);
			free(c);
		}
		free(pc);
	}
	pool = NULL;
}

/* Reads a small /proc file into buf, NUL-terminated. Bytes read or -1. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)got < len - 1 && (n = read(fd, buf + got, len - 1 - (size_t)got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

static long count_lines(const char *path)
{
	char buf[4096];
	long lines = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	}
	close(fd);
	return lines;
}

long coro_map_limit(void)
{
	char buf[32], *end;
	long max, maps, left;

	if (read_small("/proc/sys/vm/max_map_count", buf, sizeof(buf)) <= 0)
		return -1;
	errno = 0;
	max = strtol(buf, &end, 10);
	if (errno || end == buf || max <= 0)
		return -1;
	if ((maps = count_lines("/proc/self/maps")) < 0)
		return -1;
	/* 64 maps of slack for what libraries, malloc arenas and sockets map
	 * meanwhile; each stack costs two (the guard page splits it). */
	left = (max - maps - 64) / 2;
	return left > 0 ? left : 0;
}

/* ---- overflow report ------------------------------------------------ */

static int overflow_installed;
static struct sigaction old_segv, old_bus;

static int in_guard(const coro *c, const char *addr)
{
	return addr >= c->map && addr < c->map + page_size();
}

/* The stack pointer of the interrupted code, or 0 where unknown. */
static uintptr_t interrupted_sp(const void *uctx)
{
	const ucontext_t *uc = uctx;

#if defined(__x86_64__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__i386__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_ESP];
#elif defined(__aarch64__)
	return (uintptr_t)uc->uc_mcontext.sp;
#else
	(void)uc;
	return 0;
#endif
}

/* The coroutine that overflowed, if the fault is an overflow. Usually the
 * running one touched its guard page. A frame larger than a page can jump
 * the guard and fault further down: the stack pointer below the running
 * stack (by less than a generous 1 MiB, not garbage) says so. Last, any live
 * coroutine's guard page: a pointer run wild into another stack. */
static const coro *guard_owner(const char *addr, uintptr_t sp)
{
	const coro *c;

	if (running) {
		uintptr_t lo = (uintptr_t)running->map + page_size();

		if (in_guard(running, addr) || (sp < lo && lo - sp <= 1024 * 1024))
			return running;
	}
	for (c = live; c; c = c->next)
		if (in_guard(c, addr))
			return c;
	return NULL;
}

/* Appends s to buf[*n..cap), stopping short of the last byte, which the
 * caller keeps for the newline. */
static void put_str(char *buf, size_t *n, size_t cap, const char *s)
{
	while (*s && *n < cap - 1)
		buf[(*n)++] = *s++;
}

static void put_uint(char *buf, size_t *n, size_t cap, size_t v)
{
	char digits[24];
	size_t k = sizeof(digits);

	digits[--k] = '\0';
	do
		digits[--k] = (char)('0' + v % 10);
	while ((v /= 10) && k > 0);
	put_str(buf, n, cap, digits + k);
}

/* Runs on the alternate stack, since the faulting stack is the one that
 * has no room left. Only async-signal-safe calls: write, sigaction,
 * raise. */
static void overflow_handler(int sig, siginfo_t *si, void *uctx)
{
	/* si_code > 0: the kernel raised it for a fault, so si_addr is the
	 * faulting address; kill() and raise() leave it meaningless. */
	const coro *c = si->si_code > 0 ? guard_owner(si->si_addr, interrupted_sp(uctx)) : NULL;
	struct sigaction dfl;
	char msg[512];
	size_t n = 0;
	ssize_t w;

	if (!c) {
		/* Not ours. Give the fault back to whoever handled it before
		 * (SIG_DFL unless a crash reporter or ASan was there): a real
		 * fault recurs when this returns, and finds that handler with
		 * its true siginfo; a sent signal is sent again. errno is the
		 * interrupted code's. */
		int saved = errno;

		sigaction(sig, sig == SIGBUS ? &old_bus : &old_segv, NULL);
		if (si->si_code <= 0)
			raise(sig);
		errno = saved;
		return;
	}
	put_str(msg, &n, sizeof(msg), "mite: journey ");
	put_str(msg, &n, sizeof(msg), c->label ? c->label : "(unnamed)");
	put_str(msg, &n, sizeof(msg), " overflowed its ");
	put_uint(msg, &n, sizeof(msg), c->stack_bytes / 1024);
	put_str(msg, &n, sizeof(msg), " KiB stack");
	msg[n++] = '\n';
	for (size_t off = 0; off < n;) {
		if ((w = write(STDERR_FILENO, msg + off, n - off)) > 0)
			off += (size_t)w;
		else if (w == 0 || errno != EINTR)
			break;
	}
	/* Die of the signal itself, as a crash reporter (and the runner's
	 * parent, which reports how a runner died) expects: it is delivered
	 * with the default action as soon as this handler returns. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

int coro_install_overflow_handler(void)
{
	struct sigaction sa;
	stack_t ss;
	void *alt;
	int err;

	if (overflow_installed)
		return 0;
	/* The handler must not be the first to ask (sysconf is not
	 * async-signal-safe). */
	page_size();
	alt = mmap(NULL, ALTSTACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (alt == MAP_FAILED)
		return -errno;
	memset(&ss, 0, sizeof(ss));
	ss.ss_sp = alt;
	ss.ss_size = ALTSTACK_BYTES;
	if (sigaltstack(&ss, NULL) < 0)
		goto fail_map;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = overflow_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old_segv) < 0)
		goto fail_map;
	if (sigaction(SIGBUS, &sa, &old_bus) < 0)
		goto fail_segv;
	overflow_installed = 1;
	return 0;

fail_segv:
	err = errno;
	sigaction(SIGSEGV, &old_segv, NULL);
	errno = err;
fail_map:
	/* The alternate stack stays registered if sigaltstack succeeded, so
	 * it is not unmapped: the kernel could still deliver onto it. */
	err = errno;
	if (sigaltstack(NULL, &ss) == 0 && ss.ss_sp != alt)
		munmap(alt, ALTSTACK_BYTES);
	return -err;
}
