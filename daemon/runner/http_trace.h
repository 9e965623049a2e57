/*
 * http_trace.h - what `mitectl ... --debug` and `--trace-http` show of a
 * session's requests: each hop's request (method, URL, the head as sent,
 * the start of its body), its response (status, head, the start of its
 * body) or transport error, its timings and the journey's file:line that
 * made it. Both clients feed it: the native one with the head it writes,
 * libcurl through its debug callback (CURLINFO_HEADER_OUT).
 *
 * Only a session its host marks (http_host.trace) keeps a trace, so a load
 * test pays one pointer test per hop. Everything shown is bounded (the
 * caps below, mitectl(1), DEBUGGING) and made safe to print: text is cut
 * between UTF-8 characters, malformed bytes become U+FFFD and control
 * bytes \xNN escapes.
 */
#ifndef MITE_RUNNER_HTTP_TRACE_H
#define MITE_RUNNER_HTTP_TRACE_H

#include "runner/http_int.h"

struct http_trace;

/* Sets up s's trace when its host asks for one (at session creation). */
void http_trace_init(session *s);
void http_trace_free(session *s);
/* A new iteration: the last exchange was the previous visitor's. */
void http_trace_reset(session *s);

/* A hop starts: h's request, made at file:line:func. */
void http_trace_hop_begin(session *s, const struct hop *h, const char *file, int line,
			  const char *func);
/* The request head as the native client wrote it (n bytes). */
void http_trace_req_head(session *s, const char *p, size_t n);
/* Around a libcurl transfer of s on handle h: its debug callback gets the
 * head it sends. */
void http_trace_curl_on(session *s, CURL *h);
void http_trace_curl_off(session *s, CURL *h);
/* The hop ended: with response r (rc 0), or failed (cls, why: the class
 * and message of a transport error; NULL for a cancelled or refused hop). */
void http_trace_hop_end(session *s, resp *r, int rc, const char *cls, const char *why);
/* A failure was found in response r (an expectation): its exchange is the
 * one --debug shows, not the last one made. */
void http_trace_focus(session *s, const mite_http_response *r);

/* The last exchange of s as JSON (a copy: the caller owns it), or NULL
 * when there is none this iteration (or s keeps no trace). */
cJSON *http_trace_last(session *s);

#endif
