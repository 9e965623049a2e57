/*
 * stats.h - counters and latency histograms keyed by (kind, labels).
 *
 * Runners record into a table and ship its deltas every second (then
 * reset); the controller merges batches exactly into its own tables:
 * counters add, histograms add bucket by bucket.
 *
 * The kinds, their labels, counters and histograms:
 *
 *   kind      labels                                   c[]                          h[]
 *   txn       journey, transaction                     ok, failed, cancelled        latency
 *   journey   journey                                  started, ok, failed,         duration
 *                                                      cancelled
 *   error     journey, transaction, location, message  count
 *   http      journey, transaction, method, status     count, bytes_out, bytes_in   total, dns, connect, tls, ttfb
 *   httperr   journey, transaction, method, class      count
 *   lag       journey                                  count                        scheduling lag
 *   send      journey, type                            count
 *   loop      runner (its index)                                                    loop lag (runner_stats.c's probe)
 *   lost      journey                                  count (controller only: iterations in flight on a
 *                                                      runner that was lost or dropped)
 *   doubt     journey                                  count (controller only: rows of an iterable pool
 *                                                      such a runner was given and did not report run)
 *   ws        journey, transaction, name               msgs_out, bytes_out,         connect, rtt, ping
 *                                                      msgs_in, bytes_in
 *   wserr     journey, transaction, name, class        count
 *
 * A cancelled transaction or iteration (a parked call returned
 * MITE_ECANCELED) is counted as failed too: `cancelled` says how many of
 * the failed ones were cancelled. Lost iterations are counted as failed
 * journey iterations by the controller.
 *
 * (ws: name is the connection's, or a mark's for rtt; bytes are payload
 * bytes; connect is DNS, TCP and the Upgrade handshake.)
 */
#ifndef MITE_CORE_STATS_H
#define MITE_CORE_STATS_H

#include "hist.h"
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define STATS_MAX_LABELS 5
/* Bytes of one label merged from a batch (a runner's, which journey code
 * can fill with anything): a longer one is cut, between characters, to fit
 * with a trailing STATS_CUT_MARK, and counted in stats.labels_cut. The SDK
 * keeps its own names under this (transaction names and error messages are
 * at most 1023 bytes). */
#define STATS_LABEL_MAX 1024
#define STATS_CUT_MARK "\xe2\x80\xa6" /* U+2026 HORIZONTAL ELLIPSIS */
/* Bytes of a kind: the kinds above are short; a batch with a longer one is
 * malformed. */
#define STATS_KIND_MAX 32
#define STATS_NCOUNTERS 4
#define STATS_NHISTS 5

enum { ST_TXN_OK = 0, ST_TXN_FAILED = 1, ST_TXN_CANCELLED = 2 };
enum { ST_J_STARTED = 0, ST_J_OK = 1, ST_J_FAILED = 2, ST_J_CANCELLED = 3 };
enum { ST_HTTP_COUNT = 0, ST_HTTP_BYTES_OUT = 1, ST_HTTP_BYTES_IN = 2 };
enum { ST_H_TOTAL = 0, ST_H_DNS = 1, ST_H_CONNECT = 2, ST_H_TLS = 3, ST_H_TTFB = 4 };
enum { ST_WS_MSGS_OUT = 0, ST_WS_BYTES_OUT = 1, ST_WS_MSGS_IN = 2, ST_WS_BYTES_IN = 3 };
enum { ST_WS_H_CONNECT = 0, ST_WS_H_RTT = 1, ST_WS_H_PING = 2 };

/* The schema: each kind by its name and label count, defined once in
 * stats.c (the table above says what they hold). */
typedef struct stats_kind {
	const char *name;
	size_t nlabels;
} stats_kind;
extern const stats_kind SK_TXN, SK_JOURNEY, SK_ERROR, SK_HTTP, SK_HTTPERR, SK_LAG, SK_SEND, SK_LOOP,
	SK_LOST, SK_DOUBT, SK_SKIPPED, SK_DROPPED, SK_WS, SK_WSERR;

/* Label positions. */
enum { SL_JOURNEY = 0, SL_TRANSACTION = 1 }; /* txn, error, http, httperr, send: journey */
enum { SL_METHOD = 2, SL_STATUS = 3, SL_CLASS = 3 }; /* http: status; httperr: class */
enum { SL_LOCATION = 2, SL_MESSAGE = 3 }; /* error */
enum { SL_TYPE = 1 }; /* send */
enum { SL_NAME = 2, SL_WS_CLASS = 3 }; /* ws, wserr: name; wserr: class */
enum { SL_RUNNER = 0 }; /* loop */

/* The names of the h[] of http entries, as users write and read them
 * ("total", "dns", "connect", "tls", "ttfb"), NULL-terminated. */
extern const char *const stats_phase_names[STATS_NHISTS + 1];

typedef struct stats_entry {
	char *kind;
	char *labels[STATS_MAX_LABELS];
	size_t nlabels;
	uint64_t c[STATS_NCOUNTERS];
	hist *h[STATS_NHISTS]; /* created on first use */
	/* private */
	uint64_t hash;
	struct stats_entry *next; /* hash chain */
	struct stats_entry *order; /* insertion order */
	int dirty;
} stats_entry;

typedef struct stats {
	stats_entry **buckets;
	size_t nbuckets, n;
	stats_entry *first, *last; /* insertion order */
	uint64_t labels_cut; /* labels merged from batches that were cut to STATS_LABEL_MAX */
} stats;

/* Whether e is of kind k (its name and label count). */
int stats_kind_is(const stats_entry *e, const stats_kind *k);

void stats_init(stats *s);
void stats_free(stats *s);

/* The entry for (kind, labels), created empty on first use; NULL on ENOMEM.
 * The pointer stays valid until stats_free (entries are never removed), so
 * hot paths may cache it. Marks the entry dirty. */
stats_entry *stats_get(stats *s, const char *kind, const char *const *labels, size_t nlabels);
/* The entry if it exists, else NULL; does not mark it dirty. */
stats_entry *stats_find(const stats *s, const char *kind, const char *const *labels,
			size_t nlabels);

/* Adds n to counter i of e. */
static inline void stats_add(stats_entry *e, int i, uint64_t n)
{
	e->c[i] += n;
	e->dirty = 1;
}
/* Records ns into histogram i of e (creating it). 0 or -ENOMEM. */
int stats_record(stats_entry *e, int i, uint64_t ns);

/* Encodes every dirty entry as a JSON array of
 * {"k":[kind,labels...],"c":[...],"h":[hist|null,...]} and, when reset is
 * set, zeroes them and clears their dirty marks. NULL on ENOMEM. */
cJSON *stats_batch(stats *s, int reset);
/* Merges a batch made by stats_batch into s. 0, or -EINVAL for a malformed
 * batch (entries before the bad one stay merged). */
int stats_merge_batch(stats *s, const cJSON *batch);
/* Merges every entry of src into dst. 0 or -ENOMEM. */
int stats_merge(stats *dst, const stats *src);

#endif
