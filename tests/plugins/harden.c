/*
 * harden.c - journeys and a datapool that push mited where it must hold:
 *
 *   slow_pool  a datapool whose open takes `sleep` seconds (a scenario
 *              parse that takes long: mited must parse off its loop)
 *   hog        allocates `step` MiB (default 8) per iteration and keeps it,
 *              yielding between: grows until its runner's memory limit
 *   burst      allocates and touches 64 MiB blocks without ever yielding:
 *              ended by the runner's memory watch, or, under an address
 *              space limit, writes through the NULL malloc returns there
 *              (a crash at the limit)
 *   chatty     writes `lines` lines (default 2000) of 100 bytes to stderr
 *              per iteration
 *   badtext    names a transaction, fails, and sends a message with bytes
 *              that are not UTF-8, and a message whose type is 3000 bytes
 *   manytxn    1500 transactions of distinct names per iteration
 */
#include <mite/datapool.h>
#include <mite/mite.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

MITE_MODULE(NULL, NULL);

MITE_EXPORT int hog(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int burst(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int chatty(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int badtext(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT int manytxn(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT extern const mite_datapool_plugin slow_pool;

struct slow_state {
	long long n, count;
};

static void *slow_open(const char *const *args, char *err, size_t errlen)
{
	struct slow_state *st = calloc(1, sizeof(*st));
	double secs = mite_arg_double(args, "sleep", 5);

	(void)err;
	(void)errlen;
	if (!st)
		return NULL;
	st->count = mite_arg_int(args, "count", 10);
	/* Not interruptible: a plugin that takes its time, as some do. */
	while (secs > 0) {
		usleep(secs > 0.1 ? 100000 : (useconds_t)(secs * 1e6));
		secs -= 0.1;
	}
	return st;
}

static int slow_next(void *state, mite_row_out *out, char *err, size_t errlen)
{
	struct slow_state *st = state;
	char buf[32];

	(void)err;
	(void)errlen;
	if (st->n >= st->count)
		return 0;
	snprintf(buf, sizeof(buf), "%lld", st->n++);
	return mite_row_out_add(out, buf);
}

static void slow_close(void *state)
{
	free(state);
}

const mite_datapool_plugin slow_pool = {
	.abi_version = MITE_ABI_VERSION,
	.size = sizeof(mite_datapool_plugin),
	.open = slow_open,
	.next = slow_next,
	.close = slow_close,
};

/* What hog allocated: kept reachable, so that no compiler drops the
 * allocation as unused. */
static void *volatile hog_kept[65536];
static size_t hog_n;

int hog(mite_ctx *ctx, const mite_row *row)
{
	size_t step = (size_t)mite_config_int(ctx, "step", 8) << 20;
	volatile char *p = malloc(step);

	(void)row;
	if (!p)
		return mite_fail(ctx, "out of memory");
	/* Touch every page: resident, not just reserved. Never freed. */
	for (size_t i = 0; i < step; i += 4096)
		p[i] = 0x5a;
	hog_kept[hog_n++ % 65536] = (void *)p;
	mite_sleep(ctx, mite_config_double(ctx, "pause", 0.02));
	return 0;
}

int burst(mite_ctx *ctx, const mite_row *row)
{
	(void)ctx;
	(void)row;
	for (;;) {
		volatile char *p = malloc((size_t)64 << 20);

		/* At the limit, p is NULL: this write is the crash. */
		for (size_t i = 0; i < ((size_t)64 << 20); i += 4096)
			p[i] = 1;
	}
	return 0;
}

int chatty(mite_ctx *ctx, const mite_row *row)
{
	long long lines = mite_config_int(ctx, "lines", 2000);

	(void)row;
	for (long long i = 0; i < lines; i++)
		fprintf(stderr, "chatty line %08lld: %s\n", i,
			"................................................................................");
	mite_sleep(ctx, 0.01);
	return 0;
}

int badtext(mite_ctx *ctx, const mite_row *row)
{
	char type[3001];

	(void)row;
	memset(type, 't', sizeof(type) - 1);
	type[sizeof(type) - 1] = '\0';
	mite_send(ctx, type, MITE_INT("n", 2));
	mite_txn_begin(ctx, "txn \xff\xfe bad");
	mite_send(ctx, "note\xc3", MITE_STR("text", "caf\xe9 \xed\xa0\x80"), MITE_INT("n", 1));
	mite_sleep(ctx, 0.05);
	mite_fail(ctx, "failed on \xc3\x28 and \xf8");
	return mite_txn_end(ctx);
}

int manytxn(mite_ctx *ctx, const mite_row *row)
{
	char name[32];

	(void)row;
	for (int i = 0; i < 1500; i++) {
		snprintf(name, sizeof(name), "t%04d", i);
		mite_txn_begin(ctx, name);
		mite_txn_end(ctx);
	}
	return mite_sleep(ctx, 0.2);
}
