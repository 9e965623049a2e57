/* kvl.h - an ordered list of string keys and values: the run's config. */
#ifndef MITE_CORE_KVL_H
#define MITE_CORE_KVL_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct kvl {
	char **keys, **vals;
	size_t n, cap;
} kvl;

void kvl_init(kvl *l);
void kvl_free(kvl *l);
/* Sets key to value (both copied), replacing an earlier value. 0 or -ENOMEM. */
int kvl_set(kvl *l, const char *key, const char *value);
/* The value of key, or NULL. */
const char *kvl_get(const kvl *l, const char *key);
/* "key=value" -> kvl_set. -EINVAL when there is no '=' or the key is empty. */
int kvl_set_pair(kvl *l, const char *pair);
/* Takes every MITE_CONF_<key>=value from an environ-style list. */
int kvl_set_env(kvl *l, const char *const *envp);
/* A JSON object of the pairs, or NULL. */
cJSON *kvl_to_json(const kvl *l);
/* Adds the string members of a JSON object. 0 or -EINVAL. */
int kvl_from_json(kvl *l, const cJSON *obj);

#endif
