/*
 * http_batch.h - a batch of requests in flight at once for one instance
 * (mite_http_batch): each carried by a lane, a session of its own that
 * borrows the instance session's settings and gives it its responses and
 * cookies; the instance parks once, until every request has ended.
 *
 * A lane runs one request at a time, hop by hop, from the loop's
 * callbacks (runner/http_call.h's hop_start and hop_end) rather than
 * parking. On an HTTP/2 session every request of the batch gets a lane
 * (they go as streams of one connection); over HTTP/1.1 the engine's
 * batch_conns lanes take the requests in turn, each on a connection of
 * its own. Lanes are made at a session's first batch and kept with it.
 */
#ifndef MITE_RUNNER_HTTP_BATCH_H
#define MITE_RUNNER_HTTP_BATCH_H

#include "runner/http_int.h"

/* Runs the n requests of reqs (req_size bytes apart) for the instance of
 * session s, parked until all have ended; failures recorded at
 * file:line:func. Returns as mite_http_batch. The caller checked n and
 * reqs. */
int http_batch_run(session *s, mite_http_req *reqs, size_t n, size_t req_size, const char *file,
		   int line, const char *func);
/* A lane's transfer ended (from the loop; runner/http_session.c). */
void http_batch_lane_done(session *lane);
/* Frees the lanes of s (an instance's session), stopping what they have
 * in flight. */
void http_batch_free_lanes(session *s);

#endif
