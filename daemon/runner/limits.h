/*
 * limits.h - the resource limits mited sets for a runner (runner_limits in
 * mited.conf(5)): its address space (RLIMIT_AS) and its open files
 * (RLIMIT_NOFILE), applied by the runner itself before it loads any module.
 *
 * At the limit, an allocation fails (malloc returns NULL): a journey that
 * checks fails its iteration, one that does not crashes. Either way the
 * runner says so on stderr, where mited reads it and reports the runner
 * "exceeded its memory limit of N MiB" rather than leaving the host's OOM
 * killer to choose a process:
 *
 *   - a watch on the loop ends the runner once its address space comes
 *     within 1/16 of the limit ("mite: memory limit of N MiB reached ...");
 *   - a fatal signal while within a quarter of the limit is said to be
 *     probably that ("mite: memory limit of N MiB nearly reached ...").
 *
 * A sanitizer build reserves terabytes of address space for its shadow
 * memory: there the memory limit is not applied (and the runner says so).
 */
#ifndef MITE_RUNNER_LIMITS_H
#define MITE_RUNNER_LIMITS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Sets the limits (0: leave that one as inherited). Logs what it could
 * not set. 0, or -errno when the memory limit could not be set. */
int limits_apply(int index, uint64_t memory, long files);
/* Starts the memory watch on loop (nothing without a memory limit). The
 * watch keeps no loop alive; limits_stop closes it. */
void limits_watch(uv_loop_t *loop);
void limits_stop(void);
/* Async-signal-safe, for a fatal signal handler: writes "<2>mite: memory
 * limit of N MiB nearly reached (M MiB in use)\n" into buf and returns its
 * length when the address space is within a quarter of the limit; else 0. */
size_t limits_fatal_note(char *buf, size_t len);

#endif
