/* sdk.h - the runner's implementation of the journey SDK (mite_api). */
#ifndef MITE_RUNNER_SDK_H
#define MITE_RUNNER_SDK_H

#include <mite/mite.h>

/* Closes what an iteration left open (transactions: failed when rc != 0)
 * and records a failure for a non-zero return that recorded none. */
void sdk_end_iteration(mite_ctx *ctx, int rc);
/* The SDK function table every module opened in this process receives
 * (runner.h's runner_api). */
const mite_api *sdk_api(void);

#endif
