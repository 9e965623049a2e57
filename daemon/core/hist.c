/*
 * hist.c - log-linear (HDR-style) latency histograms.
 *
 * Layout. Every power-of-two range [2^e, 2^(e+1)) is cut into
 * HIST_SUB = 2^HIST_SUB_BITS equal buckets, and the values below
 * 2 * HIST_SUB have one bucket each (they are exact). With shift = the
 * number of low bits a value's bucket ignores, the index is
 *
 *     shift = max(0, floor(log2 v) - HIST_SUB_BITS)
 *     index = shift * HIST_SUB + (v >> shift)
 *
 * which one __builtin_clzll gives without a branch or a floating point
 * log. A bucket is [lower, lower + 2^shift) with lower >= HIST_SUB << shift,
 * so reporting its midpoint is off by at most 2^(shift-1) / (HIST_SUB <<
 * shift) = 1 / (2 * HIST_SUB) of the value: 0.78 % with 64 sub-buckets.
 *
 * The top bucket holds [2^37 - 2^30, 2^37) ns, 136.4 to 137.4 s, and
 * everything above (clamped). 2048 buckets of 8 bytes: 16 KiB per
 * histogram. HIST_SUB_BITS 7 would halve the error (0.39 %) for 31 KiB.
 * The bucket index is part of the wire encoding: changing the layout is a
 * runner-protocol change.
 */
#include "hist.h"
#include "proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
/* The largest value with a bucket of its own: 2^37 - 1 ns (137 s). */
#define HIST_TOP_BITS 37
#define HIST_TOP ((UINT64_C(1) << HIST_TOP_BITS) - 1)
#define HIST_NBUCKETS ((HIST_TOP_BITS - HIST_SUB_BITS + 1) * HIST_SUB)

/* 2^64 as a double: JSON numbers at or above it cannot be a uint64_t. */

struct hist {
	uint64_t count;
	uint64_t sum; /* saturates at UINT64_MAX instead of wrapping */
	uint64_t min; /* UINT64_MAX while empty */
	uint64_t max;
	uint64_t b[HIST_NBUCKETS];
};

_Static_assert(HIST_NBUCKETS == 2048, "bucket layout changed: update the wire format notes");

static inline unsigned bucket_of(uint64_t v)
{
	unsigned shift;

	if (v > HIST_TOP)
		v = HIST_TOP;
	/* OR-ing in HIST_SUB makes the top bit at least HIST_SUB_BITS, so
	 * small values get shift 0 and clzll never sees 0. */
	shift = (unsigned)(63 - __builtin_clzll(v | HIST_SUB)) - HIST_SUB_BITS;
	return (shift << HIST_SUB_BITS) + (unsigned)(v >> shift);
}

static uint64_t bucket_lower(unsigned i)
{
	unsigned shift;

	if (i < 2 * HIST_SUB)
		return i;
	shift = (i >> HIST_SUB_BITS) - 1;
	return (uint64_t)(i - (shift << HIST_SUB_BITS)) << shift;
}

/* The value a bucket stands for: the midpoint of the integers it holds. */
static uint64_t bucket_value(unsigned i)
{
	uint64_t width = i < 2 * HIST_SUB ? 1 : UINT64_C(1) << ((i >> HIST_SUB_BITS) - 1);

	return bucket_lower(i) + (width - 1) / 2;
}

static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

hist *hist_new(void)
{
	hist *h = malloc(sizeof(*h));

	if (h)
		hist_reset(h);
	return h;
}

void hist_free(hist *h)
{
	free(h);
}

