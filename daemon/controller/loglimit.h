/*
 * loglimit.h - a rate limit on lines going into the daemon's log: a token
 * bucket of lines and one of bytes, each refilled at its rate per second
 * and holding at most `burst` seconds' worth. What does not fit is dropped
 * and counted, and the count comes back for a periodic report line.
 *
 * mited gives each runner's stderr one (runner_stderr in mited.conf(5)): a
 * journey printing in a loop must not fill the disk under journald.
 */
#ifndef MITE_CONTROLLER_LOGLIMIT_H
#define MITE_CONTROLLER_LOGLIMIT_H

#include <stddef.h>
#include <stdint.h>

#define LOGLIMIT_LINES_DEFAULT 100.0 /* lines per second */
#define LOGLIMIT_BYTES_DEFAULT (64.0 * 1024) /* bytes per second */
#define LOGLIMIT_BURST_DEFAULT 5.0 /* seconds' worth at once */
#define LOGLIMIT_REPORT_MS 10000 /* between reports of drops */

typedef struct loglimit_conf {
	double lines_per_s; /* > 0 */
	double bytes_per_s; /* > 0 */
	double burst_s; /* >= 1 */
} loglimit_conf;

typedef struct loglimit {
	double lines, bytes; /* tokens left */
	uint64_t last_ms; /* when they were last refilled */
	uint64_t dropped_lines, dropped_bytes; /* since the last report */
	uint64_t since_ms; /* when the first of those was dropped */
} loglimit;

void loglimit_conf_defaults(loglimit_conf *c);
/* A full bucket at now_ms. */
void loglimit_init(loglimit *l, const loglimit_conf *c, uint64_t now_ms);
/* 1 when a line of len bytes may be logged (its tokens are taken), 0 when
 * it is dropped (and counted). */
int loglimit_take(loglimit *l, const loglimit_conf *c, size_t len, uint64_t now_ms);
/* 1 with the drops since the last report in *lines, *bytes (and the
 * seconds they span in *secs) when there are any and either
 * LOGLIMIT_REPORT_MS have passed since the first or final is set; they
 * are then reset. 0 otherwise. */
int loglimit_report(loglimit *l, uint64_t now_ms, int final, uint64_t *lines, uint64_t *bytes,
		    double *secs);

#endif
