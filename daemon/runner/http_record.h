/*
 * http_record.h - what a hop leaves in the run's statistics (kind http:
 * journey, transaction, method, status; counts, bytes and phase times)
 * and, when the run asks for them, its http_metrics event.
 */
#ifndef MITE_RUNNER_HTTP_RECORD_H
#define MITE_RUNNER_HTTP_RECORD_H

#include "runner/http_int.h"

/* Records r, the response of hop number `hop` (0: the first). */
void http_record_hop(session *s, const resp *r, int hop);

#endif
