/*
 * proto_msg.h - the typed codec of the runner protocol's busiest messages
 * (docs/runner-protocol.md): targets and rows (controller -> runner) and
 * stats (runner -> controller). Each field is named and read in one place
 * here; the bytes on the wire are those the protocol has always had.
 */
#ifndef MITE_CORE_PROTO_MSG_H
#define MITE_CORE_PROTO_MSG_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* ---- targets: "j" [{"c": N} | {"s": N} | {}], "end_in" s ---------------- */

typedef struct proto_target {
	double closed; /* "c": instances to run (closed model); < 0: none */
	double starts; /* "s": starts to make over the next tick (open model); < 0: none */
} proto_target;

typedef struct proto_targets {
	proto_target *j; /* one per journey */
	size_t nj;
	size_t given; /* decoded: how many journeys the message spoke of (at most nj) */
	int has_end_in;
	double end_in; /* seconds left of a run with a duration */
} proto_targets;

/* A targets message of t, or NULL on ENOMEM. */
cJSON *proto_targets_encode(const proto_targets *t);
/* Reads m into t->j[0 .. t->nj) (more journeys in m are ignored, fewer
 * leave the rest as none); a "c" below 0 or an "s" below 1 (nothing to
 * start) reads as none.
 * 0, or -EPROTO when "j" is not an array. */
int proto_targets_decode(const cJSON *m, proto_targets *t);

/* ---- rows: "rows" [[id, "v0", "v1", ...], ...], "j" index, "end" -------- */

/* A rows message for journey j with no rows yet, or NULL on ENOMEM. */
cJSON *proto_rows_new(size_t j);
/* Adds row id with its n values. The bytes of the values, or -ENOMEM. */
long proto_rows_add(cJSON *m, uint64_t id, char *const *vals, size_t n);
/* Marks the pool exhausted ("end": true). */
void proto_rows_end(cJSON *m);

typedef struct proto_rows {
	size_t j; /* the journey */
	const cJSON *rows; /* its rows: proto_row_decode each */
	int end; /* the pool is exhausted */
} proto_rows;

/* Reads the header of a rows message for one of nj journeys. 0, or -EPROTO
 * when "j" is not a journey index. */
int proto_rows_decode(const cJSON *m, size_t nj, proto_rows *out);
/* One row: its id and up to max values (pointers into the message) in vals,
 * their count in *n. 0, or -EPROTO with the reason in err (no id, a value
 * that is not a string, more than max values). */
int proto_row_decode(const cJSON *row, uint64_t *id, const char **vals, size_t max, size_t *n,
		     char *err, size_t errlen);

/* ---- stats: "e", "active", "peak", "ev", "dropped", "why", "final",
 * "journey" ------------------------------------------------------------- */

typedef struct proto_stats_out {
	cJSON *batch; /* "e": a stats batch (taken), or NULL */
	const long *active; /* per journey: instances running or about to start */
	const long *peak; /* per journey: the most since the last batch */
	const char *const *why; /* per journey: why it is short, or NULL */
	size_t nj;
	cJSON *events; /* "ev": an array of events (taken), or NULL */
	uint64_t dropped; /* events dropped (0: not said) */
	int final;
	const char *journey; /* the journey whose code ran last, or NULL */
} proto_stats_out;

/* A stats message of s (which gives up batch and events either way), or
 * NULL on ENOMEM. */
cJSON *proto_stats_encode(const proto_stats_out *s);

typedef struct proto_stats_in {
	const cJSON *batch; /* "e", or NULL */
	const cJSON *events; /* "ev", or NULL */
	const cJSON *why; /* "why", or NULL */
	uint64_t dropped; /* 0 when absent or not a count */
	int final;
} proto_stats_in;

/* Reads m: active[] and peak[] (nj each) get the counts from 0 to max
 * given, -1 where none or another value is. */
void proto_stats_decode(const cJSON *m, size_t nj, long max, long *active, long *peak,
			proto_stats_in *in);

#endif
