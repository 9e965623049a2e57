/*
 * limits.h - the resource limits mited sets for a runner (runner_limits in
 * mited.conf(5)), applied by the runner itself before it loads any module.
 *
 *   memory         resident memory (RSS). A thread of the runner reads it
 *                  every 50 ms - also while a journey holds the loop - and
 *                  ends the runner once it is over the limit, saying so on
 *                  stderr ("mite: memory limit of N MiB reached ..."),
 *                  where mited reads it and reports the runner "exceeded its
 *                  memory limit of N MiB", rather than leave the host's OOM
 *                  killer to choose a process.
 *   address_space  RLIMIT_AS: a hard ceiling at which allocations fail. It
 *                  counts reserved address space too (every instance's
 *                  lazily committed stack, malloc arenas), so it is off by
 *                  default. A fatal signal within a quarter of it is said
 *                  to be probably that. Not applied in a sanitizer build,
 *                  which reserves terabytes (the runner says so).
 *   open_files     RLIMIT_NOFILE.
 *
 * Linux does not enforce RLIMIT_RSS, and a memory cgroup per runner would
 * need a delegated cgroup tree: hence the thread.
 */
#ifndef MITE_RUNNER_LIMITS_H
#define MITE_RUNNER_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/* Sets the limits (0: leave that one as inherited) and starts the memory
 * watch. Logs what it could not set. 0, or -errno when a limit could not
 * be set. */
int limits_apply(int index, uint64_t memory, uint64_t address_space, long files);
/* Async-signal-safe, for a fatal signal handler: writes "<2>mite: address
 * space limit of N MiB nearly reached (M MiB in use)\n" into buf and
 * returns its length when the address space is within a quarter of its
 * limit; else 0. */
size_t limits_fatal_note(char *buf, size_t len);

#endif
