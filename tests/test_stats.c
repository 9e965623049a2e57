/* test_stats.c - keyed stats: batches, exact merges, malformed input. */
#include "core/stats.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *L2[] = { "journey", "login" };

Test(stats, get_is_stable_and_keyed_by_all_labels)
{
	stats s;
	const char *other[] = { "journey", "logout" };
	const char *ab[] = { "ab", "c" }, *a_bc[] = { "a", "bc" };

	stats_init(&s);
	stats_entry *e1 = stats_get(&s, "txn", L2, 2);
	stats_entry *e2 = stats_get(&s, "txn", other, 2);
	cr_assert_not_null(e1);
	cr_assert_neq(e1, e2);
	/* Many more entries force rehashing; pointers stay valid. */
	for (int i = 0; i < 1000; i++) {
		char name[32];
		const char *l[] = { "j", name };

		snprintf(name, sizeof name, "t%d", i);
		cr_assert_not_null(stats_get(&s, "txn", l, 2));
	}
	cr_assert_eq(stats_get(&s, "txn", L2, 2), e1);
	cr_assert_neq(stats_get(&s, "txn", ab, 2), stats_get(&s, "txn", a_bc, 2));
	cr_assert_null(stats_find(&s, "http", L2, 2));
	cr_assert_eq(s.n, 1004);
	stats_free(&s);
}

Test(stats, batches_merge_exactly)
{
	stats runner1, runner2, total, single;

	stats_init(&runner1);
	stats_init(&runner2);
	stats_init(&total);
	stats_init(&single);
	for (int i = 1; i <= 1000; i++) {
		stats *r = i % 3 ? &runner1 : &runner2;
		stats_entry *e = stats_get(r, "txn", L2, 2);
		stats_entry *s = stats_get(&single, "txn", L2, 2);

		stats_add(e, i % 7 ? ST_TXN_OK : ST_TXN_FAILED, 1);
		stats_add(s, i % 7 ? ST_TXN_OK : ST_TXN_FAILED, 1);
		cr_assert_eq(stats_record(e, 0, (uint64_t)i * 1000003u), 0);
		cr_assert_eq(stats_record(s, 0, (uint64_t)i * 1000003u), 0);
	}
	cJSON *b1 = stats_batch(&runner1, 1), *b2 = stats_batch(&runner2, 1);
	cr_assert_not_null(b1);
	cr_assert_eq(stats_merge_batch(&total, b1), 0);
	cr_assert_eq(stats_merge_batch(&total, b2), 0);

	stats_entry *t = stats_find(&total, "txn", L2, 2), *s = stats_find(&single, "txn", L2, 2);
	cr_assert_not_null(t);
	cr_assert_eq(t->c[ST_TXN_OK], s->c[ST_TXN_OK]);
	cr_assert_eq(t->c[ST_TXN_FAILED], 142);
	cr_assert_eq(hist_count(t->h[0]), 1000);
	for (double p = 1; p <= 100; p += 7.5)
		cr_assert_eq(hist_percentile(t->h[0], p), hist_percentile(s->h[0], p), "p%.1f", p);
	cr_assert_eq(hist_max(t->h[0]), hist_max(s->h[0]));

	/* After a reset batch nothing is dirty: the next batch is empty. */
	cJSON *again = stats_batch(&runner1, 1);
	cr_assert_eq(cJSON_GetArraySize(again), 0);
	cr_assert_eq(stats_find(&runner1, "txn", L2, 2)->c[ST_TXN_OK], 0);

	cJSON_Delete(b1);
	cJSON_Delete(b2);
	cJSON_Delete(again);
	stats_free(&runner1);
	stats_free(&runner2);
	stats_free(&total);
	stats_free(&single);
}

Test(stats, merge_tables)
{
	stats a, b;

	stats_init(&a);
	stats_init(&b);
	stats_add(stats_get(&a, "journey", L2, 1), ST_J_STARTED, 5);
	stats_add(stats_get(&b, "journey", L2, 1), ST_J_STARTED, 7);
	stats_record(stats_get(&b, "journey", L2, 1), 0, 42000);
	cr_assert_eq(stats_merge(&a, &b), 0);
	cr_assert_eq(stats_find(&a, "journey", L2, 1)->c[ST_J_STARTED], 12);
	cr_assert_eq(hist_count(stats_find(&a, "journey", L2, 1)->h[0]), 1);
	stats_free(&a);
	stats_free(&b);
}

static void expect_refused(const char *json)
{
	stats s;
	cJSON *j = cJSON_Parse(json);

	stats_init(&s);
	cr_assert_not_null(j, "test input must parse: %s", json);
	cr_assert_lt(stats_merge_batch(&s, j), 0, "accepted: %s", json);
	cJSON_Delete(j);
	stats_free(&s);
}

