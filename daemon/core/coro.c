/*
 * coro.c - coroutines on pooled stacks carved out of large mappings.
 *
 * One thread (a runner's loop) runs every coroutine, so the running
 * coroutine, the main context and the pool are plain statics.
 *
 * Stacks come in slots of slabs. A slab is one anonymous mapping
 * (MAP_NORESERVE, lazily committed) cut into slots of one size; a slot is,
 * from its low end: a guard page, the stack (growing down towards it), and
 * at the top the coroutine's record (struct coro) and the caller's extra
 * bytes (the runner's instance). A sleeping instance therefore touches one
 * page, record and first frames together, and a million of them cost a
 * few hundred mappings, not two million: vm.max_map_count (65530 by
 * default) no longer bounds the number of coroutines.
 *
 * The guard page: MADV_GUARD_INSTALL (Linux 6.13) makes it fault without
 * splitting the mapping; failing that, mprotect does, at the price of two
 * mappings, while a budget of the map count allows; past it the guard page
 * is left accessible and its top bytes are a red zone that must stay zero,
 * checked whenever the coroutine switches back, together with its stack
 * pointer at every yield. A red-zone stack's overflow is caught at its next
 * switch (or by a fault further down) rather than at the faulting write.
 *
 * Free slots are kept per size, the most recently freed first (their
 * pages are still resident); coro_pool_trim hands the pages of the others
 * back. Slabs are unmapped only by coro_pool_drain with nothing alive.
 */
#include "config.h"

#include "coro.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
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
	char *slot; /* the slot: guard page, stack, then this record */
	char *slab; /* the lowest address of the slot's slab */
	size_t stack_bytes; /* usable: from slot + page up to this record */
	size_t asked; /* the stack size asked for, for the report */
	struct pool_class *pc;
	int done;
	int guard; /* CORO_GUARD_* */
	struct coro *prev, *next; /* the live list, for the overflow handler */
	void *fake_stack; /* ASan's fake stack while suspended */
	unsigned vg_stack; /* valgrind's id for the stack */
};

/* A free slot: its address with its guard kind in the low bits, and
 * SLOT_ABANDONED when its coroutine was freed unfinished. */
typedef uintptr_t free_slot;
#define SLOT_GUARD 3
#define SLOT_ABANDONED 4
#define SLOT_FLAGS 7

typedef struct slot_vec {
	free_slot *v;
	size_t n, cap;
} slot_vec;

/* The slots of one size. */
struct pool_class {
	size_t slot_bytes;
	char *carve, *carve_end; /* the part of the newest slab not cut yet */
	char *carve_slab;
	size_t next_slots; /* slots in the next slab (doubling) */
	slot_vec dirty; /* free, pages resident; reused first, LIFO */
	slot_vec clean; /* free, pages given back */
	struct pool_class *next;
};

typedef struct slab {
	char *base;
	size_t len;
	struct slab *next;
} slab;

#define SLAB_FIRST_SLOTS 16
#define SLAB_BYTES_MAX ((size_t)64 << 20)
/* The top of a red-zone stack's guard page, which must stay zero. */
#define REDZONE_BYTES 256
/* Mappings left alone when the mprotect budget is computed: for slabs,
 * libraries, malloc arenas and sockets. */
#define MAP_RESERVE_MIN 1024

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

static size_t page_bytes;
/* Set by coro_resume before it switches: the coroutine being entered, which
 * is how coro_entry finds its coroutine (makecontext passes ints only). */
static coro *running;
static coro *live;
static struct pool_class *pool;
static slab *slabs;
static coro_ctx main_ctx;
/* ASan's view of the main context: its fake stack while a coroutine runs,
 * and its stack's bounds, learnt when a coroutine is first entered. */
static void *main_fake;
static const void *main_bottom;
static size_t main_size;
/* Guard policy: MADV_GUARD_INSTALL 1 works, 0 untried, -1 not to be used;
 * mprotect guards still allowed (-1: not computed yet). */
static int madv_guard;
static long mprot_budget = -1;
static size_t guard_count[4];

static size_t page_size(void)
{
	if (!page_bytes) {
		long p = sysconf(_SC_PAGESIZE);

		page_bytes = p > 0 ? (size_t)p : 4096;
	}
	return page_bytes;
}

static size_t round_up(size_t v, size_t to)
{
	return (v + to - 1) & ~(to - 1);
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
	if (stack_size > SIZE_MAX / 4)
		stack_size = SIZE_MAX / 4;
	return round_up(stack_size, p);
}

