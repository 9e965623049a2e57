/*
 * runner_stderr.h - what a runner process writes on stderr: logged with
 * its run's and runner's names under runner_stderr (mited.conf(5)), and
 * read for what it says about its own death; and that death described.
 * Private to rproc.c.
 */
#ifndef MITE_MITED_RUNNER_STDERR_H
#define MITE_MITED_RUNNER_STDERR_H

#include "mited/rproc_int.h"

#include <stddef.h>

/* n bytes read from p's stderr, cut into lines (of at most
 * STDERR_LINE_MAX - 1 bytes; a longer one is cut in pieces). */
void runner_stderr_feed(rproc *p, const char *buf, size_t n);
/* At EOF: the last line, if it had no newline. */
void runner_stderr_flush(rproc *p);
/* Says how much runner_stderr dropped: every LOGLIMIT_REPORT_MS while the
 * runner floods, and once more with final. */
void runner_stderr_report(rproc *p, int final);
/* How p died (rproc_death): a signal, a kill on request (the watchdog),
 * its memory or address space limit, an exit; journey (" in journey 'x'",
 * or "") where the journey it was in goes. */
void runner_stderr_death(const rproc *p, const char *journey, char *reason, size_t len);

#endif
