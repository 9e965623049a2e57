/*
 * har.h - a browser's HAR recording (HTTP Archive 1.2), read into what
 * `mitectl har convert` needs: pages, and per entry the request (method,
 * URL split and normalised, headers, body bytes), the recorded status,
 * redirect target, response type and times. See docs/har.md.
 *
 * Everything read from the file is bounded by the HAR_MAX_* limits below;
 * a value over one is refused with a message naming the field, the value
 * and the limit. Errors read "FILE: log.entries[12].request.url: missing".
 */
#ifndef MITE_HAR_H
#define MITE_HAR_H

#include <stddef.h>

/* The limits of what is read from a HAR file (docs/har.md, mitectl(1)). */
#define HAR_MAX_FILE (256u << 20) /* bytes of the file */
#define HAR_MAX_ENTRIES 100000 /* log.entries */
#define HAR_MAX_PAGES 10000 /* log.pages */
#define HAR_MAX_URL 16384 /* a URL or a redirect target, as recorded */
#define HAR_MAX_METHOD 32 /* a request method */
#define HAR_MAX_HEADERS 500 /* headers of one request */
#define HAR_MAX_HEADER_NAME 256 /* a header's name */
#define HAR_MAX_HEADER_VALUE 16384 /* a header's value */
#define HAR_MAX_BODY (1u << 20) /* a request body, decoded */
#define HAR_MAX_PARAMS 10000 /* postData.params of one request */
#define HAR_MAX_STR 4096 /* any other string read (titles, ids, types, dates) */

typedef struct har_header {
	char *name;
	char *value;
} har_header;

/* What an entry is, as far as the converter cares. */
typedef enum har_kind {
	HAR_HTTP, /* an http:// or https:// request */
	HAR_OTHER, /* another scheme (data:, blob:, chrome-extension:, ...) */
	HAR_WEBSOCKET, /* ws://, wss://, or a 101 upgrade */
} har_kind;

typedef struct har_entry {
	size_t index; /* in log.entries, for messages */
	har_kind kind;
	char *method; /* a token, as recorded */
	char *url; /* as recorded */
	/* HAR_HTTP only: the URL split and normalised */
	char *origin; /* "http://host:8080", lowercased, without a default port */
	char *host; /* "host", without the port */
	char *target; /* "/path?query": no fragment, bytes outside printable
			     * ASCII and a few unsafe ones percent-encoded */
	har_header *headers;
	size_t nheaders;
	unsigned char *body; /* NULL when there is none */
	size_t body_len;
	char *body_type; /* postData.mimeType, or NULL */
	int status; /* 0: no response (failed, blocked, cancelled) */
	char *location; /* the redirect target, absolute and normalised
			     * (origin + target), or NULL */
	char *resp_type; /* response.content.mimeType, or NULL */
	double start; /* startedDateTime, seconds since the epoch */
	double time; /* seconds the entry took (0 when the HAR says < 0) */
	int page; /* index in pages, or -1 */
	int from_cache; /* the browser answered it from its cache */
} har_entry;

typedef struct har_page {
	char *id;
	char *title;
} har_page;

typedef struct har {
	char *creator; /* "Firefox 126.0", or NULL */
	har_page *pages;
	size_t npages;
	har_entry *entries; /* in the order of their start (ties: file order) */
	size_t nentries;
} har;

/* Reads the HAR file at path into h. Returns 0, or a negative errno with
 * a one-line message naming the file (and the field) in err. */
int har_load(har *h, const char *path, char *err, size_t errlen);

/* The same from memory; name is what messages call the file. */
int har_parse(har *h, const char *name, const char *data, size_t len, char *err, size_t errlen);

/* Frees what h holds (h itself is the caller's); h may be zeroed or half
 * filled. */
void har_free(har *h);

#endif
