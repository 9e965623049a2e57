/*
 * http1_req.h - the native client's request writer: the HTTP/1.1 request
 * head a hop sends (runner/http_nhop.c writes it, runner/h2.c turns it
 * into HTTP/2 fields), with the header lines libcurl would send for the
 * same request, and the request methods both clients know.
 *
 * Pure code, as runner/http1.h: no I/O, no allocation but the buffer's.
 */
#ifndef MITE_RUNNER_HTTP1_REQ_H
#define MITE_RUNNER_HTTP1_REQ_H

#include "runner/http1.h"
#include <mite/mite.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_USER_AGENT "mite/" MITE_SDK_VERSION
/* The longest method token, NUL included. */
#define HTTP_MAX_METHOD 24

/* The known methods, NULL-terminated: GET, POST, PUT, PATCH, DELETE,
 * HEAD, OPTIONS. Interned methods are compared by pointer. */
extern const char *const http1_req_methods[];
#define M_GET http1_req_methods[0]
#define M_POST http1_req_methods[1]
#define M_PUT http1_req_methods[2]
#define M_PATCH http1_req_methods[3]
#define M_HEAD http1_req_methods[5]

/* Whether m is one of http1_req_methods (by pointer). */
int http1_req_method_known(const char *m);
/* Interns a method: one of the known ones, or a copy in buf (at least
 * HTTP_MAX_METHOD bytes) of a valid token. NULL when it is not a token. */
const char *http1_req_method_intern(const char *m, char *buf);

/* The length of a header line's name: up to its ':' or ';'. */
size_t http1_req_name_len(const char *line);

/* What a request head says. */
typedef struct http1_req {
	const char *method; /* interned */
	const http1_url *u;
	const char *const *hv; /* header lines: "Name: value"; "Name:" sends
				   * nothing and drops a built-in header of that
				   * name, "Name;" sends it empty */
	size_t nh;
	const char *cookie; /* the Cookie header's value, or NULL */
	int has_body, json; /* json: its Content-Type is JSON's */
	uint64_t body_len;
} http1_req;

/* Writes q's head into b (replacing what b held): the request line, Host,
 * User-Agent, Accept and Cookie unless a line names them, the lines, and
 * for a body its Content-Type and Content-Length unless named. 0, or -1
 * on ENOMEM. */
int http1_req_head(http1_buf *b, const http1_req *q);

#endif
