/*
 * coro.h - ucontext coroutines with guard-paged, pooled mmap stacks.
 *
 * One thread runs coroutines: coro_resume() switches into one and returns
 * when it yields or finishes. Stacks are mmap'd lazily-committed regions
 * with a PROT_NONE guard page below, pooled per size and reused. A write
 * into the guard page is caught by a SIGSEGV handler on an alternate stack
 * (coro_install_overflow_handler) that prints "journey X overflowed its N
 * KiB stack" and ends the process. Switches are annotated for
 * AddressSanitizer and valgrind.
 */
#ifndef MITE_CORE_CORO_H
#define MITE_CORE_CORO_H

#include <stddef.h>

typedef struct coro coro;
typedef void (*coro_fn)(void *arg);

#define CORO_DEFAULT_STACK (64 * 1024)
#define CORO_MIN_STACK (16 * 1024)

/* A coroutine that will run fn(arg) at its first resume, with a stack of
 * stack_size bytes (0 means CORO_DEFAULT_STACK, less than CORO_MIN_STACK is
 * raised to it, then rounded up to pages) plus a guard page. `label` (e.g.
 * the journey's name; borrowed, must outlive the coroutine) names it in the
 * overflow report. NULL with errno set: ENOMEM when the kernel refuses
 * another mapping (see coro_map_limit); the caller logs it, with the
 * journey. */
coro *coro_new(size_t stack_size, coro_fn fn, void *arg, const char *label);
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
/* Releases c; its stack goes back to the pool. c must not be running; a
 * suspended, unfinished coroutine may be freed (its stack is abandoned). */
void coro_free(coro *c);
/* Unmaps every pooled stack (call at the end of a run). */
void coro_pool_drain(void);

/* The stack bytes a coroutine of stack_size really uses (rounded). */
size_t coro_stack_bytes(size_t stack_size);
/* How many more guard-paged stacks vm.max_map_count leaves room for,
 * counting the maps the process has now (each stack costs 2 mappings), or
 * -1 when that cannot be read. */
long coro_map_limit(void);

/* Installs the SIGSEGV/SIGBUS handler (on a sigaltstack, for the calling
 * thread: call it from the thread that runs coroutines) that reports a
 * guard-page hit with the coroutine's label, or a fault with the stack
 * pointer below the running coroutine's stack (a frame that jumped the
 * guard), then dies of that signal with the default action. Other faults
 * go to the disposition there was before (the default, or a crash
 * reporter's or ASan's handler). Idempotent. 0 or -errno. */
int coro_install_overflow_handler(void);

#endif