/* The record and extra bytes at the top of a slot. */
static size_t record_bytes(size_t extra)
{
	return round_up(round_up(sizeof(coro), 16) + extra, 64);
}

static size_t slot_bytes_for(size_t stack_bytes, size_t extra)
{
	return page_size() + round_up(stack_bytes + record_bytes(extra), page_size());
}

static char *stack_lo(const coro *c)
{
	return c->slot + page_size();
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

/* ---- slabs and slots ------------------------------------------------- */

static int vec_push(slot_vec *v, free_slot s)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		free_slot *p = realloc(v->v, cap * sizeof *p);

		if (!p)
			return -ENOMEM;
		v->v = p;
		v->cap = cap;
	}
	v->v[v->n++] = s;
	return 0;
}

static struct pool_class *pool_class_get(size_t slot_bytes)
{
	struct pool_class *pc;

	for (pc = pool; pc; pc = pc->next)
		if (pc->slot_bytes == slot_bytes)
			return pc;
	if (!(pc = calloc(1, sizeof(*pc))))
		return NULL;
	pc->slot_bytes = slot_bytes;
	pc->next_slots = SLAB_FIRST_SLOTS;
	pc->next = pool;
	pool = pc;
	return pc;
}

/* The slots the n-th slab of a class holds: doubling from
 * SLAB_FIRST_SLOTS up to SLAB_BYTES_MAX, at least one. */
static size_t slab_cap(size_t slot_bytes)
{
	size_t cap = SLAB_BYTES_MAX / slot_bytes;

	return cap ? cap : 1;
}