void hist_reset(hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void hist_record(hist *h, uint64_t ns)
{
	h->b[bucket_of(ns)]++;
	h->count++;
	h->sum = sat_add(h->sum, ns);
	if (ns < h->min)
		h->min = ns;
	if (ns > h->max)
		h->max = ns;
}

void hist_record_n(hist *h, uint64_t ns, uint64_t n)
{
	uint64_t total;

	/* Zero occurrences must not move min and max: merge_json checks that
	 * they fall in the lowest and highest non-empty buckets. */
	if (!n)
		return;
	h->b[bucket_of(ns)] += n;
	h->count += n;
	if (__builtin_mul_overflow(ns, n, &total))
		total = UINT64_MAX;
	h->sum = sat_add(h->sum, total);
	if (ns < h->min)
		h->min = ns;
	if (ns > h->max)
		h->max = ns;
}

void hist_merge(hist *dst, const hist *src)
{
	if (!src->count)
		return;
	for (unsigned i = 0; i < HIST_NBUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum = sat_add(dst->sum, src->sum);
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t hist_count(const hist *h)
{
	return h->count;
}
uint64_t hist_min(const hist *h)
{
	return h->count ? h->min : 0;
}
uint64_t hist_max(const hist *h)
{
	return h->count ? h->max : 0;
}

double hist_mean(const hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0;
}

uint64_t hist_percentile(const hist *h, double p)
{
	uint64_t rank, cum = 0, v;
	double x;
	unsigned i;

	if (!h->count)
		return 0;
	/* The ends are known exactly; !(p > 0) also catches NaN. */
	if (!(p > 0))
		return h->min;
	if (p >= 100)
		return h->max;
	/* ceil(p/100 * count), shaved by a relative 1e-12 so that binary
	 * rounding (99.9 / 100 * 1000 = 999.0000000000001) does not push the
	 * rank to the next value. */
	x = p / 100.0 * (double)h->count;
	x -= x * 1e-12;
	rank = (uint64_t)x;
	if ((double)rank < x)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (i = 0; i < HIST_NBUCKETS - 1; i++) {
		cum += h->b[i];
		if (cum >= rank)
			break;
	}
	v = bucket_value(i);
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}

uint64_t hist_sum_above(const hist *h, uint64_t ns)
{
	uint64_t sum = 0;

	if (!h->count || ns >= h->max)
		return 0;
	for (unsigned i = bucket_of(ns) + 1; i < HIST_NBUCKETS; i++) {
		uint64_t part;

		if (!h->b[i])
			continue;
		if (__builtin_mul_overflow(h->b[i], bucket_value(i), &part))
			part = UINT64_MAX;
		sum = sat_add(sum, part);
	}
	return sum;
}

uint64_t hist_count_le(const hist *h, uint64_t ns)
{
	uint64_t cum = 0;
	unsigned top;

	/* Outside [min, max] the answer is exact whatever the buckets say. */
	if (!h->count || ns < h->min)
		return 0;
	if (ns >= h->max)
		return h->count;
	top = bucket_of(ns);
	for (unsigned i = 0; i <= top; i++)
		cum += h->b[i];
	return cum;
}

cJSON *hist_to_json(const hist *h)
{
	cJSON *o, *b, *n;

	if (!(o = cJSON_CreateObject()))
		goto fail;
	if (!cJSON_AddNumberToObject(o, "n", (double)h->count) ||
	    !cJSON_AddNumberToObject(o, "sum", (double)h->sum) ||
	    !cJSON_AddNumberToObject(o, "min", (double)hist_min(h)) ||
	    !cJSON_AddNumberToObject(o, "max", (double)hist_max(h)))
		goto fail_o;
	if (!(b = cJSON_AddArrayToObject(o, "b")))
		goto fail_o;
	for (unsigned i = 0; i < HIST_NBUCKETS; i++) {
		if (!h->b[i])
			continue;
		if (!(n = cJSON_CreateNumber(i)))
			goto fail_o;
		cJSON_AddItemToArray(b, n);
		if (!(n = cJSON_CreateNumber((double)h->b[i])))
			goto fail_o;
		cJSON_AddItemToArray(b, n);
	}
	return o;

fail_o:
	cJSON_Delete(o);
fail:
	return NULL;
}

/* The decoded scalar fields of an encoding. */
struct hist_wire {
	uint64_t n, sum, min, max;
	const cJSON *b;
};

/* Checks everything before anything is added, so that a bad encoding
 * leaves the histogram as it was. Besides the types and ranges, the
 * encoding must be what hist_to_json makes: bucket indexes strictly
 * increasing, counts positive and adding up to n, min and max in the
 * lowest and highest buckets. A batch that breaks these would make later
 * percentiles wrong without anyone noticing. */
static int wire_check(const cJSON *j, struct hist_wire *w)
{
	const cJSON *it;
	uint64_t idx, cnt, total = 0;
	long last = -1;
	unsigned first_idx = 0;

	if (!cJSON_IsObject(j))
		return -EINVAL;
	if (proto_u64(cJSON_GetObjectItemCaseSensitive(j, "n"), &w->n) < 0 ||
	    proto_u64(cJSON_GetObjectItemCaseSensitive(j, "sum"), &w->sum) < 0 ||
	    proto_u64(cJSON_GetObjectItemCaseSensitive(j, "min"), &w->min) < 0 ||
	    proto_u64(cJSON_GetObjectItemCaseSensitive(j, "max"), &w->max) < 0)
		return -EINVAL;
	w->b = cJSON_GetObjectItemCaseSensitive(j, "b");
	if (!cJSON_IsArray(w->b))
		return -EINVAL;
	for (it = w->b->child; it; it = it->next->next) {
		if (!it->next)
			return -EINVAL; /* odd length */
		if (proto_u64(it, &idx) < 0 || idx >= HIST_NBUCKETS || (long)idx <= last)
			return -EINVAL;
		if (proto_u64(it->next, &cnt) < 0 || cnt == 0)
			return -EINVAL;
		if (__builtin_add_overflow(total, cnt, &total))
			return -EINVAL;
		if (last < 0)
			first_idx = (unsigned)idx;
		last = (long)idx;
	}
	if (total != w->n)
		return -EINVAL;
	if (!w->n)
		return w->sum || w->min || w->max ? -EINVAL : 0;
	if (w->min > w->max || bucket_of(w->min) != first_idx || (long)bucket_of(w->max) != last)
		return -EINVAL;
	return 0;
}

int hist_merge_json(hist *h, const cJSON *j)
{
	struct hist_wire w;
	const cJSON *it;
	uint64_t idx = 0, cnt = 0;
	int rc;

	if ((rc = wire_check(j, &w)) < 0)
		return rc;
	if (!w.n)
		return 0;
	/* wire_check has vetted every pair: the conversions cannot fail. */
	for (it = w.b->child; it; it = it->next->next) {
		proto_u64(it, &idx);
		proto_u64(it->next, &cnt);
		h->b[idx] += cnt;
	}
	h->count += w.n;
	h->sum = sat_add(h->sum, w.sum);
	if (w.min < h->min)
		h->min = w.min;
	if (w.max > h->max)
		h->max = w.max;
	return 0;
}
