/*
 * fuzz_kvl.c - the run's config as it travels: kvl_from_json on any JSON
 * (the runner takes a setup's "config" this way), kvl_set_pair on any
 * "key=value" (--set) and kvl_set_env on any environment.
 *
 * Checks that an object kvl_from_json refuses adds nothing, and that what
 * it takes comes back from kvl_to_json and kvl_get unchanged.
 */
#include "core/kvl.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static void check_json(const uint8_t *data, size_t size)
{
	cJSON *obj = cJSON_ParseWithLength((const char *)data, size), *back;
	kvl l;
	int rc;

	if (!obj)
		return;
	kvl_init(&l);
	kvl_set(&l, "already", "there");
	rc = kvl_from_json(&l, obj);
	if (rc == -EINVAL && (l.n != 1 || strcmp(kvl_get(&l, "already"), "there") != 0)) {
		fprintf(stderr, "fuzz: a refused object changed the list\n");
		abort();
	}
	if (rc == 0) {
		const cJSON *it;

		/* The last of duplicate keys wins, as kvl_set replaces. */
		cJSON_ArrayForEach(it, obj)
		{
			const cJSON *last = it;

			for (const cJSON *o = it->next; o; o = o->next)
				if (strcmp(o->string, it->string) == 0)
					last = o;
			if (!kvl_get(&l, it->string) ||
			    strcmp(kvl_get(&l, it->string), last->valuestring) != 0) {
				fprintf(stderr, "fuzz: key '%s' lost its value\n", it->string);
				abort();
			}
		}
		back = kvl_to_json(&l);
		if (back) {
			kvl again;

			kvl_init(&again);
			if (kvl_from_json(&again, back) != 0 || again.n != l.n) {
				fprintf(stderr, "fuzz: kvl_to_json output does not read back\n");
				abort();
			}
			kvl_free(&again);
			cJSON_Delete(back);
		}
	}
	kvl_free(&l);
	cJSON_Delete(obj);
}

/* The bytes as NUL-separated strings: pairs for kvl_set_pair, and the
 * same list as an environment. */
static void check_pairs(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	const char **envp;
	size_t n = 1, k = 0;
	kvl l;

	if (!buf)
		return;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t i = 0; i < size; i++)
		n += buf[i] == '\0';
	envp = calloc(n + 1, sizeof(*envp));
	if (!envp) {
		free(buf);
		return;
	}
	kvl_init(&l);
	for (char *p = buf; p <= buf + size; p += strlen(p) + 1) {
		int rc = kvl_set_pair(&l, p);
		const char *eq = strchr(p, '=');

		if ((rc == 0) != (eq && eq != p)) {
			fprintf(stderr, "fuzz: kvl_set_pair(\"%s\") returned %d\n", p, rc);
			abort();
		}
		envp[k++] = p;
	}
	kvl_free(&l);
	kvl_init(&l);
	kvl_set_env(&l, envp);
	for (size_t i = 0; i < l.n; i++)
		if (!l.keys[i][0]) {
			fprintf(stderr, "fuzz: kvl_set_env took an empty key\n");
			abort();
		}
	kvl_free(&l);
	free(envp);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_json(data, size);
	check_pairs(data, size);
	return 0;
}
