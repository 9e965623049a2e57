/*
 * crash.c - journeys that kill their runner: `journey` dereferences NULL,
 * `overflow` recurses until it hits its stack's guard page. Loading the
 * module must run neither.
 */
#include <mite/mite.h>


MITE_MODULE(NULL, NULL);

MITE_EXPORT int journey(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int overflow(mite_ctx *ctx, const mite_row *row);

/* Volatile, so that the compiler can prove neither the NULL nor the end of
 * the recursion, and emits the real fault rather than a trap or a loop. */
static int *volatile nowhere;
static volatile int never;

int journey(mite_ctx *ctx, const mite_row *row)
{
	(void)ctx;
	(void)row;
	return *nowhere;
}

static int deeper(volatile char *prev, int depth)
{
	volatile char frame[512];

	frame[0] = (char)depth;
	frame[511] = prev ? prev[0] : 0;
	if (never)
		return frame[0];
	return deeper(frame, depth + 1) + frame[511];
}

int overflow(mite_ctx *ctx, const mite_row *row)
{
	(void)ctx;
	(void)row;
	return deeper(NULL, 0);
}
