/*
 * testmode_debug.h - the test modes' debugging aids (mitectl(1),
 * DEBUGGING): --debug prints a failure with the journey's file:line, the
 * datapool row and the instance's last HTTP exchange; --trace-http prints
 * every exchange of one instance; --gdb runs the command under gdb with a
 * breakpoint on the journey. The runner puts the details into its events
 * (runner/debug.h, runner/http_trace.h); this file prints them.
 */
#ifndef MITE_TESTMODE_DEBUG_H
#define MITE_TESTMODE_DEBUG_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

/* Prints failure number n: an error event that carries "debug". */
void testmode_debug_failure(FILE *f, const cJSON *ev, unsigned n);
/* Prints an http_trace event of instance `instance`. */
void testmode_debug_trace(FILE *f, const cJSON *ev, uint64_t instance);

/* Non-zero when a debugger (ptrace) is attached to this process: a
 * journey may then stand still at a breakpoint for any time. */
int testmode_debug_traced(void);

/* Runs `mitectl WORD ARGV...` (without --gdb) under gdb, with a pending
 * breakpoint on each of symbols (NULL-terminated) and `run`. Returns only
 * when gdb cannot be run: an exit status, the reason said. */
int testmode_debug_gdb(const char *word, int argc, char **argv, const char *const *symbols);

#endif
