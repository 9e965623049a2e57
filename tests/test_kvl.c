/* test_kvl.c - the run's config list. */
#include "core/kvl.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>

Test(kvl, set_get_replace_keeps_order)
{
	kvl l;

	kvl_init(&l);
	cr_assert_eq(kvl_set(&l, "a", "1"), 0);
	cr_assert_eq(kvl_set(&l, "b", "2"), 0);
	cr_assert_eq(kvl_set(&l, "a", "3"), 0);
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(l.keys[0], "a");
	cr_assert_str_eq(kvl_get(&l, "a"), "3");
	cr_assert_str_eq(kvl_get(&l, "b"), "2");
	cr_assert_null(kvl_get(&l, "c"));
	cr_assert_null(kvl_get(&l, NULL));
	cr_assert_eq(kvl_set(&l, NULL, "x"), -EINVAL);
	kvl_free(&l);
	cr_assert_eq(l.n, 0);
	kvl_free(&l); /* twice is harmless */
}

Test(kvl, many_keys_grow)
{
	kvl l;
	char k[16], v[16];

	kvl_init(&l);
	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		snprintf(v, sizeof(v), "v%d", i);
		cr_assert_eq(kvl_set(&l, k, v), 0);
	}
	cr_assert_eq(l.n, 1000);
	cr_assert_str_eq(kvl_get(&l, "k999"), "v999");
	cr_assert_str_eq(l.keys[500], "k500");
	kvl_free(&l);
}

Test(kvl, pairs)
{
	kvl l;

	kvl_init(&l);
	cr_assert_eq(kvl_set_pair(&l, "a=b=c"), 0);
	cr_assert_str_eq(kvl_get(&l, "a"), "b=c");
	cr_assert_eq(kvl_set_pair(&l, "empty="), 0);
	cr_assert_str_eq(kvl_get(&l, "empty"), "");
	cr_assert_eq(kvl_set_pair(&l, "novalue"), -EINVAL);
	cr_assert_eq(kvl_set_pair(&l, "=x"), -EINVAL);
	cr_assert_eq(kvl_set_pair(&l, NULL), -EINVAL);
	cr_assert_eq(l.n, 2);
	kvl_free(&l);
}

Test(kvl, env_takes_mite_conf_only)
{
	const char *env[] = { "PATH=/bin",
			      "MITE_CONF_url=http://x",
			      "MITE_CONF_=ignored",
			      "MITE_CONF_n=3",
			      "MITE_CONFX=no",
			      "MITE_CONF_url=http://y",
			      NULL };
	kvl l;

	kvl_init(&l);
	kvl_set(&l, "n", "1");
	cr_assert_eq(kvl_set_env(&l, env), 0);
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(kvl_get(&l, "url"), "http://y");
	cr_assert_str_eq(kvl_get(&l, "n"), "3");
	cr_assert_eq(kvl_set_env(&l, NULL), 0);
	kvl_free(&l);
}

Test(kvl, json_round_trip)
{
	kvl l, m;
	cJSON *j;
	char *text;

	kvl_init(&l);
	kvl_init(&m);
	kvl_set(&l, "a", "1");
	kvl_set(&l, "quote", "say \"hi\"");
	j = kvl_to_json(&l);
	cr_assert_not_null(j);
	text = cJSON_PrintUnformatted(j);
	cr_assert_str_eq(text, "{\"a\":\"1\",\"quote\":\"say \\\"hi\\\"\"}");
	cr_assert_eq(kvl_from_json(&m, j), 0);
	cr_assert_eq(m.n, 2);
	cr_assert_str_eq(kvl_get(&m, "quote"), "say \"hi\"");
	free(text);
	cJSON_Delete(j);
	kvl_free(&l);
	kvl_free(&m);
}

Test(kvl, json_rejects_non_strings_whole)
{
	kvl l;
	cJSON *j = cJSON_Parse("{\"a\":\"1\",\"b\":2}");
	cJSON *arr = cJSON_Parse("[\"a\"]");

	kvl_init(&l);
	cr_assert_eq(kvl_from_json(&l, j), -EINVAL);
	cr_assert_eq(l.n, 0, "a bad object adds nothing");
	cr_assert_eq(kvl_from_json(&l, arr), -EINVAL);
	cr_assert_eq(kvl_from_json(&l, NULL), -EINVAL);
	cJSON_Delete(j);
	cJSON_Delete(arr);
	kvl_free(&l);
}
