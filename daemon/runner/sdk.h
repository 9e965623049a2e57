/* sdk.h - the runner's implementation of the journey SDK (mite_api). */
#ifndef MITE_RUNNER_SDK_H
#define MITE_RUNNER_SDK_H

#include <mite/mite.h>

/* Closes what an iteration left open (transactions: failed when rc != 0)
 * and records a failure for a non-zero return that recorded none. */
void sdk_end_iteration(mite_ctx *ctx, int rc);
/* A call of the running iteration returned MITE_ECANCELED (the run's grace
 * period is over, or it was stopped at once): the iteration and every
 * transaction open in it fail and are counted as cancelled, whatever the
 * journey does with the return code - never as a success. */
void sdk_cancelled(mite_ctx *ctx);
/* The last error recorded through a module-init context (for reports), or
 * NULL. */
const char *sdk_last_error(void);

#endif
