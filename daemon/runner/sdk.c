/*
 * sdk.c - the journey SDK as the runner implements it: the mite_api table
 * every module receives at load.
 */
#include "runner/sdk.h"
#include "runner/http_sdk.h"
#include "runner/inst.h"
#include "runner/ws.h"

#include "core/log.h"
#include "core/row.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SDK_MSG_MAX 1024

static uint64_t now_ns(void)
{
	return uv_hrtime();
}

/* ---- transactions -------------------------------------------------------- */

static int sdk_txn_begin(mite_ctx *ctx, const char *name)
{
	char buf[1024];
	int n;

	if (!name || !*name || ctx->module_ctx || ctx->ntxn >= INST_MAX_TXN)
		return MITE_EINVAL;
	if (ctx->ntxn)
		n = snprintf(buf, sizeof buf, "%s :: %s", ctx->txn[ctx->ntxn - 1].name, name);
	else
		n = snprintf(buf, sizeof buf, "%s", name);
	if (n < 0 || (size_t)n >= sizeof buf)
		return MITE_EINVAL;
	ctx->txn[ctx->ntxn].name = strdup(buf);
	if (!ctx->txn[ctx->ntxn].name)
		return MITE_ENOMEM;
	ctx->txn[ctx->ntxn].failed = 0;
	ctx->txn[ctx->ntxn].cancelled = 0;
	ctx->txn[ctx->ntxn].start_ns = now_ns();
	ctx->ntxn++;
	return MITE_OK;
}

static int sdk_txn_end(mite_ctx *ctx)
{
	const char *labels[2];
	stats_entry *e;
	int failed, cancelled;

	if (!ctx->ntxn)
		return MITE_EINVAL;
	ctx->ntxn--;
	cancelled = ctx->txn[ctx->ntxn].cancelled;
	failed = ctx->txn[ctx->ntxn].failed || cancelled;
	labels[0] = inst_journey_name(ctx);
	labels[1] = ctx->txn[ctx->ntxn].name;
	e = stats_get(inst_stats(ctx), SK_TXN.name, labels, SK_TXN.nlabels);
	if (e) {
		stats_add(e, failed ? ST_TXN_FAILED : ST_TXN_OK, 1);
		if (cancelled)
			stats_add(e, ST_TXN_CANCELLED, 1);
		stats_record(e, 0, now_ns() - ctx->txn[ctx->ntxn].start_ns);
	}
	free(ctx->txn[ctx->ntxn].name);
	ctx->txn[ctx->ntxn].name = NULL;
	if (failed && ctx->ntxn)
		ctx->txn[ctx->ntxn - 1].failed = 1;
	return failed ? MITE_EFAIL : MITE_OK;
}

static int sdk_vfail(mite_ctx *ctx, const char *file, int line, const char *func, const char *fmt,
		     va_list ap) __attribute__((format(printf, 5, 0)));
static int sdk_vfail(mite_ctx *ctx, const char *file, int line, const char *func, const char *fmt,
		     va_list ap)
{
	return inst_vfail(ctx, NULL, file, line, func, fmt, ap);
}

void sdk_end_iteration(mite_ctx *ctx, int rc)
{
	/* Connections left open close first: a failure on one that the
	 * journey never saw still lands in the open transactions. */
	ws_session_end_iteration(ctx);
	if (rc != 0 && !ctx->failed) {
		char msg[64];

		snprintf(msg, sizeof msg, "journey returned %d", rc);
		inst_error(ctx, NULL, inst_journey_name(ctx), msg);
	}
	while (ctx->ntxn) {
		if (rc != 0)
			ctx->txn[ctx->ntxn - 1].failed = 1;
		sdk_txn_end(ctx);
	}
}

/* ---- messages, config, log ---------------------------------------------- */

static int sdk_send(mite_ctx *ctx, const char *type, const mite_field *f, size_t n)
{
	const char *labels[2];
	stats_entry *e;
	cJSON *ev;

	if (!type || !*type || (n && !f) || ctx->module_ctx)
		return MITE_EINVAL;
	ev = cJSON_CreateObject();
	if (!ev)
		return MITE_ENOMEM;
	cJSON_AddStringToObject(ev, "type", type);
	cJSON_AddNumberToObject(ev, "time", inst_now(ctx));
	cJSON_AddStringToObject(ev, "journey", inst_journey_name(ctx));
	cJSON_AddStringToObject(ev, "transaction", inst_txn_name(ctx));
	for (size_t i = 0; i < n; i++) {
		if (!f[i].key || !*f[i].key)
			continue;
		switch (f[i].type) {
		case MITE_FIELD_STR:
			cJSON_AddStringToObject(ev, f[i].key, f[i].v.s ? f[i].v.s : "");
			break;
		case MITE_FIELD_INT:
			cJSON_AddNumberToObject(ev, f[i].key, (double)f[i].v.i);
			break;
		case MITE_FIELD_DOUBLE:
			cJSON_AddNumberToObject(ev, f[i].key, f[i].v.d);
			break;
		}
	}
	inst_event(ctx, ev);
	labels[0] = inst_journey_name(ctx);
	labels[1] = type;
	e = stats_get(inst_stats(ctx), SK_SEND.name, labels, SK_SEND.nlabels);
	if (e)
		stats_add(e, 0, 1);
	return MITE_OK;
}

