/* http_config.c - see http_config.h. */
#include "runner/http_config.h"

#include "runner/h2.h"

#include "core/log.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* A size from the run's config key, or def (with a warning for a value
 * that is not a size). */
static size_t config_size(http_engine *e, struct mite_ctx *ctx, const char *key, size_t def)
{
	const char *v = e->host->config(ctx, key);
	size_t n;

	if (!v)
		return def;
	if (util_parse_size(v, &n) == 0)
		return n;
	log_warn("http: config %s = \"%s\" is not a size (bytes > 0, or with K, M or G): "
		 "using %zu",
		 key, v, def);
	return def;
}

/* The run's http_* config keys: they hold for the run, as the engine does. */
void http_config_read(http_engine *e, struct mite_ctx *ctx)
{
	const char *m = e->host->config(ctx, "http_engine");

	e->config_read = 1;
	if (m && strcmp(m, "curl") == 0)
		e->mode = ENGINE_CURL;
	else if (m && *m && strcmp(m, "auto") != 0)
		log_warn("http: unknown http_engine \"%s\" (auto or curl): using auto", m);
	e->max_body = config_size(e, ctx, "http_body_limit", HTTP_DEFAULT_MAX_BODY);
	e->max_held = config_size(e, ctx, "http_session_body_limit", HTTP_DEFAULT_MAX_HELD);
	e->batch_conns = HTTP_BATCH_CONNS;
	if ((m = e->host->config(ctx, "http_batch_connections"))) {
		char *end;
		unsigned long v = strtoul(m, &end, 10);
		if (*m < '0' || *m > '9' || *end || v < 1 || v > MITE_HTTP_BATCH_MAX)
			log_warn(
				"http: config http_batch_connections = \"%s\" is not a number from 1 "
				"to %d: using %d",
				m, MITE_HTTP_BATCH_MAX, HTTP_BATCH_CONNS);
		else
			e->batch_conns = (int)v;
	}
	if ((m = e->host->config(ctx, "http2_max_streams"))) {
		char *end;
		unsigned long v = strtoul(m, &end, 10);
		if (*m < '0' || *m > '9' || *end || v < 1 || v > H2_MAX_STREAMS) {
			log_warn(
				"http: config http2_max_streams = \"%s\" is not a number from 1 to %d: "
				"using %d",
				m, H2_MAX_STREAMS, H2_DEFAULT_STREAMS);
			v = H2_DEFAULT_STREAMS;
		}
		if (e->native)
			http_native_set_h2_streams(e->native, (uint32_t)v);
		curl_multi_setopt(e->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)v);
	}
}