Test(stats, malformed_batches_are_refused)
{
	expect_refused("{}");
	expect_refused("[{}]");
	expect_refused("[{\"k\":[],\"c\":[]}]");
	expect_refused("[{\"k\":[1],\"c\":[]}]");
	expect_refused("[{\"k\":[\"txn\"],\"c\":[-1]}]");
	expect_refused("[{\"k\":[\"txn\"],\"c\":[\"x\"]}]");
	expect_refused("[{\"k\":[\"txn\"],\"c\":[1,2,3,4,5]}]");
	expect_refused("[{\"k\":[\"a\",\"1\",\"2\",\"3\",\"4\",\"5\",\"6\"],\"c\":[]}]");
	expect_refused("[{\"k\":[\"txn\"],\"c\":[1],\"h\":[{\"n\":\"x\"}]}]");
	/* Found by fuzzing (tests/fuzz/fuzz_stats.c): counters that do not
	 * fit a uint64_t were converted anyway, which is undefined. */
	expect_refused("[{\"k\":[\"txn\"],\"c\":[6.66667e+118]}]");
	expect_refused("[{\"k\":[\"txn\"],\"c\":[1e400]}]");
	expect_refused("[{\"k\":[\"txn\"],\"c\":[36893488147419103232]}]");
	expect_refused("[{\"k\":[\"txn\"],\"c\":[0.5]}]");
}

Test(stats, counters_of_any_size_merge)
{
	stats s;
	cJSON *j =
		cJSON_Parse("[{\"k\":[\"txn\"],\"c\":[9007199254740992,18446744073709551615,0]}]");
	stats_entry *e;

	stats_init(&s);
	cr_assert_eq(stats_merge_batch(&s, j), 0);
	e = stats_find(&s, "txn", NULL, 0);
	cr_assert_not_null(e);
	cr_assert_eq(e->c[0], UINT64_C(9007199254740992));
	/* UINT64_MAX reaches JSON as 2^64 and saturates back. */
	cr_assert_eq(e->c[1], UINT64_MAX);
	cJSON_Delete(j);
	stats_free(&s);
}

/* A batch of one txn entry (journey, name) with one ok, as JSON. */
static cJSON *txn_batch(const char *kind, const char *name)
{
	cJSON *a = cJSON_CreateArray(), *o = cJSON_CreateObject(), *k = cJSON_CreateArray(),
	      *c = cJSON_CreateArray();

	cJSON_AddItemToArray(k, cJSON_CreateString(kind));
	cJSON_AddItemToArray(k, cJSON_CreateString("j"));
	cJSON_AddItemToArray(k, cJSON_CreateString(name));
	cJSON_AddItemToArray(c, cJSON_CreateNumber(1));
	cJSON_AddItemToObject(o, "k", k);
	cJSON_AddItemToObject(o, "c", c);
	cJSON_AddItemToArray(a, o);
	return a;
}

Test(stats, long_labels_from_batches_are_cut_marked_and_counted)
{
	stats s, copy;
	char name[3000];
	size_t n = 0;

	/* 'a' then euro signs (3 bytes each), so that the cut falls inside a
	 * character unless it is made between them. */
	name[n++] = 'a';
	while (n + 3 < sizeof(name)) {
		memcpy(name + n, "\xe2\x82\xac", 3);
		n += 3;
	}
	name[n] = '\0';
	stats_init(&s);
	for (int i = 0; i < 2; i++) {
		cJSON *b = txn_batch("txn", name);
		cr_assert_eq(stats_merge_batch(&s, b), 0);
		cJSON_Delete(b);
	}
	cr_assert_eq(s.n, 1, "the same long name merges into one entry");
	cr_assert_eq(s.labels_cut, 2);
	const char *got = s.first->labels[1];
	size_t len = strlen(got);
	cr_assert_leq(len, STATS_LABEL_MAX);
	cr_assert_gt(len, STATS_LABEL_MAX - 6);
	cr_assert_str_eq(got + len - 3, STATS_CUT_MARK);
	cr_assert_eq(s.first->c[0], 2);
	/* Cut between characters: what precedes the mark is whole euros. */
	cr_assert_eq((len - 3 - 1) % 3, 0, "cut inside a character (%zu bytes)", len);
	/* A label at the limit is kept whole. */
	memset(name, 'x', STATS_LABEL_MAX);
	name[STATS_LABEL_MAX] = '\0';
	cJSON *b = txn_batch("txn", name);
	cr_assert_eq(stats_merge_batch(&s, b), 0);
	cJSON_Delete(b);
	cr_assert_eq(s.labels_cut, 2);
	cr_assert_not_null(stats_find(&s, "txn", (const char *[]){ "j", name }, 2));
	/* The count travels with a merge of tables. */
	stats_init(&copy);
	cr_assert_eq(stats_merge(&copy, &s), 0);
	cr_assert_eq(copy.labels_cut, 2);
	stats_free(&copy);
	/* A kind longer than any kind is malformed. */
	b = txn_batch("a-kind-that-is-longer-than-any-kind-is", "t");
	cr_assert_eq(stats_merge_batch(&s, b), -EINVAL);
	cJSON_Delete(b);
	stats_free(&s);
}