static const char *sdk_config_str(mite_ctx *ctx, const char *key, const char *def)
{
	const char *v = key ? inst_config(ctx, key) : NULL;

	return v ? v : def;
}

static long long sdk_config_int(mite_ctx *ctx, const char *key, long long def)
{
	const char *v = key ? inst_config(ctx, key) : NULL;
	char *end;
	long long n;

	if (!v || !*v)
		return def;
	errno = 0;
	n = strtoll(v, &end, 0);
	return (*end || errno) ? def : n;
}

static double sdk_config_double(mite_ctx *ctx, const char *key, double def)
{
	const char *v = key ? inst_config(ctx, key) : NULL;
	char *end;
	double d;

	if (!v || !*v)
		return def;
	d = strtod(v, &end);
	return *end ? def : d;
}

static void sdk_log(mite_ctx *ctx, mite_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void sdk_log(mite_ctx *ctx, mite_log_level level, const char *fmt, va_list ap)
{
	char msg[SDK_MSG_MAX];

	if (!fmt || (int)level > log_get_level())
		return;
	if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
		return;
	log_msg((int)level, "journey %s[%llu]: %s", inst_journey_name(ctx),
		(unsigned long long)ctx->id, msg);
}

/* ---- time --------------------------------------------------------------- */

static double sdk_now(mite_ctx *ctx)
{
	return inst_now(ctx);
}

static int sdk_sleep(mite_ctx *ctx, double seconds)
{
	if (ctx->module_ctx)
		return MITE_EINVAL;
	if (ctx->cancelled) {
		inst_cancelled(ctx);
		return MITE_ECANCELED;
	}
	if (!(seconds > 0))
		return MITE_OK;
	return inst_sleep(ctx, seconds);
}

static int sdk_should_stop(mite_ctx *ctx)
{
	return ctx->module_ctx ? 0 : inst_stopping(ctx);
}

/* The generator for the average-separation draw: xorshift64*, one per
 * runner thread, seeded from the first instance that draws. */
static double instance_uniform(mite_ctx *ctx)
{
	static __thread uint64_t state;

	if (!state)
		state = 0x9e3779b97f4a7c15ull ^ (ctx->id * 0xbf58476d1ce4e5b9ull);
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return (double)((state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static void sdk_separation_begin(mite_ctx *ctx, mite_separation *sep, double seconds, int average)
{
	sep->start = inst_now(ctx);
	sep->target = seconds > 0 ? seconds : 0;
	if (average)
		sep->target *= 0.5 + instance_uniform(ctx);
}

static int sdk_separation_end(mite_ctx *ctx, mite_separation *sep)
{
	double left = sep->start + sep->target - inst_now(ctx);

	if (left > 0)
		return sdk_sleep(ctx, left);
	if (ctx->cancelled) {
		inst_cancelled(ctx);
		return MITE_ECANCELED;
	}
	return MITE_OK;
}

/* ---- identity ----------------------------------------------------------- */

static void *sdk_fixture(mite_ctx *ctx)
{
	return inst_fixture(ctx);
}
static const char *sdk_journey_name(mite_ctx *ctx)
{
	return inst_journey_name(ctx);
}
static uint64_t sdk_instance_id(mite_ctx *ctx)
{
	return ctx->id;
}

static mite_api api;

const mite_api *sdk_api(void)
{
	if (!api.size) {
		api = (mite_api){
			.abi_version = MITE_ABI_VERSION,
			.size = sizeof(mite_api),
			.row_count = row_count,
			.row_str = row_str,
			.row_index = row_index,
			.row_int = row_int,
			.row_double = row_double,
			.row_id = row_id,
			.txn_begin = sdk_txn_begin,
			.txn_end = sdk_txn_end,
			.fail = sdk_vfail,
			.send = sdk_send,
			.config_str = sdk_config_str,
			.config_int = sdk_config_int,
			.config_double = sdk_config_double,
			.log = sdk_log,
			.now = sdk_now,
			.sleep = sdk_sleep,
			.should_stop = sdk_should_stop,
			.separation_begin = sdk_separation_begin,
			.separation_end = sdk_separation_end,
			.fixture = sdk_fixture,
			.journey_name = sdk_journey_name,
			.instance_id = sdk_instance_id,
			.row_out_add = row_out_add,
			.http = http_sdk_api(),
			.ws = ws_sdk_api(),
		};
	}
	return &api;
}
