/* test_hist.c - the log-linear histogram: error bound, merge, JSON. */
#include "core/hist.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define US UINT64_C(1000)
#define SEC UINT64_C(1000000000)

/* splitmix64: a deterministic generator, so that a failure reproduces. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(void)
{
	return (double)(rng_next() >> 11) / 9007199254740992.0;
}

/* Log-uniform between lo and hi: every decade equally represented. */
static uint64_t rng_logu(double lo, double hi)
{
	return (uint64_t)exp(log(lo) + rng_unit() * (log(hi) - log(lo)));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double rel_err(uint64_t got, uint64_t want)
{
	double d = (double)got - (double)want;

	return want ? fabs(d) / (double)want : fabs(d);
}

/* The JSON text of h (caller frees), to compare histograms whole. */
static char *hist_text(const hist *h)
{
	cJSON *j = hist_to_json(h);
	char *s;

	cr_assert_not_null(j);
	s = cJSON_PrintUnformatted(j);
	cr_assert_not_null(s);
	cJSON_Delete(j);
	return s;
}

static void assert_same(const hist *a, const hist *b)
{
	char *sa = hist_text(a), *sb = hist_text(b);

	cr_assert_str_eq(sa, sb);
	free(sa);
	free(sb);
}

Test(hist, empty)
{
	hist *h = hist_new();
	cJSON *j;
	char *s;

	cr_assert_not_null(h);
	cr_assert_eq(hist_count(h), 0);
	cr_assert_eq(hist_min(h), 0);
	cr_assert_eq(hist_max(h), 0);
	cr_assert_eq(hist_mean(h), 0);
	cr_assert_eq(hist_percentile(h, 0), 0);
	cr_assert_eq(hist_percentile(h, 50), 0);
	cr_assert_eq(hist_percentile(h, 100), 0);
	cr_assert_eq(hist_count_le(h, 0), 0);
	cr_assert_eq(hist_count_le(h, UINT64_MAX), 0);

	s = hist_text(h);
	cr_assert_str_eq(s, "{\"n\":0,\"sum\":0,\"min\":0,\"max\":0,\"b\":[]}");
	j = cJSON_Parse(s);
	free(s);
	cr_assert_eq(hist_merge_json(h, j), 0);
	cJSON_Delete(j);
	cr_assert_eq(hist_count(h), 0);

	/* Merging an empty histogram must not disturb min (its sentinel). */
	hist *g = hist_new();
	hist_record(g, 5 * US);
	hist_merge(g, h);
	cr_assert_eq(hist_min(g), 5 * US);
	cr_assert_eq(hist_max(g), 5 * US);
	cr_assert_eq(hist_count(g), 1);

	hist_record(h, 7);
	hist_reset(h);
	cr_assert_eq(hist_count(h), 0);
	cr_assert_eq(hist_min(h), 0);
	hist_free(g);
	hist_free(h);
}

Test(hist, exact_small_values)
{
	hist *h = hist_new();

	/* Every value below 128 ns has a bucket of its own. */
	for (uint64_t v = 0; v < 128; v++)
		hist_record(h, v);
	for (uint64_t r = 1; r <= 128; r++)
		cr_assert_eq(hist_percentile(h, (double)r * 100.0 / 128.0), r - 1, "rank %lu",
			     (unsigned long)r);
	for (uint64_t v = 0; v < 128; v++)
		cr_assert_eq(hist_count_le(h, v), v + 1);
	cr_assert_eq(hist_mean(h), 63.5);
	hist_free(h);
}

/* A single value v between sentinels: the median is v's bucket value, not
 * clamped to v by min/max. */
static double one_value_error(hist *h, uint64_t v)
{
	hist_reset(h);
	hist_record(h, 0);
	hist_record(h, v);
	hist_record(h, UINT64_C(1) << 40);
	return rel_err(hist_percentile(h, 50), v);
}

Test(hist, error_bound_sweep)
{
	hist *h = hist_new();
	double worst = 0, e;
	uint64_t worst_v = 0, n = 0;

	/* Geometric steps of 0.01 % from 1 us to 100 s, and every power of two
	 * and its neighbours (where buckets widen), in between. */
	for (double x = 1e3; x <= 1e11; x *= 1.0001, n++) {
		uint64_t v = (uint64_t)x;

		if ((e = one_value_error(h, v)) > worst) {
			worst = e;
			worst_v = v;
		}
	}
	for (int b = 10; b <= 37; b++) {
		for (int d = -1; d <= 1; d++) {
			uint64_t v = (UINT64_C(1) << b) + (uint64_t)(int64_t)d;

			if (v > 100 * SEC)
				continue;
			if ((e = one_value_error(h, v)) > worst) {
				worst = e;
				worst_v = v;
			}
			n++;
		}
	}
	cr_log_info("hist: max relative error %.4f %% over %lu values (at %lu ns)", worst * 100,
		    (unsigned long)n, (unsigned long)worst_v);
	cr_assert_leq(worst, 0.01);
	/* The layout promises 1/128: catch a regression long before 1 %. */
	cr_assert_leq(worst, 1.0 / 128 + 1e-9);
	hist_free(h);
}

/* Records n samples from gen into h and into a sorted array, and checks
 * every per-mille percentile and a few in the tail against the exact
 * value of the same rank. */
static void check_percentiles(uint64_t (*gen)(void), size_t n, double *worst)
{
	hist *h = hist_new();
	uint64_t *v = malloc(n * sizeof(*v));
	uint64_t sum = 0;
	static const uint64_t tail[] = { 99900, 99990, 99999 }; /* per 100 000 */

	cr_assert_not_null(h);
	cr_assert_not_null(v);
	for (size_t i = 0; i < n; i++) {
		v[i] = gen();
		sum += v[i];
		hist_record(h, v[i]);
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	cr_assert_eq(hist_count(h), n);
	cr_assert_eq(hist_min(h), v[0]);
	cr_assert_eq(hist_max(h), v[n - 1]);
	cr_assert_leq(fabs(hist_mean(h) - (double)sum / (double)n), 1e-6 * (double)sum / (double)n);

	for (uint64_t pm = 0; pm <= 1000; pm++) {
		uint64_t rank = (pm * n + 999) / 1000, got, want;

		if (rank == 0)
			rank = 1;
		want = v[rank - 1];
		got = hist_percentile(h, (double)pm / 10.0);
		if (rel_err(got, want) > *worst)
			*worst = rel_err(got, want);
		cr_assert_leq(rel_err(got, want), 0.01, "p%.1f: got %lu want %lu",
			      (double)pm / 10.0, (unsigned long)got, (unsigned long)want);
	}
	for (size_t k = 0; k < sizeof(tail) / sizeof(tail[0]); k++) {
		uint64_t rank = (tail[k] * n + 99999) / 100000;
		uint64_t got = hist_percentile(h, (double)tail[k] / 1000.0);

		cr_assert_leq(rel_err(got, v[rank - 1]), 0.01);
	}

	/* count_le brackets the exact count within one bucket's width. */
	for (int k = 0; k < 2000; k++) {
		uint64_t t = v[rng_next() % n] + rng_next() % 3 - 1;
		uint64_t got = hist_count_le(h, t);
		uint64_t hi = t + t / 64 + 1;
		size_t lo_cnt = 0, hi_cnt = 0;

		while (lo_cnt < n && v[lo_cnt] <= t)
			lo_cnt++;
		hi_cnt = lo_cnt;
		while (hi_cnt < n && v[hi_cnt] <= hi)
			hi_cnt++;
		cr_assert(got >= lo_cnt && got <= hi_cnt, "count_le(%lu) = %lu, want %zu..%zu",
			  (unsigned long)t, (unsigned long)got, lo_cnt, hi_cnt);
	}
	cr_assert_eq(hist_count_le(h, v[n - 1]), n);
	if (v[0] > 0)
		cr_assert_eq(hist_count_le(h, v[0] - 1), 0);
	free(v);
	hist_free(h);
}

static uint64_t gen_logu(void)
{
	return rng_logu(1e3, 1e11);
}
/* A web service: most responses near 40 ms, a slow tail to 10 s. */
static uint64_t gen_service(void)
{
	if (rng_unit() < 0.95)
		return (uint64_t)(40e6 * (0.8 + 0.4 * rng_unit()));
	return rng_logu(1e8, 1e10);
}
/* Few distinct values, many duplicates. */
static uint64_t gen_dups(void)
{
	return (rng_next() % 7 + 1) * 1234567;
}

Test(hist, percentiles_random)
{
	double worst = 0;

	rng_state = 42;
	check_percentiles(gen_logu, 200000, &worst);
	check_percentiles(gen_logu, 1001, &worst);
	check_percentiles(gen_service, 100000, &worst);
	check_percentiles(gen_dups, 5000, &worst);
	cr_log_info("hist: max relative percentile error %.4f %%", worst * 100);
}

Test(hist, record_n)
{
	hist *a = hist_new(), *b = hist_new();

	for (int i = 0; i < 1000; i++)
		hist_record(a, 12345678);
	hist_record_n(b, 12345678, 1000);
	hist_record_n(b, 99, 0); /* no occurrence: min must not move */
	assert_same(a, b);
	cr_assert_eq(hist_min(b), 12345678);
	hist_free(a);
	hist_free(b);
}

Test(hist, merge_equals_single)
{
	hist *a = hist_new(), *b = hist_new(), *all = hist_new(), *viajson = hist_new();
	cJSON *j;

	rng_state = 7;
	for (int i = 0; i < 50000; i++) {
		uint64_t v = rng_logu(1e3, 1e11);

		hist_record(i % 3 ? a : b, v);
		hist_record(all, v);
	}
	/* Through JSON, as a controller merges runner batches. */
	j = hist_to_json(a);
	cr_assert_eq(hist_merge_json(viajson, j), 0);
	cJSON_Delete(j);
	j = hist_to_json(b);
	cr_assert_eq(hist_merge_json(viajson, j), 0);
	cJSON_Delete(j);

	hist_merge(a, b);
	assert_same(a, all);
	assert_same(viajson, all);
	for (int p = 0; p <= 100; p++)
		cr_assert_eq(hist_percentile(a, p), hist_percentile(all, p));
	cr_assert_eq(hist_count_le(a, 5 * SEC), hist_count_le(all, 5 * SEC));
	cr_assert_eq(hist_mean(a), hist_mean(all));
	hist_free(a);
	hist_free(b);
	hist_free(all);
	hist_free(viajson);
}

Test(hist, json_round_trip)
{
	hist *h = hist_new(), *g = hist_new();
	cJSON *j;
	char *s, *t;

	hist_record(h, 5);
	s = hist_text(h);
	cr_assert_str_eq(s, "{\"n\":1,\"sum\":5,\"min\":5,\"max\":5,\"b\":[5,1]}");
	free(s);

	rng_state = 99;
	for (int i = 0; i < 20000; i++)
		hist_record(h, rng_logu(1, 1e12));
	hist_record_n(h, 3 * SEC, UINT64_C(1) << 40); /* counts far above 2^32 */
	s = hist_text(h);
	j = cJSON_Parse(s);
	cr_assert_not_null(j);
	cr_assert_eq(hist_merge_json(g, j), 0);
	t = hist_text(g);
	cr_assert_str_eq(s, t);
	cr_assert_eq(hist_count(g), hist_count(h));
	cr_assert_eq(hist_min(g), hist_min(h));
	cr_assert_eq(hist_max(g), hist_max(h));
	/* Merging the same batch again doubles every count. */
	cr_assert_eq(hist_merge_json(g, j), 0);
	cr_assert_eq(hist_count(g), 2 * hist_count(h));
	cr_assert_eq(hist_percentile(g, 50), hist_percentile(h, 50));
	cJSON_Delete(j);
	free(s);
	free(t);
	hist_free(h);
	hist_free(g);
}

Test(hist, json_malformed_rejected)
{
	static const char *bad[] = {
		"null",
		"[]",
		"42",
		"\"hist\"",
		"{}",
		"{\"n\":1,\"sum\":5,\"min\":5,\"max\":5}", /* no b */
		"{\"n\":1,\"sum\":5,\"min\":5,\"max\":5,\"b\":{}}", /* b not an array */
		"{\"n\":1,\"sum\":5,\"min\":5,\"max\":5,\"b\":[5]}", /* odd length */
		"{\"n\":1,\"sum\":5,\"min\":5,\"max\":5,\"b\":[5,1,6]}", /* odd length */
		"{\"n\":1,\"sum\":5,\"min\":5,\"max\":5,\"b\":[-1,1]}", /* negative index */
		"{\"n\":1,\"sum\":5,\"min\":5,\"max\":5,\"b\":[2048,1]}", /* index too big */
		"{\"n\":1,\"sum\":5,\"min\":5,\"max\":5,\"b\":[1e300,1]}", /* index huge */
		"{\"n\":1,\"sum\":5,\"min\":5,\"max\":5,\"b\":[5.5,1]}", /* fractional index */
		"{\"n\":1,\"sum\":5,\"min\":5,\"max\":5,\"b\":[\"5\",1]}", /* string index */
		"{\"n\":1,\"sum\":5,\"min\":5,\"max\":5,\"b\":[5,\"1\"]}", /* string count */
		"{\"n\":1,\"sum\":5,\"min\":5,\"max\":5,\"b\":[5,null]}", /* null count */
		"{\"n\":-1,\"sum\":5,\"min\":5,\"max\":5,\"b\":[5,-1]}", /* negative count */
		"{\"n\":0,\"sum\":0,\"min\":0,\"max\":0,\"b\":[5,0]}", /* zero count */
		"{\"n\":1,\"sum\":5,\"min\":5,\"max\":5,\"b\":[5,0.5]}", /* fractional count */
		"{\"n\":2,\"sum\":5,\"min\":5,\"max\":5,\"b\":[5,1]}", /* n != sum of counts */
		"{\"n\":2,\"sum\":11,\"min\":5,\"max\":6,\"b\":[6,1,5,1]}", /* not increasing */
		"{\"n\":2,\"sum\":10,\"min\":5,\"max\":5,\"b\":[5,1,5,1]}", /* duplicate index */
		"{\"n\":\"1\",\"sum\":5,\"min\":5,\"max\":5,\"b\":[5,1]}", /* n a string */
		"{\"n\":1,\"sum\":-5,\"min\":5,\"max\":5,\"b\":[5,1]}", /* negative sum */
		"{\"n\":1,\"sum\":5,\"min\":true,\"max\":5,\"b\":[5,1]}", /* min a bool */
		"{\"n\":1,\"sum\":5,\"min\":5,\"max\":1e30,\"b\":[5,1]}", /* max above 2^64 */
		"{\"n\":1,\"sum\":5,\"min\":6,\"max\":5,\"b\":[5,1]}", /* min > max */
		"{\"n\":1,\"sum\":5,\"min\":9,\"max\":9,\"b\":[5,1]}", /* min outside bucket */
		"{\"n\":2,\"sum\":5,\"min\":5,\"max\":5,\"b\":[5,1,9,1]}", /* max outside bucket */
		"{\"n\":0,\"sum\":3,\"min\":0,\"max\":0,\"b\":[]}", /* empty with a sum */
	};
	hist *h = hist_new();
	char *before, *after;

	rng_state = 3;
	for (int i = 0; i < 1000; i++)
		hist_record(h, rng_logu(1e3, 1e9));
	before = hist_text(h);
	cr_assert_eq(hist_merge_json(h, NULL), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *j = cJSON_Parse(bad[i]);

		cr_assert_not_null(j, "test JSON does not parse: %s", bad[i]);
		cr_assert_eq(hist_merge_json(h, j), -EINVAL, "accepted: %s", bad[i]);
		cJSON_Delete(j);
		after = hist_text(h);
		cr_assert_str_eq(before, after, "changed by: %s", bad[i]);
		free(after);
	}
	free(before);

	/* The same shapes done right are accepted; unknown keys are ignored. */
	cJSON *ok = cJSON_Parse("{\"n\":2,\"sum\":11,\"min\":5,\"max\":6,\"b\":[5,1,6,1],\"v\":1}");
	cr_assert_eq(hist_merge_json(h, ok), 0);
	cr_assert_eq(hist_count(h), 1002);
	cr_assert_eq(hist_min(h), 5);
	cJSON_Delete(ok);
	hist_free(h);
}

Test(hist, clamping_outside_range)
{
	hist *h = hist_new(), *g = hist_new();
	cJSON *j;

	/* Above 2^37 ns every value shares the last bucket; min, max and the
	 * sum stay exact, and percentiles are clamped into [min, max]. */
	hist_record(h, 500 * SEC);
	hist_record(h, 10000 * SEC);
	cr_assert_eq(hist_min(h), 500 * SEC);
	cr_assert_eq(hist_max(h), 10000 * SEC);
	cr_assert_eq(hist_mean(h), 5250.0 * SEC);
	cr_assert_eq(hist_percentile(h, 50), 500 * SEC);
	cr_assert_eq(hist_percentile(h, 100), 10000 * SEC);
	cr_assert_eq(hist_count_le(h, 200 * SEC), 0);
	cr_assert_eq(hist_count_le(h, 10000 * SEC), 2);

	/* The extremes of uint64_t: no overflow, the sum saturates, and the
	 * encoding (2^64 as a double) decodes back to UINT64_MAX. */
	hist_record(h, UINT64_MAX);
	hist_record(h, 0);
	cr_assert_eq(hist_max(h), UINT64_MAX);
	cr_assert_eq(hist_min(h), 0);
	cr_assert_eq(hist_percentile(h, 0), 0);
	cr_assert_eq(hist_percentile(h, 100), UINT64_MAX);
	cr_assert_eq(hist_count_le(h, 0), 1);
	cr_assert_eq(hist_count_le(h, UINT64_MAX), 4);
	j = hist_to_json(h);
	cr_assert_eq(hist_merge_json(g, j), 0);
	cJSON_Delete(j);
	cr_assert_eq(hist_max(g), UINT64_MAX);
	cr_assert_eq(hist_count(g), 4);
	hist_free(h);
	hist_free(g);
}
