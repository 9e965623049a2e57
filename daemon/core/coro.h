/*
 * coro.h - coroutines on pooled stacks carved out of large mappings.
 *
 * One thread runs coroutines: coro_resume() switches into one and returns
 * when it yields or finishes. A stack is a slot of a slab (one mmap of many
 * slots, lazily committed): a guard page at the slot's low end, the stack,
 * and at the top the coroutine's own record (plus, on request, the
 * caller's per-coroutine data), so that a coroutine costs no allocation of
 * its own and a sleeping one touches one page. The guard page is made
 * inaccessible where that costs no memory mapping (MADV_GUARD_INSTALL,
 * Linux 6.13) or while a budget of vm.max_map_count allows (mprotect splits
 * a mapping); past that, a stack has a red zone checked at every switch.
 * An overflow is reported as "journey X overflowed its N KiB stack" and
 * ends the process (coro_install_overflow_handler). Switches are annotated
 * for AddressSanitizer and valgrind.
 */
#ifndef MITE_CORE_CORO_H
#define MITE_CORE_CORO_H

#include <stddef.h>

typedef struct coro coro;
typedef void (*coro_fn)(void *arg);

#define CORO_DEFAULT_STACK (64 * 1024)
#define CORO_MIN_STACK (16 * 1024)
#define CORO_EXTRA_MAX (64 * 1024)

/* A coroutine that will run fn(arg) at its first resume, with a stack of
 * at least stack_size bytes (0 means CORO_DEFAULT_STACK, less than
 * CORO_MIN_STACK is raised to it, then rounded up to pages). `label` (e.g.
 * the journey's name; borrowed, must outlive the coroutine) names it in the
 * overflow report. NULL with errno set: ENOMEM when the kernel refuses a
 * new slab (out of memory, or vm.max_map_count reached: see
 * coro_maps_free); the caller logs it, with the journey. */
coro *coro_new(size_t stack_size, coro_fn fn, void *arg, const char *label);
/* As coro_new, with `extra` zeroed bytes (at most CORO_EXTRA_MAX, 16-byte
 * aligned) kept in the top of the coroutine's stack slot until coro_free:
 * fn receives them as its argument, and coro_extra finds them. */
coro *coro_new_with(size_t stack_size, size_t extra, coro_fn fn, const char *label);
void *coro_extra(coro *c);
/* Switches into c until it yields or returns. Returns 1 while c can be
 * resumed again, 0 once its function has returned. Call from outside any
 * coroutine. */
int coro_resume(coro *c);
/* Switches from the running coroutine back to whoever resumed it. */
void coro_yield(void);
/* The running coroutine, or NULL in the main context. */
coro *coro_current(void);
/* Whether c's function has returned. */
int coro_done(const coro *c);
/* Releases c (and its extra bytes); its stack goes back to the pool. c
 * must not be running; a suspended, unfinished coroutine may be freed (its
 * stack is abandoned). */
void coro_free(coro *c);
/* Gives the memory of free pooled stacks back to the kernel (MADV_DONTNEED)
 * beyond the `keep` freed last of each size; they stay in the pool, as
 * address space. Cheap when there is nothing to give back. */
void coro_pool_trim(size_t keep);
/* With no coroutine alive, unmaps every slab; otherwise trims everything
 * free (coro_pool_trim(0)). Call at the end of a run. */
void coro_pool_drain(void);

/* The stack bytes asked for by stack_size (rounded); a coroutine gets at
 * least that many. */
size_t coro_stack_bytes(size_t stack_size);
/* The lowest address of c's stack slot: its guard page. */
const void *coro_slot_base(const coro *c);

/* vm.max_map_count, or $MITE_MAX_MAP_COUNT when that is set to a smaller
 * positive number (to try a low limit without root); -1 when unknown. */
long coro_max_map_count(void);
/* How many more memory mappings this process may make (the limit less the
 * mappings it has now), or -1 when that cannot be read. */
long coro_maps_free(void);
/* How many mappings (slabs) n stacks of stack_size need at least in one
 * process; guard pages come on top only while mappings are to spare. */
long coro_maps_needed(double n, size_t stack_size);

/* How stacks get their guard page, decided per stack when it is first
 * carved out of a slab. */
enum { CORO_GUARD_MADVISE = 1, CORO_GUARD_MPROTECT, CORO_GUARD_REDZONE };
/* Counts of the stacks carved so far per kind (index by the enum). */
void coro_guard_counts(size_t counts[4]);
/* For tests: whether MADV_GUARD_INSTALL may be tried, and how many
 * mprotect guard pages may be made (-1: half of the mappings left, less a
 * reserve, computed at the first need). */
void coro_guard_policy(int madvise_ok, long mprotect_budget);

/* Installs the SIGSEGV/SIGBUS handler (on a sigaltstack, for the calling
 * thread: call it from the thread that runs coroutines) that reports a
 * guard-page hit with the coroutine's label, or a fault with the stack
 * pointer below the running coroutine's stack (a frame that jumped the
 * guard), then dies of that signal with the default action. Other faults
 * go to the disposition there was before (the default, or a crash
 * reporter's or ASan's handler). Idempotent. 0 or -errno. */
int coro_install_overflow_handler(void);

#endif
