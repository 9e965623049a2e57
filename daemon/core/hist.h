/*
 * hist.h - log-linear (HDR-style) latency histograms.
 *
 * Values are nanoseconds. Relative error is at most 1 % from 1 us to 100 s
 * (0.78 %: 64 linear sub-buckets per power of two); values below 128 ns
 * are exact, values above 2^37 ns (137 s) are clamped into the last bucket,
 * and count, min, max and sum stay exact whatever the value (the sum
 * saturates at UINT64_MAX rather than wrap). Memory per histogram is
 * constant (16 KiB). Two histograms merge by adding bucket
 * counts, so percentiles of merged data are exact to the bucket: never
 * average percentiles, merge histograms.
 */
#ifndef MITE_CORE_HIST_H
#define MITE_CORE_HIST_H

#include <cjson/cJSON.h>
#include <stdint.h>

typedef struct hist hist;

/* A new empty histogram, or NULL. */
hist *hist_new(void);
void hist_free(hist *h);
void hist_reset(hist *h);

/* Records one value (ns). Constant time, no allocation: the hot path. */
void hist_record(hist *h, uint64_t ns);
/* Records n occurrences of a value. */
void hist_record_n(hist *h, uint64_t ns, uint64_t n);
/* dst += src. */
void hist_merge(hist *dst, const hist *src);

uint64_t hist_count(const hist *h);
uint64_t hist_min(const hist *h); /* 0 when empty */
uint64_t hist_max(const hist *h); /* 0 when empty */
double hist_mean(const hist *h); /* 0 when empty */
/* The value at percentile p (0..100): the representative value of the
 * bucket holding the ceil(p/100*count)-th smallest value, clamped to
 * [min, max]. 0 when empty. */
uint64_t hist_percentile(const hist *h, double p);
/* How many recorded values are <= ns (to the bucket's resolution): for
 * Prometheus' cumulative buckets. */
uint64_t hist_count_le(const hist *h, uint64_t ns);
/* The sum of the recorded values above ns (to the bucket's resolution:
 * values in ns's own bucket are not counted), saturating: e.g. the time
 * spent in loop turns longer than a bound. */
uint64_t hist_sum_above(const hist *h, uint64_t ns);

/* Sparse JSON for the runner protocol and results:
 * {"n":count,"sum":ns,"min":ns,"max":ns,"b":[index,count,index,count,...]}
 * (only non-empty buckets, indexes increasing; min and max are 0 when
 * empty). JSON numbers are doubles: counts and values are exact up to 2^53
 * (104 days in ns), larger ones are rounded. The bucket index depends on
 * the layout in hist.c, so the layout is part of the runner protocol. The
 * caller owns the result. NULL on allocation failure. */
cJSON *hist_to_json(const hist *h);
/* Adds the histogram encoded in j into h. 0, or -EINVAL for a malformed
 * encoding (h unchanged then): wrong types, fractions or negative numbers,
 * an index out of range or not increasing, a zero count, counts that do
 * not add up to n, min or max outside the lowest or highest bucket. Unknown
 * keys are ignored. */
int hist_merge_json(hist *h, const cJSON *j);

#endif
