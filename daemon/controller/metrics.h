/*
 * metrics.h - the Prometheus endpoint of mited: GET /metrics in the text
 * exposition format (version 0.0.4).
 *
 * Two halves that share nothing but a buffer:
 *
 *  - metrics_render (loop thread) turns the runs' merged stats into the
 *    exposition text: the original mite's series, names and labels
 *    (mite_transaction_total, mite_journey_error_total,
 *    mite_http_response_total, mite_http_response_time_seconds,
 *    mite_required_count, mite_actual_count, mite_runner_count), each with
 *    an extra `run` label so that two runs of one test never collide, plus
 *    what the original lacked: transaction and HTTP phase histograms,
 *    bytes, scheduling lag, runner health, dropped events, thresholds.
 *    Histogram buckets are fixed Prometheus buckets counted exactly from
 *    the HDR histograms (hist_count_le).
 *
 *  - the server (libmicrohttpd, on its own thread) serves the latest text
 *    handed over with metrics_publish, under a mutex. It never looks at a
 *    run. Connections time out, requests are size-limited, and anything but
 *    GET or HEAD of / or /metrics gets an error status.
 */
#ifndef MITE_CONTROLLER_METRICS_H
#define MITE_CONTROLLER_METRICS_H

#include "controller/results.h"
#include "controller/run.h"

#include <stddef.h>
#include <sys/socket.h>

#define METRICS_DEFAULT_PORT 9301
#define METRICS_CONNECTION_TIMEOUT 10 /* seconds a client may stay idle */
/* Seconds a connection may go without an answer, from its start or its
 * last answer, however it trickles bytes in. */
#define METRICS_REQUEST_DEADLINE 30

typedef struct metrics metrics;

/* "ADDR:PORT" into an address: ADDR an IPv4 literal, an IPv6 literal in
 * brackets, "localhost" or nothing (both 127.0.0.1); PORT 0 (any free one)
 * to 65535. 0, or -EINVAL with the reason in err. */
int metrics_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *err,
			 size_t errlen);
/* Starts serving on listen (see metrics_parse_listen); a client idle for
 * timeout seconds (0: METRICS_CONNECTION_TIMEOUT), or without an answer for
 * deadline seconds since it connected or got its last answer (0:
 * METRICS_REQUEST_DEADLINE), is disconnected. NULL with a reason in err
 * (bad address, cannot bind). */
metrics *metrics_new(const char *listen, unsigned timeout, unsigned deadline, char *err,
		     size_t errlen);
/* The port bound (useful after ":0"). */
int metrics_port(const metrics *m);
/* Hands over the text to serve from now on (malloc'd; m takes it). */
void metrics_publish(metrics *m, char *text, size_t len);
/* Stops the server (waiting for its thread) and frees m. */
void metrics_free(metrics *m);

/* What the renderer needs to know of a run. */
typedef struct metrics_run {
	const run *r;
	const results *res; /* its results, or NULL */
	int runners_wanted; /* 0: unknown */
	int restarts;
} metrics_run;

/* The exposition text of these runs (malloc'd, *len its length), or NULL
 * on ENOMEM. */
char *metrics_render(const metrics_run *runs, size_t n, size_t *len);

#endif
