/*
 * http_config.h - the run's http_* config keys (http_engine,
 * http_body_limit, http_session_body_limit, http2_max_streams), read once
 * by the engine, at its first session: they hold for the run.
 */
#ifndef MITE_RUNNER_HTTP_CONFIG_H
#define MITE_RUNNER_HTTP_CONFIG_H

#include "runner/http_int.h"

/* Reads the keys through ctx's host into e, with a warning for a value
 * that is not one (the default then holds). */
void http_config_read(http_engine *e, struct mite_ctx *ctx);

#endif
