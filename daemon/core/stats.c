/* stats.c - keyed counters and histograms, their batches and exact merge. */
#include "stats.h"
#include "proto.h"
#include "utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define STATS_INITIAL_BUCKETS 64
/* 2^64 as a double: a JSON number at or above it cannot be a uint64_t. */

/* FNV-1a over the kind and the labels, with a separator so that
 * ("ab","c") and ("a","bc") differ. */
static uint64_t key_hash(const char *kind, const char *const *labels, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	const char *p;

	for (p = kind; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ 0x1f) * 1099511628211ull;
		for (p = labels[i] ? labels[i] : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
	}
	return h;
}

static int key_equal(const stats_entry *e, const char *kind, const char *const *labels, size_t n)
{
	if (e->nlabels != n || strcmp(e->kind, kind) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(e->labels[i], labels[i] ? labels[i] : "") != 0)
			return 0;
	return 1;
}

void stats_init(stats *s)
{
	memset(s, 0, sizeof *s);
}

static void entry_free(stats_entry *e)
{
	free(e->kind);
	for (size_t i = 0; i < e->nlabels; i++)
		free(e->labels[i]);
	for (int i = 0; i < STATS_NHISTS; i++)
		hist_free(e->h[i]);
	free(e);
}

void stats_free(stats *s)
{
	stats_entry *e = s->first;

	while (e) {
		stats_entry *next = e->order;

		entry_free(e);
		e = next;
	}
	free(s->buckets);
	memset(s, 0, sizeof *s);
}

const stats_kind SK_TXN = { "txn", 2 }, SK_JOURNEY = { "journey", 1 }, SK_ERROR = { "error", 4 },
		 SK_HTTP = { "http", 4 }, SK_HTTPERR = { "httperr", 4 }, SK_LAG = { "lag", 1 },
		 SK_SEND = { "send", 2 }, SK_LOOP = { "loop", 1 }, SK_LOST = { "lost", 1 },
		 /* iterable rows a lost host held (controller only) */
	SK_DOUBT = { "doubt", 1 },
		 /* iterable rows handed back unrun that could not be served again
		  * (controller only) */
	SK_SKIPPED = { "skipped", 1 }, SK_DROPPED = { "dropped", 0 }, SK_WS = { "ws", 3 },
		 SK_WSERR = { "wserr", 4 };

const char *const stats_phase_names[STATS_NHISTS + 1] = { "total", "dns",  "connect",
							  "tls",   "ttfb", NULL };

int stats_kind_is(const stats_entry *e, const stats_kind *k)
{
	return e->nlabels == k->nlabels && strcmp(e->kind, k->name) == 0;
}