static int slab_new(struct pool_class *pc)
{
	size_t n = pc->next_slots, cap = slab_cap(pc->slot_bytes);
	slab *sl;
	char *m;

	if (n > cap)
		n = cap;
	if (!(sl = calloc(1, sizeof(*sl))))
		return -ENOMEM;
	sl->len = n * pc->slot_bytes;
	m = mmap(NULL, sl->len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (m == MAP_FAILED) {
		int err = errno;

		free(sl);
		return -err;
	}
	sl->base = m;
	sl->next = slabs;
	slabs = sl;
	pc->carve = m;
	pc->carve_slab = m;
	pc->carve_end = m + sl->len;
	if (n * 2 <= cap)
		pc->next_slots = n * 2;
	else
		pc->next_slots = cap;
	return 0;
}

/* Half of the mappings left, less a reserve: what mprotect guard pages (two
 * mappings each) may use, so that slabs and everything else still fit. */
static long mprotect_budget_now(void)
{
	long max = coro_max_map_count(), left = coro_maps_free(), reserve;

	if (max < 0 || left < 0)
		return 0;
	reserve = max / 2 > MAP_RESERVE_MIN ? max / 2 : MAP_RESERVE_MIN;
	return left > reserve ? (left - reserve) / 2 : 0;
}

/* Makes a new slot's guard page: the cheapest way that works. */
static int guard_make(char *slot)
{
	if (madv_guard >= 0) {
		if (madvise(slot, page_size(), MADV_GUARD_INSTALL) == 0) {
			madv_guard = 1;
			return CORO_GUARD_MADVISE;
		}
		/* EINVAL: a kernel before 6.13 (or valgrind). */
		madv_guard = -1;
	}
	if (mprot_budget < 0)
		mprot_budget = mprotect_budget_now();
	if (mprot_budget > 0) {
		if (mprotect(slot, page_size(), PROT_NONE) == 0) {
			mprot_budget--;
			return CORO_GUARD_MPROTECT;
		}
		mprot_budget = 0; /* ENOMEM: the map count is reached after all */
	}
	return CORO_GUARD_REDZONE;
}

/* A free slot of pc's size, or a new one: its address, guard kind in
 * *guard, whether frames were abandoned on it in *abandoned, and the slab
 * it is in. */
static char *slot_take(struct pool_class *pc, int *guard, int *abandoned, char **slab_lo)
{
	slot_vec *v = pc->dirty.n ? &pc->dirty : pc->clean.n ? &pc->clean : NULL;
	char *slot;
	int rc;

	if (v) {
		free_slot s = v->v[--v->n];

		*guard = (int)(s & SLOT_GUARD);
		*abandoned = (s & SLOT_ABANDONED) != 0;
		slot = (char *)(s & ~(uintptr_t)SLOT_FLAGS);
		*slab_lo = NULL;
		for (const slab *sl = slabs; sl; sl = sl->next)
			if (slot >= sl->base && slot < sl->base + sl->len) {
				*slab_lo = sl->base;
				break;
			}
		return slot;
	}
	if (pc->carve == pc->carve_end && (rc = slab_new(pc)) < 0) {
		errno = -rc;
		return NULL;
	}
	slot = pc->carve;
	pc->carve += pc->slot_bytes;
	*abandoned = 0;
	*slab_lo = pc->carve_slab;
	*guard = guard_make(slot);
	guard_count[*guard]++;
	return slot;
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

/* Apart from coro_make, whose locals gcc would otherwise warn that the
 * returns_twice getcontext may clobber (it never returns twice here:
 * nothing switches to the context before makecontext rewrites it). */
static void context_init(coro *c)
{
#ifdef CORO_FAST_SWITCH
	/* The frame mite_coro_swap pops, at the top of the new stack (just
	 * below the record, 64-byte aligned): MXCSR and x87 control word (the
	 * current ones), six zeroed callee-saved registers, then coro_entry as
	 * the return address - 16-byte aligned, so coro_entry starts with the
	 * stack aligned as after a call - and a zero "return address" above it
	 * that ends backtraces. */
	uint64_t *top = (uint64_t *)(void *)c;
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
	c->ctx.uc_stack.ss_sp = stack_lo(c);
	c->ctx.uc_stack.ss_size = c->stack_bytes;
	c->ctx.uc_stack.ss_flags = 0;
	c->ctx.uc_link = NULL; /* coro_entry never returns */
	makecontext(&c->ctx, coro_entry, 0);
#endif
}

static coro *coro_make(size_t stack_size, size_t extra, coro_fn fn, void *arg, const char *label)
{
	size_t asked = coro_stack_bytes(stack_size), rec = record_bytes(extra);
	struct pool_class *pc;
	char *slot, *slab_lo;
	int guard, abandoned;
	coro *c;

	if (extra > CORO_EXTRA_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (!(pc = pool_class_get(slot_bytes_for(asked, extra)))) {
		errno = ENOMEM;
		return NULL;
	}
	if (!(slot = slot_take(pc, &guard, &abandoned, &slab_lo)))
		return NULL;
	c = (coro *)(void *)(slot + pc->slot_bytes - rec);
	memset(c, 0, rec);
	c->slot = slot;
	c->slab = slab_lo;
	c->pc = pc;
	c->guard = guard;
	c->asked = asked;
	c->stack_bytes = (size_t)((char *)c - stack_lo(c));
#ifdef CORO_ASAN
	/* A coroutine freed while suspended left poisoned redzones of frames
	 * that never returned (one that finished left none: its frames
	 * returned). Only then: unpoisoning writes the shadow of the whole
	 * stack, and a million stacks' shadow would all become resident. */
	if (abandoned)
		__asan_unpoison_memory_region(stack_lo(c), c->stack_bytes);
#else
	(void)abandoned;
#endif
#ifdef HAVE_VALGRIND_VALGRIND_H
	c->vg_stack = VALGRIND_STACK_REGISTER(stack_lo(c), stack_lo(c) + c->stack_bytes);
#endif
	context_init(c);
	c->fn = fn;
	c->arg = extra ? coro_extra(c) : arg;
	c->label = label;
	live_insert(c);
	return c;
}

coro *coro_new(size_t stack_size, coro_fn fn, void *arg, const char *label)
{
	return coro_make(stack_size, 0, fn, arg, label);
}

coro *coro_new_with(size_t stack_size, size_t extra, coro_fn fn, const char *label)
{
	return coro_make(stack_size, extra, fn, NULL, label);
}

void *coro_extra(coro *c)
{
	return (char *)c + round_up(sizeof(coro), 16);
}

const void *coro_slot_base(const coro *c)
{
	return c->slot;
}

static void overflow_die(const coro *c);

/* Whether a red-zone stack's zone was written: an overflow. Not
 * instrumented: the zone is below the stack ASan was told about. */
__attribute__((no_sanitize_address)) static int redzone_dirty(const coro *c)
{
	const volatile uint64_t *z =
		(const volatile uint64_t *)(void *)(stack_lo(c) - REDZONE_BYTES);
	uint64_t acc = 0;

	for (size_t i = 0; i < REDZONE_BYTES / sizeof *z; i++)
		acc |= z[i];
	return acc != 0;
}

int coro_resume(coro *c)
{
	assert(!running);
	if (c->done)
		return 0;
	running = c;
	coro_switch(&main_ctx, &c->ctx, &main_fake, stack_lo(c), c->stack_bytes, NULL, NULL);
	running = NULL;
	if (c->guard == CORO_GUARD_REDZONE && redzone_dirty(c))
		overflow_die(c);
	return !c->done;
}

void coro_yield(void)
{
	coro *c = running;

	assert(c);
	if (!c)
		return;
	/* A frame below the stack that has not faulted: a red-zone stack
	 * overflowed without touching its zone (or an oversized frame). */
	if ((uintptr_t)__builtin_frame_address(0) < (uintptr_t)stack_lo(c))
		overflow_die(c);
	coro_switch(&c->ctx, &main_ctx, &c->fake_stack, main_bottom, main_size, &main_bottom,
		    &main_size);
}

coro *coro_current(void)
{
	return running;
}

int coro_done(const coro *c)
{
	return c->done;
}

void coro_free(coro *c)
{
	struct pool_class *pc;
	free_slot s;

	if (!c)
		return;
	assert(c != running);
	live_remove(c);
#ifdef HAVE_VALGRIND_VALGRIND_H
	VALGRIND_STACK_DEREGISTER(c->vg_stack);
#endif
	pc = c->pc;
	s = (uintptr_t)c->slot | (uintptr_t)c->guard | (c->done ? 0 : SLOT_ABANDONED);
	/* Without memory to note it, the slot is given back to the kernel and
	 * lost to the pool: address space only. */
	if (vec_push(&pc->dirty, s) < 0)
		madvise(stack_lo(c), pc->slot_bytes - page_size(), MADV_DONTNEED);
}

static void class_trim(struct pool_class *pc, size_t keep)
{
	size_t n;

	if (pc->dirty.n <= keep)
		return;
	n = pc->dirty.n - keep;
	/* The oldest first: the newest are the likeliest to be reused. */
	for (size_t i = 0; i < n; i++) {
		char *slot = (char *)(pc->dirty.v[i] & ~(uintptr_t)SLOT_FLAGS);

		madvise(slot + page_size(), pc->slot_bytes - page_size(), MADV_DONTNEED);
		if (vec_push(&pc->clean, pc->dirty.v[i]) < 0) {
			/* Lost to the pool, as in coro_free. */
		}
	}
	memmove(pc->dirty.v, pc->dirty.v + n, keep * sizeof *pc->dirty.v);
	pc->dirty.n = keep;
}

void coro_pool_trim(size_t keep)
{
	for (struct pool_class *pc = pool; pc; pc = pc->next)
		class_trim(pc, keep);
}

void coro_pool_drain(void)
{
	struct pool_class *pc, *pc_next;
	slab *sl, *sl_next;

	if (live) {
		coro_pool_trim(0);
		return;
	}
#ifdef CORO_ASAN
	/* The shadow outlives the mapping: leave nothing poisoned for whatever
	 * the address range holds next (only abandoned frames left any). */
	for (pc = pool; pc; pc = pc->next)
		for (int k = 0; k < 2; k++) {
			const slot_vec *v = k ? &pc->clean : &pc->dirty;

			for (size_t i = 0; i < v->n; i++)
				if (v->v[i] & SLOT_ABANDONED)
					__asan_unpoison_memory_region(
						(char *)(v->v[i] & ~(uintptr_t)SLOT_FLAGS) +
							page_size(),
						pc->slot_bytes - page_size());
		}
#endif
	for (sl = slabs; sl; sl = sl_next) {
		sl_next = sl->next;
		munmap(sl->base, sl->len);
		free(sl);
	}
	slabs = NULL;
	for (pc = pool; pc; pc = pc_next) {
		pc_next = pc->next;
		free(pc->dirty.v);
		free(pc->clean.v);
		free(pc);
	}
	pool = NULL;
}

void coro_guard_counts(size_t counts[4])
{
	memcpy(counts, guard_count, sizeof guard_count);
}

void coro_guard_policy(int madvise_ok, long mprotect_budget)
{
	madv_guard = madvise_ok ? (madv_guard < 0 ? 0 : madv_guard) : -1;
	mprot_budget = mprotect_budget;
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

long coro_max_map_count(void)
{
	const char *env = getenv("MITE_MAX_MAP_COUNT");
	char buf[32], *end;
	long max, fake = -1;

	if (env && *env) {
		errno = 0;
		fake = strtol(env, &end, 10);
		if (errno || *end || fake <= 0)
			fake = -1;
	}
	if (read_small("/proc/sys/vm/max_map_count", buf, sizeof(buf)) <= 0)
		return fake;
	errno = 0;
	max = strtol(buf, &end, 10);
	if (errno || end == buf || max <= 0)
		return fake;
	return fake > 0 && fake < max ? fake : max;
}

long coro_maps_free(void)
{
	long max = coro_max_map_count(), maps;

	if (max < 0 || (maps = count_lines("/proc/self/maps")) < 0)
		return -1;
	return max > maps ? max - maps : 0;
}

long coro_maps_needed(double n, size_t stack_size)
{
	/* The runner's instance record fits in a page (its extra bytes). */
	size_t slot = slot_bytes_for(coro_stack_bytes(stack_size), page_size() - 256);
	size_t cap = slab_cap(slot), per = SLAB_FIRST_SLOTS;
	double left = n;
	long slabs_needed = 0;

	while (left > 0) {
		if (per > cap)
			per = cap;
		if (per == cap) {
			slabs_needed += (long)ceil(left / (double)per);
			break;
		}
		left -= (double)per;
		slabs_needed++;
		per *= 2;
	}
	return slabs_needed;
}

/* ---- overflow report ------------------------------------------------ */

static int overflow_installed;
static struct sigaction old_segv, old_bus;

static int in_guard(const coro *c, const char *addr)
{
	return addr >= c->slot && addr < c->slot + page_size();
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
 * stack (by less than a generous 1 MiB, not garbage) says so; a red-zone
 * stack's overflow runs on through the slots below it, so anywhere down to
 * a MiB below its slab counts too. Last, any live coroutine's guard page: a
 * pointer run wild into another stack. */
static const coro *guard_owner(const char *addr, uintptr_t sp)
{
	const coro *c;

	if (running) {
		uintptr_t lo = (uintptr_t)stack_lo(running);
		uintptr_t floor = running->slab ? (uintptr_t)running->slab : lo;

		floor = floor > 1024 * 1024 ? floor - 1024 * 1024 : 0;
		if (in_guard(running, addr) || (sp < lo && sp >= floor))
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

/* "mite: journey X overflowed its N KiB stack" on stderr, with
 * async-signal-safe calls only. */
static void overflow_report(const coro *c)
{
	char msg[512];
	size_t n = 0;
	ssize_t w;

	put_str(msg, &n, sizeof(msg), "mite: journey ");
	put_str(msg, &n, sizeof(msg), c->label ? c->label : "(unnamed)");
	put_str(msg, &n, sizeof(msg), " overflowed its ");
	put_uint(msg, &n, sizeof(msg), c->asked / 1024);
	put_str(msg, &n, sizeof(msg), " KiB stack");
	msg[n++] = '\n';
	for (size_t off = 0; off < n;) {
		if ((w = write(STDERR_FILENO, msg + off, n - off)) > 0)
			off += (size_t)w;
		else if (w == 0 || errno != EINTR)
			break;
	}
}

/* Dies of sig itself, as a crash reporter (and the runner's parent, which
 * reports how a runner died) expects: from a handler, it is delivered with
 * the default action as soon as the handler returns. */
static void die_of(int sig)
{
	struct sigaction dfl;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

/* An overflow found at a switch (a red-zone stack): reported and fatal as
 * one caught by the guard page. */
static void overflow_die(const coro *c)
{
	sigset_t set;

	overflow_report(c);
	sigemptyset(&set);
	sigaddset(&set, SIGSEGV);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	die_of(SIGSEGV);
	abort(); /* not reached */
}

/* Runs on the alternate stack, since the faulting stack is the one that
 * has no room left. Only async-signal-safe calls: write, sigaction,
 * raise. */
static void overflow_handler(int sig, siginfo_t *si, void *uctx)
{
	/* si_code > 0: the kernel raised it for a fault, so si_addr is the
	 * faulting address; kill() and raise() leave it meaningless. */
	const coro *c = si->si_code > 0 ? guard_owner(si->si_addr, interrupted_sp(uctx)) : NULL;

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
	overflow_report(c);
	die_of(sig);
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
	alt = mmap(NULL, ALTSTACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
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
