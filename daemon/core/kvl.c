/* kvl.c - an ordered list of string keys and values: the run's config. */
#include "core/kvl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KVL_ENV_PREFIX "MITE_CONF_"

void kvl_init(kvl *l)
{
	l->keys = NULL;
	l->vals = NULL;
	l->n = 0;
	l->cap = 0;
}

void kvl_free(kvl *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->keys[i]);
		free(l->vals[i]);
	}
	free(l->keys);
	free(l->vals);
	kvl_init(l);
}

static long kvl_find(const kvl *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->keys[i], key) == 0)
			return (long)i;
	return -1;
}

/* Makes room for one more pair. Both arrays grow together so that a failure
 * leaves the list as it was. */
static int kvl_grow(kvl *l)
{
	size_t cap;
	char **keys, **vals;

	if (l->n < l->cap)
		return 0;
	cap = l->cap ? l->cap * 2 : 8;
	keys = realloc(l->keys, cap * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	l->keys = keys;
	vals = realloc(l->vals, cap * sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	l->vals = vals;
	l->cap = cap;
	return 0;
}

int kvl_set(kvl *l, const char *key, const char *value)
{
	long at;
	char *k = NULL, *v;

	if (!key || !value)
		return -EINVAL;
	v = strdup(value);
	if (!v)
		return -ENOMEM;
	at = kvl_find(l, key);
	if (at >= 0) {
		/* Replacing keeps the key's first position: the order is the order
		 * in which keys were first seen, which is what a reader expects. */
		free(l->vals[at]);
		l->vals[at] = v;
		return 0;
	}
	k = strdup(key);
	if (!k)
		goto fail;
	if (kvl_grow(l) < 0)
		goto fail;
	l->keys[l->n] = k;
	l->vals[l->n] = v;
	l->n++;
	return 0;
fail:
	free(k);
	free(v);
	return -ENOMEM;
}

const char *kvl_get(const kvl *l, const char *key)
{
	long at;

	if (!key)
		return NULL;
	at = kvl_find(l, key);
	return at < 0 ? NULL : l->vals[at];
}

int kvl_set_pair(kvl *l, const char *pair)
{
	const char *eq;
	char *key;
	int rc;

	if (!pair)
		return -EINVAL;
	eq = strchr(pair, '=');
	if (!eq || eq == pair)
		return -EINVAL;
	key = strndup(pair, (size_t)(eq - pair));
	if (!key)
		return -ENOMEM;
	rc = kvl_set(l, key, eq + 1);
	free(key);
	return rc;
}

int kvl_set_env(kvl *l, const char *const *envp)
{
	const size_t plen = sizeof(KVL_ENV_PREFIX) - 1;

	for (; envp && *envp; envp++) {
		int rc;

		if (strncmp(*envp, KVL_ENV_PREFIX, plen) != 0)
			continue;
		/* "MITE_CONF_=x" names no key: skip it rather than fail the
		 * whole run over a stray variable. */
		if ((*envp)[plen] == '=' || (*envp)[plen] == '\0')
			continue;
		rc = kvl_set_pair(l, *envp + plen);
		if (rc == -ENOMEM)
			return rc;
	}
	return 0;
}

cJSON *kvl_to_json(const kvl *l)
{
	cJSON *obj = cJSON_CreateObject();

	if (!obj)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (!cJSON_AddStringToObject(obj, l->keys[i], l->vals[i]))
			goto fail;
	return obj;
fail:
	cJSON_Delete(obj);
	return NULL;
}

int kvl_from_json(kvl *l, const cJSON *obj)
{
	const cJSON *it;

	if (!cJSON_IsObject(obj))
		return -EINVAL;
	/* Check every member first, so that a bad object adds nothing. */
	cJSON_ArrayForEach(it, obj) if (!it->string || !cJSON_IsString(it) ||
					!it->valuestring) return -EINVAL;
	cJSON_ArrayForEach(it, obj)
	{
		int rc = kvl_set(l, it->string, it->valuestring);
		if (rc < 0)
			return rc;
	}
	return 0;
}
