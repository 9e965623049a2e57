/* sdk.h - the runner's implementation of the journey SDK (mite_api). */
#ifndef MITE_RUNNER_SDK_H
#define MITE_RUNNER_SDK_H

#include <mite/mite.h>

/* Closes what an iteration left open (transactions: failed when rc != 0)
 * and records a failure for a non-zero return that recorded none. */
void sdk_end_iteration(mite_ctx *ctx, int rc);
/* The last error recorded through a module-init context (for reports), or
 * NULL. */
const char *sdk_last_error(void);

#endif