stats_entry *stats_find(const stats *s, const char *kind, const char *const *labels, size_t nlabels)
{
	uint64_t h;

	if (!s->nbuckets)
		return NULL;
	h = key_hash(kind, labels, nlabels);
	for (stats_entry *e = s->buckets[h & (s->nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && key_equal(e, kind, labels, nlabels))
			return e;
	return NULL;
}

static int stats_grow(stats *s)
{
	size_t nb = s->nbuckets ? s->nbuckets * 2 : STATS_INITIAL_BUCKETS;
	stats_entry **b = calloc(nb, sizeof *b);

	if (!b)
		return -ENOMEM;
	for (stats_entry *e = s->first; e; e = e->order) {
		size_t i = e->hash & (nb - 1);

		e->next = b[i];
		b[i] = e;
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
	return 0;
}

stats_entry *stats_get(stats *s, const char *kind, const char *const *labels, size_t nlabels)
{
	stats_entry *e = stats_find(s, kind, labels, nlabels);
	size_t i;

	if (e) {
		e->dirty = 1;
		return e;
	}
	if (nlabels > STATS_MAX_LABELS)
		return NULL;
	if (s->n + 1 > s->nbuckets && stats_grow(s) < 0)
		return NULL;
	e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->kind = strdup(kind);
	if (!e->kind)
		goto fail;
	for (i = 0; i < nlabels; i++) {
		e->labels[i] = strdup(labels[i] ? labels[i] : "");
		if (!e->labels[i])
			goto fail;
		e->nlabels = i + 1;
	}
	e->hash = key_hash(kind, labels, nlabels);
	e->dirty = 1;
	i = e->hash & (s->nbuckets - 1);
	e->next = s->buckets[i];
	s->buckets[i] = e;
	if (s->last)
		s->last->order = e;
	else
		s->first = e;
	s->last = e;
	s->n++;
	return e;
fail:
	entry_free(e);
	return NULL;
}

int stats_record(stats_entry *e, int i, uint64_t ns)
{
	if (!e->h[i] && !(e->h[i] = hist_new()))
		return -ENOMEM;
	hist_record(e->h[i], ns);
	e->dirty = 1;
	return 0;
}

static cJSON *entry_json(const stats_entry *e)
{
	cJSON *o = cJSON_CreateObject(), *k, *c, *h;
	int nh = 0;

	if (!o)
		return NULL;
	if (!(k = cJSON_AddArrayToObject(o, "k")) || !(c = cJSON_AddArrayToObject(o, "c")))
		goto fail;
	cJSON_AddItemToArray(k, cJSON_CreateString(e->kind));
	for (size_t i = 0; i < e->nlabels; i++)
		cJSON_AddItemToArray(k, cJSON_CreateString(e->labels[i]));
	for (int i = 0; i < STATS_NCOUNTERS; i++)
		cJSON_AddItemToArray(c, cJSON_CreateNumber((double)e->c[i]));
	for (int i = 0; i < STATS_NHISTS; i++)
		if (e->h[i] && hist_count(e->h[i]))
			nh = i + 1;
	if (nh) {
		if (!(h = cJSON_AddArrayToObject(o, "h")))
			goto fail;
		for (int i = 0; i < nh; i++) {
			cJSON *hj = e->h[i] && hist_count(e->h[i]) ? hist_to_json(e->h[i])
								   : cJSON_CreateNull();

			if (!hj)
				goto fail;
			cJSON_AddItemToArray(h, hj);
		}
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

cJSON *stats_batch(stats *s, int reset)
{
	cJSON *arr = cJSON_CreateArray();

	if (!arr)
		return NULL;
	for (stats_entry *e = s->first; e; e = e->order) {
		cJSON *o;

		if (!e->dirty)
			continue;
		o = entry_json(e);
		if (!o) {
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddItemToArray(arr, o);
		if (reset) {
			memset(e->c, 0, sizeof e->c);
			for (int i = 0; i < STATS_NHISTS; i++)
				if (e->h[i])
					hist_reset(e->h[i]);
			e->dirty = 0;
		}
	}
	return arr;
}

/* A label over STATS_LABEL_MAX, cut between characters and marked. */
static char *label_cut(const char *v)
{
	size_t keep = utf8_cut(v, strlen(v), STATS_LABEL_MAX - (sizeof(STATS_CUT_MARK) - 1));
	char *c = malloc(keep + sizeof(STATS_CUT_MARK));

	if (c) {
		memcpy(c, v, keep);
		memcpy(c + keep, STATS_CUT_MARK, sizeof(STATS_CUT_MARK));
	}
	return c;
}

static int merge_entry(stats *s, const cJSON *k, const char *const *labels, int n, const cJSON *c,
		       const cJSON *h)
{
	uint64_t counts[STATS_NCOUNTERS];
	const cJSON *it;
	stats_entry *e;
	int nc = 0, i;

	cJSON_ArrayForEach(it, c) if (proto_u64(it, &counts[nc++]) < 0) return -EINVAL;
	e = stats_get(s, cJSON_GetArrayItem(k, 0)->valuestring, labels, (size_t)(n - 1));
	if (!e)
		return -ENOMEM;
	for (i = 0; i < nc; i++)
		e->c[i] += counts[i];
	i = 0;
	cJSON_ArrayForEach(it, h)
	{
		if (!cJSON_IsNull(it)) {
			if (!e->h[i] && !(e->h[i] = hist_new()))
				return -ENOMEM;
			if (hist_merge_json(e->h[i], it) < 0)
				return -EINVAL;
		}
		i++;
	}
	return 0;
}

static int merge_one(stats *s, const cJSON *o)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "k");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "c");
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "h");
	const char *labels[STATS_MAX_LABELS];
	char *cut[STATS_MAX_LABELS] = { NULL };
	const cJSON *it;
	int n = 0, rc = 0;

	if (!cJSON_IsArray(k) || cJSON_GetArraySize(k) < 1 ||
	    cJSON_GetArraySize(k) > STATS_MAX_LABELS + 1)
		return -EINVAL;
	if (!cJSON_IsArray(c) || cJSON_GetArraySize(c) > STATS_NCOUNTERS)
		return -EINVAL;
	if (h && (!cJSON_IsArray(h) || cJSON_GetArraySize(h) > STATS_NHISTS))
		return -EINVAL;
	cJSON_ArrayForEach(it, k)
	{
		if (!cJSON_IsString(it) || (n == 0 && strlen(it->valuestring) > STATS_KIND_MAX)) {
			rc = -EINVAL;
			goto out;
		}
		if (n > 0) {
			labels[n - 1] = it->valuestring;
			if (strlen(it->valuestring) > STATS_LABEL_MAX) {
				if (!(cut[n - 1] = label_cut(it->valuestring))) {
					rc = -ENOMEM;
					goto out;
				}
				labels[n - 1] = cut[n - 1];
				s->labels_cut++;
			}
		}
		n++;
	}
	rc = merge_entry(s, k, labels, n, c, h);
out:
	for (int i = 0; i < STATS_MAX_LABELS; i++)
		free(cut[i]);
	return rc;
}

int stats_merge_batch(stats *s, const cJSON *batch)
{
	const cJSON *o;
	int rc;

	if (!cJSON_IsArray(batch))
		return -EINVAL;
	cJSON_ArrayForEach(o, batch) if ((rc = merge_one(s, o)) < 0) return rc;
	return 0;
}

int stats_merge(stats *dst, const stats *src)
{
	dst->labels_cut += src->labels_cut;
	for (const stats_entry *e = src->first; e; e = e->order) {
		stats_entry *d =
			stats_get(dst, e->kind, (const char *const *)e->labels, e->nlabels);

		if (!d)
			return -ENOMEM;
		for (int i = 0; i < STATS_NCOUNTERS; i++)
			d->c[i] += e->c[i];
		for (int i = 0; i < STATS_NHISTS; i++) {
			if (!e->h[i])
				continue;
			if (!d->h[i] && !(d->h[i] = hist_new()))
				return -ENOMEM;
			hist_merge(d->h[i], e->h[i]);
		}
	}
	return 0;
}
