/*
 * runner_setup.c - a runner's setup message: its settings, each journey
 * (module, symbol, stack, pool), the modules' init hooks; ready, or an
 * error naming what failed.
 */
#include "runner/runner_int.h"

#include "core/coro.h"
#include "core/log.h"
#include "core/proto_msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rmodule *find_module(runner *r, module *mod)
{
	for (size_t i = 0; i < r->nmods; i++)
		if (r->mods[i].mod == mod) {
			module_close(mod); /* one reference per runner module is enough */
			return &r->mods[i];
		}
	r->mods[r->nmods].mod = mod;
	return &r->mods[r->nmods++];
}

static char **json_strv(const cJSON *arr)
{
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	char **v;
	const cJSON *it;

	if (!cJSON_IsArray(arr) || !n)
		return NULL;
	v = calloc(n + 1, sizeof *v);
	if (!v)
		return NULL;
	cJSON_ArrayForEach(it, arr) v[i++] = strdup(cJSON_IsString(it) ? it->valuestring : "");
	return v;
}

static int setup_journey(runner *r, rjourney *j, const cJSON *o, char *err, size_t errlen)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "module");
	const cJSON *sym = cJSON_GetObjectItemCaseSensitive(o, "symbol");
	const cJSON *stack = cJSON_GetObjectItemCaseSensitive(o, "stack");
	module *mod;

	if (!cJSON_IsString(name) || !cJSON_IsString(path) || !cJSON_IsString(sym)) {
		snprintf(err, errlen, "setup: journey %d lacks name, module or symbol", j->idx);
		return -EINVAL;
	}
	j->name = strdup(name->valuestring);
	j->columns = json_strv(cJSON_GetObjectItemCaseSensitive(o, "columns"));
	j->stack = msg_num(stack, MSG_STACK_MAX, 0) >= CORO_MIN_STACK ? (size_t)stack->valuedouble
								      : CORO_DEFAULT_STACK;
	j->open = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "open"));
	j->has_pool = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "pool"));
	j->recyclable = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "recyclable"));
	if (!j->name)
		return -ENOMEM;
	mod = module_open(path->valuestring, runner_api(), err, errlen);
	if (!mod)
		return -EINVAL;
	j->rm = find_module(r, mod);
	j->fn = (mite_journey_fn)(uintptr_t)module_sym(j->rm->mod, sym->valuestring, err, errlen);
	if (!j->fn)
		return -EINVAL;
	j->st_journey = stats_get(&r->st, SK_JOURNEY.name, (const char *const *)&j->name,
				  SK_JOURNEY.nlabels);
	j->st_lag = stats_get(&r->st, SK_LAG.name, (const char *const *)&j->name, SK_LAG.nlabels);
	if (!j->st_journey || !j->st_lag)
		return -ENOMEM;
	uv_timer_init(r->loop, &j->spread);
	j->spread.data = j;
	return 0;
}

static int init_modules(runner *r, char *err, size_t errlen)
{
	for (size_t i = 0; i < r->nmods; i++) {
		rmodule *m = &r->mods[i];
		const mite_module_info *info = module_info(m->mod);
		mite_ctx ctx;

		if (!info->init)
			continue;
		memset(&ctx, 0, sizeof ctx);
		ctx.ops = &runner_ops;
		ctx.r = r;
		ctx.module_ctx = 1;
		/* A journey of the module, for names in logs and errors. */
		for (size_t k = 0; k < r->nj; k++)
			if (r->j[k].rm == m) {
				ctx.j = &r->j[k];
				break;
			}
		if (info->init(&ctx, &m->fixture) != 0) {
			snprintf(err, errlen, "%s: init hook failed%s%s", module_path(m->mod),
				 inst_last_error() ? ": " : "",
				 inst_last_error() ? inst_last_error() : "");
			return -EINVAL;
		}
		m->inited = 1;
	}
	return 0;
}


/* The run's settings in a setup message: what is not valid is left at
 * its default. */
static void take_settings(runner *r, const cJSON *m)
{
	const cJSON *v;

	kvl_from_json(&r->config, cJSON_GetObjectItemCaseSensitive(m, "config"));
	r->tick = msg_num(cJSON_GetObjectItemCaseSensitive(m, "tick"), MSG_SECS_MAX, 0.1);
	r->http_events = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "http_events"));
	v = cJSON_GetObjectItemCaseSensitive(m, "debug");
	r->debug = cJSON_IsNumber(v) &&
			(v->valueint == PROTO_DEBUG_FIRST || v->valueint == PROTO_DEBUG_ALL)
		? v->valueint
		: 0;
	v = cJSON_GetObjectItemCaseSensitive(m, "trace_instance");
	r->trace_instance = cJSON_IsNumber(v) && v->valuedouble >= 1 &&
			v->valuedouble <= (double)PROTO_TRACE_INSTANCE_MAX
		? (uint64_t)v->valuedouble
		: 0;
	v = cJSON_GetObjectItemCaseSensitive(m, "elapsed");
	r->t0_ns = uv_hrtime() - (uint64_t)(msg_num(v, MSG_ELAPSED_MAX, 0) * 1e9);
}

void runner_setup_do(runner *r, const cJSON *m)
{
	const cJSON *js = cJSON_GetObjectItemCaseSensitive(m, "journeys"), *o;
	char err[1024] = "";
	size_t n, i = 0;

	if (r->state != R_SETUP || r->j) {
		runner_send_error(r, "setup: runner already set up");
		return;
	}
	n = (size_t)cJSON_GetArraySize(js);
	if (!cJSON_IsArray(js) || !n) {
		runner_send_error(r, "setup: no journeys");
		return;
	}
	take_settings(r, m);
	r->j = calloc(n, sizeof *r->j);
	r->mods = calloc(n, sizeof *r->mods);
	if (!r->j || !r->mods) {
		runner_send_error(r, "setup: out of memory");
		return;
	}
	cJSON_ArrayForEach(o, js)
	{
		rjourney *j = &r->j[i];

		j->r = r;
		j->idx = (int)i;
		r->nj = ++i;
		if (setup_journey(r, j, o, err, sizeof err) < 0) {
			runner_send_error(r, err[0] ? err : "setup: out of memory");
			return;
		}
	}
	if (init_modules(r, err, sizeof err) < 0) {
		runner_send_error(r, err);
		return;
	}
	runner_stats_start(
		r,
		msg_num(cJSON_GetObjectItemCaseSensitive(m, "stats_interval"), MSG_SECS_MAX, 1.0));
	r->state = R_RUNNING;
	proto_send(r->t, proto_new(PROTO_READY));
}
