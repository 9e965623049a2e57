/*
 * hang.c - a journey that never yields: it spins forever on the runner's
 * only thread, so the runner's loop stops (no stats, no keepalive) and
 * mited's watchdog must kill and replace the runner.
 */
#include <mite/mite.h>

#define EXPORT __attribute__((visibility("default")))

MITE_MODULE(NULL, NULL);

EXPORT int journey(mite_ctx *ctx, const mite_row *row);

static volatile unsigned long spins;

int journey(mite_ctx *ctx, const mite_row *row)
{
	(void)ctx;
	(void)row;
	for (;;)
		spins++;
	return 0;
}
