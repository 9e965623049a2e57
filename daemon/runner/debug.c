/* debug.c - see debug.h. Runs on the failing journey's coroutine, only
 * under --debug: what it builds goes on the heap. */
#include "runner/debug.h"

#include "core/utf8.h"
#include "runner/http_sdk.h"
#include "runner/inst.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_value(cJSON *pair, const char *v)
{
	size_t n = strlen(v), cap = (n < DEBUG_ROW_VALUE ? n : DEBUG_ROW_VALUE) * 4 + 16;
	char *t = malloc(cap);

	if (!t)
		return;
	if (utf8_printable(t, cap, v, n, DEBUG_ROW_VALUE) < n && strlen(t) + 4 < cap)
		memcpy(t + strlen(t), "...", 4); /* (the shown part is marked cut) */
	cJSON_AddItemToArray(pair, cJSON_CreateString(t));
	free(t);
}

static cJSON *row_json(const mite_row *row)
{
	cJSON *o = cJSON_CreateObject(), *cols;
	size_t n = row_count(row);

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)row_id(row));
	cols = cJSON_AddArrayToObject(o, "columns");
	for (size_t i = 0; cols && i < n && i < DEBUG_ROW_COLUMNS; i++) {
		cJSON *pair = cJSON_CreateArray();
		const char *nm = row->names && row->names[i] ? row->names[i] : NULL;

		if (!pair)
			break;
		if (nm)
			add_value(pair, nm);
		else
			cJSON_AddItemToArray(pair, cJSON_CreateNull());
		add_value(pair, row_str(row, i) ? row_str(row, i) : "");
		cJSON_AddItemToArray(cols, pair);
	}
	if (n > DEBUG_ROW_COLUMNS)
		cJSON_AddNumberToObject(o, "more", (double)(n - DEBUG_ROW_COLUMNS));
	return o;
}

void debug_attach(struct mite_ctx *ctx, cJSON *ev)
{
	cJSON *d = cJSON_AddObjectToObject(ev, "debug"), *x;

	if (!d)
		return;
	cJSON_AddNumberToObject(d, "instance", (double)ctx->id);
	cJSON_AddNumberToObject(d, "iteration", (double)ctx->iterations);
	if (ctx->row)
		cJSON_AddItemToObject(d, "row", row_json(ctx->row));
	if ((x = http_sdk_last_exchange(ctx)))
		cJSON_AddItemToObject(d, "http", x);
}
