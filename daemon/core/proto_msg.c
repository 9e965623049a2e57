/* proto_msg.c - the typed codec of targets, rows and stats (see proto_msg.h). */
#include "core/proto_msg.h"

#include "core/proto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- targets ------------------------------------------------------------- */

cJSON *proto_targets_encode(const proto_targets *t)
{
	cJSON *m = proto_new(PROTO_TARGETS);
	cJSON *arr = m ? cJSON_AddArrayToObject(m, "j") : NULL;

	if (!arr)
		goto nomem;
	for (size_t i = 0; i < t->nj; i++) {
		cJSON *o = cJSON_CreateObject();

		if (!o)
			goto nomem;
		if (t->j[i].closed >= 0)
			cJSON_AddNumberToObject(o, "c", t->j[i].closed);
		else if (t->j[i].starts >= 0)
			cJSON_AddNumberToObject(o, "s", t->j[i].starts);
		cJSON_AddItemToArray(arr, o);
	}
	if (t->has_end_in)
		cJSON_AddNumberToObject(m, "end_in", t->end_in);
	return m;
nomem:
	cJSON_Delete(m);
	return NULL;
}

int proto_targets_decode(const cJSON *m, proto_targets *t)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(m, "j"), *it;
	const cJSON *end_in = cJSON_GetObjectItemCaseSensitive(m, "end_in");
	size_t i = 0;

	t->given = 0;
	for (size_t k = 0; k < t->nj; k++)
		t->j[k] = (proto_target){ .closed = -1, .starts = -1 };
	t->has_end_in = cJSON_IsNumber(end_in);
	t->end_in = t->has_end_in ? end_in->valuedouble : 0;
	if (!cJSON_IsArray(arr))
		return -EPROTO;
	cJSON_ArrayForEach(it, arr)
	{
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "c");
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(it, "s");

		if (i >= t->nj)
			break;
		if (cJSON_IsNumber(c) && c->valuedouble >= 0)
			t->j[i].closed = c->valuedouble;
		if (cJSON_IsNumber(s) && s->valuedouble >= 1)
			t->j[i].starts = s->valuedouble;
		i++;
	}
	t->given = i;
	return 0;
}

/* ---- rows ---------------------------------------------------------------- */

cJSON *proto_rows_new(size_t j)
{
	cJSON *m = proto_new(PROTO_ROWS);

	if (!m || !cJSON_AddArrayToObject(m, "rows") ||
	    !cJSON_AddNumberToObject(m, "j", (double)j)) {
		cJSON_Delete(m);
		return NULL;
	}
	return m;
}

long proto_rows_add(cJSON *m, uint64_t id, char *const *vals, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	long bytes = 0;

	if (!a || !cJSON_AddItemToArray(a, cJSON_CreateNumber((double)id)))
		goto nomem;
	for (size_t k = 0; k < n; k++) {
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(vals[k])))
			goto nomem;
		bytes += (long)strlen(vals[k]);
	}
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(m, "rows"), a);
	return bytes;
nomem:
	cJSON_Delete(a);
	return -ENOMEM;
}

void proto_rows_end(cJSON *m)
{
	cJSON_AddTrueToObject(m, "end");
}

int proto_rows_decode(const cJSON *m, size_t nj, proto_rows *out)
{
	const cJSON *jj = cJSON_GetObjectItemCaseSensitive(m, "j");

	if (!cJSON_IsNumber(jj) || jj->valueint < 0 || (size_t)jj->valueint >= nj)
		return -EPROTO;
	out->j = (size_t)jj->valueint;
	out->rows = cJSON_GetObjectItemCaseSensitive(m, "rows");
	out->end = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "end"));
	return 0;
}

int proto_row_decode(const cJSON *row, uint64_t *id, const char **vals, size_t max, size_t *n,
		     char *err, size_t errlen)
{
	*n = 0;
	if (!cJSON_IsArray(row) || proto_u64(row->child, id) < 0) {
		snprintf(err, errlen, "a row without a row id");
		return -EPROTO;
	}
	for (const cJSON *v = row->child->next; v; v = v->next) {
		if (*n == max) {
			snprintf(err, errlen, "row %llu: %zu columns or more (at most %zu)",
				 (unsigned long long)*id, max + 1, max);
			return -EPROTO;
		}
		if (!cJSON_IsString(v)) {
			snprintf(err, errlen, "row %llu: column %zu is not a string",
				 (unsigned long long)*id, *n + 1);
			return -EPROTO;
		}
		vals[(*n)++] = v->valuestring;
	}
	return 0;
}

/* ---- stats --------------------------------------------------------------- */

static cJSON *counts_array(const long *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
	return a;
}

cJSON *proto_stats_encode(const proto_stats_out *s)
{
	cJSON *m = proto_new(PROTO_STATS), *why;

	if (!m) {
		cJSON_Delete(s->batch);
		cJSON_Delete(s->events);
		return NULL;
	}
	if (s->batch)
		cJSON_AddItemToObject(m, "e", s->batch);
	cJSON_AddItemToObject(m, "active", counts_array(s->active, s->nj));
	cJSON_AddItemToObject(m, "peak", counts_array(s->peak, s->nj));
	if (s->events)
		cJSON_AddItemToObject(m, "ev", s->events);
	if (s->dropped)
		cJSON_AddNumberToObject(m, "dropped", (double)s->dropped);
	why = cJSON_AddArrayToObject(m, "why");
	for (size_t i = 0; why && i < s->nj; i++)
		cJSON_AddItemToArray(
			why, s->why[i] ? cJSON_CreateString(s->why[i]) : cJSON_CreateNull());
	if (s->final)
		cJSON_AddTrueToObject(m, "final");
	if (s->journey)
		cJSON_AddStringToObject(m, "journey", s->journey);
	return m;
}

/* Per journey: the counts from 0 to max in array a, -1 elsewhere. */
static void counts_of(const cJSON *a, size_t nj, long max, long *out)
{
	const cJSON *it;
	size_t i = 0;

	for (size_t k = 0; k < nj; k++)
		out[k] = -1;
	cJSON_ArrayForEach(it, a)
	{
		if (i >= nj)
			break;
		if (cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble <= (double)max)
			out[i] = (long)it->valuedouble;
		i++;
	}
}

void proto_stats_decode(const cJSON *m, size_t nj, long max, long *active, long *peak,
			proto_stats_in *in)
{
	counts_of(cJSON_GetObjectItemCaseSensitive(m, "active"), nj, max, active);
	counts_of(cJSON_GetObjectItemCaseSensitive(m, "peak"), nj, max, peak);
	in->batch = cJSON_GetObjectItemCaseSensitive(m, "e");
	in->events = cJSON_GetObjectItemCaseSensitive(m, "ev");
	in->why = cJSON_GetObjectItemCaseSensitive(m, "why");
	if (proto_u64(cJSON_GetObjectItemCaseSensitive(m, "dropped"), &in->dropped) < 0)
		in->dropped = 0;
	in->final = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "final"));
}
