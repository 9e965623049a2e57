/*
 * har_plan.h - what a journey converted from a HAR recording does: which
 * entries become requests (hosts, static assets and types kept or
 * dropped), which redirect chains the session follows, the headers each
 * request sends, the status it expects, and how requests group into
 * transactions with think times between them. docs/har.md describes the
 * rules; har_emit.h writes the plan as C.
 */
#ifndef MITE_HAR_PLAN_H
#define MITE_HAR_PLAN_H

#include "har/har.h"

#include <stddef.h>
#include <stdio.h>

/* Options (mitectl har convert's). Patterns are fnmatch(3) globs,
 * compared without case. */
typedef struct har_opts {
	const char *base_host; /* NULL: the host of the first request */
	const char *const *keep_hosts; /* other hosts to keep ("*": all) */
	size_t nkeep_hosts;
	const char *const *drop_hosts; /* hosts to drop (wins over keep) */
	size_t ndrop_hosts;
	const char *const *drop_types; /* response types to drop ("image/ *", "text/css") */
	size_t ndrop_types;
	const char *const *drop_headers; /* request headers not to send */
	size_t ndrop_headers;
	int drop_static; /* drop images, fonts, style sheets, scripts, media */
	double gap; /* a pause longer than this starts a transaction */
} har_opts;

#define HAR_GAP_DEFAULT 2.0

/* Why an entry is not a request of the journey. */
typedef enum har_drop {
	HAR_DROP_SCHEME, /* not http(s): data:, blob:, ... */
	HAR_DROP_WEBSOCKET, /* a WebSocket (not converted) */
	HAR_DROP_NORESPONSE, /* status 0: failed, blocked or cancelled in the browser */
	HAR_DROP_CACHE, /* answered by the browser's cache */
	HAR_DROP_HOST, /* another host, not kept */
	HAR_DROP_TYPE, /* a response type dropped with --drop-type */
	HAR_DROP_STATIC, /* a static asset dropped with --drop-static */
	HAR_DROP_N
} har_drop;

/* One request of the journey. */
typedef struct har_step {
	const har_entry *e;
	const har_header **headers; /* to send with it (the common ones aside) */
	size_t nheaders;
	int add_type; /* also send "Content-Type: e->body_type" (none recorded) */
	int relative; /* e's origin is the base origin: the URL is e->target */
	int follow; /* 0: a recorded redirect whose next hop is not replayed,
			   * sent with MITE_HTTP_NO_REDIRECTS */
	size_t hops; /* recorded redirect hops the session follows */
	const har_entry *last; /* the last hop (e when there are none) */
	int expect; /* the status to check */
	int was_304; /* expect is 200 for a recorded 304 (no conditional
			   * headers are sent) */
} har_step;

typedef struct har_txn {
	char *name; /* unique, at most HAR_NAME_MAX bytes of UTF-8 */
	double think; /* seconds to sleep before it (recorded; 0: none) */
	size_t first, n; /* its steps */
} har_txn;

#define HAR_NAME_MAX 80

typedef struct har_plan {
	char *base_origin; /* "http://shop.test" */
	const char *base_host; /* borrowed from an entry */
	har_step *steps;
	size_t nsteps;
	har_txn *txns;
	size_t ntxns;
	const har_header **common; /* sent by every request: session defaults */
	size_t ncommon;
	size_t max_hops; /* the longest chain followed */
	size_t followed; /* recorded hops the session follows */
	size_t dropped[HAR_DROP_N];
	char *other_hosts; /* hosts dropped as another host, listed */
	double max_think;
	size_t warnings;
} har_plan;

/* Plans the journey of h. Warnings (a header that cannot be sent, ...)
 * go to warn as "PREFIX: FILE: log.entries[3]...: ..." lines (at most 20,
 * then a count) unless warn is NULL. Returns 0 (nsteps may be 0 when every
 * entry was dropped), -EINVAL with a message in err (a base host no
 * request goes to), or -ENOMEM. */
int har_plan_make(har_plan *p, const har *h, const har_opts *o, const char *file, FILE *warn,
		  char *err, size_t errlen);

void har_plan_free(har_plan *p);

/* What a drop reason is, for people ("to other hosts"). */
const char *har_plan_drop_name(har_drop d);

#endif
