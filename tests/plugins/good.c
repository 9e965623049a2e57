/*
 * good.c - a well-formed test module: a journey, a volume model and a
 * datapool, each exported by name as a scenario would name them.
 */
#include <mite/datapool.h>
#include <mite/mite.h>
#include <mite/volume.h>
#include <stdio.h>
#include <stdlib.h>


MITE_MODULE(NULL, NULL);

MITE_EXPORT int journey(mite_ctx *ctx, const mite_row *row);
MITE_EXPORT long spike(double start, double end, const char *const *args);
MITE_EXPORT long broken(double start, double end, const char *const *args);

/* The journey that does nothing and succeeds. */
int journey(mite_ctx *ctx, const mite_row *row)
{
	(void)ctx;
	(void)row;
	return 0;
}

/* The volume.h example: 10 for 30 s, then `peak` (default 100) until 60 s,
 * then stop. */
long spike(double start, double end, const char *const *args)
{
	(void)end;
	if (start >= 60)
		return MITE_STOP;
	return start < 30 ? 10 : mite_arg_int(args, "peak", 100);
}

/* A volume model that fails: returns `code` (default -7) after 1 s. */
long broken(double start, double end, const char *const *args)
{
	(void)end;
	return start < 1 ? 1 : (long)mite_arg_int(args, "code", -7);
}

/* A datapool of `count` rows (default 3) ("user<i>", "<i>"). open fails
 * when fail_open is set; next fails at row `fail_at` when set. */
struct pool_state {
	long long n, count, fail_at;
};

static void *pool_open(const char *const *args, char *err, size_t errlen)
{
	struct pool_state *st;

	if (mite_arg_int(args, "fail_open", 0)) {
		snprintf(err, errlen, "asked to fail");
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->count = mite_arg_int(args, "count", 3);
	st->fail_at = mite_arg_int(args, "fail_at", -1);
	return st;
}

static int pool_next(void *state, mite_row_out *out, char *err, size_t errlen)
{
	struct pool_state *st = state;
	char buf[32];
	int rc;

	if (st->n == st->fail_at) {
		snprintf(err, errlen, "row %lld is broken", st->n);
		return -1;
	}
	if (st->n >= st->count)
		return 0;
	snprintf(buf, sizeof(buf), "user%lld", st->n);
	rc = mite_row_out_add(out, buf);
	if (rc != 1)
		return -1;
	snprintf(buf, sizeof(buf), "%lld", st->n);
	rc = mite_row_out_add(out, buf);
	st->n++;
	return rc;
}

static void pool_close(void *state)
{
	free(state);
}

static const char *const pool_columns[] = { "user", "n", NULL };

MITE_EXPORT const mite_datapool_plugin pool = {
	.abi_version = MITE_ABI_VERSION,
	.size = sizeof(mite_datapool_plugin),
	.columns = pool_columns,
	.open = pool_open,
	.next = pool_next,
	.close = pool_close,
};

/* The same pool, stamped for another ABI. */
MITE_EXPORT const mite_datapool_plugin oldpool = {
	.abi_version = 999,
	.size = sizeof(mite_datapool_plugin),
	.open = pool_open,
	.next = pool_next,
	.close = pool_close,
};
