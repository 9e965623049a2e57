/*
 * mite.h - the journey SDK of mite, the load-testing framework.
 *
 * A journey is a plain C function in a shared object:
 *
 *     #include <mite/mite.h>
 *     MITE_MODULE(NULL, NULL);
 *
 *     int journey(mite_ctx *ctx, const mite_row *row)
 *     {
 *         mite_txn_begin(ctx, "login");
 *         ...
 *         return mite_txn_end(ctx);
 *     }
 *
 * built with `cc -shared -fPIC $(pkg-config --cflags --libs mite) j.c -o j.so`
 * and named in a scenario as "j.so:journey".
 *
 * This header includes only libc headers and exposes no internal type. Every
 * call is resolved through a function table that the loader hands to the
 * module before any of the module's code runs (as Redis modules do), so a
 * module links against nothing. Calls marked "May yield" park the journey's
 * coroutine and let the runner's event loop run other journeys meanwhile; a
 * journey must never block the thread itself (no sleep(3), no blocking
 * sockets): use the SDK's calls instead.
 *
 * Return convention: 0 (MITE_OK) on success, a negative MITE_E* code on
 * failure, unless a call's comment says otherwise.
 */
#ifndef MITE_MITE_H
#define MITE_MITE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes. A module built against another ABI is
 * refused at load, with a message naming both versions. */
#define MITE_ABI_VERSION 1
#define MITE_MODULE_MAGIC 0x4d495445u /* "MITE" */

/* Return codes. */
#define MITE_OK 0
#define MITE_EFAIL (-1) /* the journey failed (see mite_fail) */
#define MITE_ECANCELED (-2) /* the run is being cancelled: return promptly */
#define MITE_EINVAL (-3) /* a bad argument */
#define MITE_ENOMEM (-4) /* out of memory */
#define MITE_ETIMEDOUT (-5) /* an operation timed out */
#define MITE_EIO (-6) /* a transport error (see the HTTP calls) */
#define MITE_ECLOSED (-7) /* the peer closed the connection (see <mite/ws.h>) */

/* A volume model returns this to end the load of its journey. */
#define MITE_STOP (-1L)

typedef struct mite_ctx mite_ctx; /* one journey instance; owned by mite */
typedef struct mite_row mite_row; /* one datapool row; owned by mite */

/* A journey: returns 0 when the iteration succeeded, non-zero when it
 * failed. A non-zero return ends this instance; a new one starts if the
 * volume model still asks for it. Transactions left open are ended (failed
 * when the journey failed). */
typedef int (*mite_journey_fn)(mite_ctx *ctx, const mite_row *row);

/* Optional per-module hooks. init runs once per runner before any journey
 * of the module, may read config (mite_config_*) and log, and stores in
 * *fixture whatever all instances share (read it with mite_fixture). Return
 * non-zero to refuse the run; a message set with mite_fail is reported.
 * fini runs once when the runner is done with the module. Neither may yield. */
typedef int (*mite_init_fn)(mite_ctx *ctx, void **fixture);
typedef void (*mite_fini_fn)(void *fixture);

/* A typed field of a custom message (see mite_send). */
typedef enum mite_field_type {
	MITE_FIELD_STR,
	MITE_FIELD_INT,
	MITE_FIELD_DOUBLE,
} mite_field_type;

typedef struct mite_field {
	const char *key;
	mite_field_type type;
	union {
		const char *s;
		long long i;
		double d;
	} v;
} mite_field;

#define MITE_STR(k, val) ((mite_field){ .key = (k), .type = MITE_FIELD_STR, .v.s = (val) })
#define MITE_INT(k, val) ((mite_field){ .key = (k), .type = MITE_FIELD_INT, .v.i = (val) })
#define MITE_DOUBLE(k, val) ((mite_field){ .key = (k), .type = MITE_FIELD_DOUBLE, .v.d = (val) })

/* Log levels for mite_log. */
typedef enum mite_log_level {
	MITE_LOG_ERROR = 3,
	MITE_LOG_WARNING = 4,
	MITE_LOG_INFO = 6,
	MITE_LOG_DEBUG = 7,
} mite_log_level;

/* Pacing state for the separation helpers; lives on the journey's stack. */
typedef struct mite_separation {
	double start; /* seconds since run start when the block began */
	double target; /* the block's minimum duration in seconds */
} mite_separation;

struct mite_http_api; /* declared in <mite/http.h> */
struct mite_ws_api; /* declared in <mite/ws.h> */
struct mite_row_out; /* declared in <mite/datapool.h> */

/*
 * The function table. Its layout only grows: new calls are appended and
 * `size` tells a module how much of it its mite provides. Call the wrappers
 * below rather than the table.
 */
typedef struct mite_api {
	uint32_t abi_version;
	uint32_t size;

	/* rows */
	size_t (*row_count)(const mite_row *row);
	const char *(*row_str)(const mite_row *row, size_t i);
	int (*row_index)(const mite_row *row, const char *column);
	long long (*row_int)(const mite_row *row, size_t i, long long def);
	double (*row_double)(const mite_row *row, size_t i, double def);
	uint64_t (*row_id)(const mite_row *row);

	/* transactions and errors */
	int (*txn_begin)(mite_ctx *ctx, const char *name);
	int (*txn_end)(mite_ctx *ctx);
	int (*fail)(mite_ctx *ctx, const char *file, int line, const char *func, const char *fmt,
		    va_list ap);

	/* messages, config, logging */
	int (*send)(mite_ctx *ctx, const char *type, const mite_field *fields, size_t n);
	const char *(*config_str)(mite_ctx *ctx, const char *key, const char *def);
	long long (*config_int)(mite_ctx *ctx, const char *key, long long def);
	double (*config_double)(mite_ctx *ctx, const char *key, double def);
	void (*log)(mite_ctx *ctx, mite_log_level level, const char *fmt, va_list ap);

	/* time and scheduling */
	double (*now)(mite_ctx *ctx);
	int (*sleep)(mite_ctx *ctx, double seconds);
	int (*should_stop)(mite_ctx *ctx);
	void (*separation_begin)(mite_ctx *ctx, mite_separation *sep, double seconds, int average);
	int (*separation_end)(mite_ctx *ctx, mite_separation *sep);

	/* identity */
	void *(*fixture)(mite_ctx *ctx);
	const char *(*journey_name)(mite_ctx *ctx);
	uint64_t (*instance_id)(mite_ctx *ctx);

	/* datapool plugins: see <mite/datapool.h> */
	int (*row_out_add)(struct mite_row_out *out, const char *value);

	/* HTTP: see <mite/http.h>; NULL when the runner has no HTTP support. */
	const struct mite_http_api *http;

	/* WebSocket: see <mite/ws.h>. Took a spare slot: NULL in a mite
	 * without it (the wrappers check). */
	const struct mite_ws_api *ws;

	void *spare[7];
} mite_api;

/* The descriptor every module carries once (see MITE_MODULE). The loader
 * reads `magic` and `abi_version` before anything else, so those two fields
 * keep their place in every ABI. */
typedef struct mite_module_info {
	uint32_t magic;
	uint32_t abi_version;
	uint32_t size;
	const char *sdk_version;
	const mite_api **api; /* the loader stores the table here */
	mite_init_fn init;
	mite_fini_fn fini;
	void *spare[4];
} mite_module_info;

#define MITE_SDK_VERSION "0.1.0"

/* Marks a journey (or datapool, or volume model) for export, for modules
 * built with -fvisibility=hidden; harmless otherwise. */
#define MITE_EXPORT __attribute__((visibility("default")))

/* The table, set by the loader; hidden so that modules never share it. */
extern const mite_api *mite__api __attribute__((visibility("hidden")));

/*
 * MITE_MODULE(init, fini): the ABI stamp. Use it exactly once per module, at
 * file scope, with the module's init and fini hooks (or NULL).
 */
#define MITE_MODULE(init_fn, fini_fn)                                                 \
	const mite_api *mite__api __attribute__((visibility("hidden")));              \
	__attribute__((visibility("default"))) const mite_module_info mite_module = { \
		.magic = MITE_MODULE_MAGIC,                                           \
		.abi_version = MITE_ABI_VERSION,                                      \
		.size = sizeof(mite_module_info),                                     \
		.sdk_version = MITE_SDK_VERSION,                                      \
		.api = &mite__api,                                                    \
		.init = (init_fn),                                                    \
		.fini = (fini_fn),                                                    \
	}

/* ---- rows ---------------------------------------------------------------
 * A row is valid for the whole iteration it was handed to; mite owns it.
 * Values are strings as the pool holds them; typed accessors parse them.
 * None of these yields. */

/* Number of values in the row (0 for a journey without a datapool). */
static inline size_t mite_row_count(const mite_row *row)
{
	return mite__api->row_count(row);
}
/* Value i as a string, or NULL when i is out of range. Owned by mite. */
static inline const char *mite_row_str(const mite_row *row, size_t i)
{
	return mite__api->row_str(row, i);
}
/* Index of a named column (CSV header, named inline columns), or -1. */
static inline int mite_row_index(const mite_row *row, const char *column)
{
	return mite__api->row_index(row, column);
}
/* Value i as an integer; `def` when missing or not an integer. */
static inline long long mite_row_int(const mite_row *row, size_t i, long long def)
{
	return mite__api->row_int(row, i, def);
}
/* Value i as a double; `def` when missing or not a number. */
static inline double mite_row_double(const mite_row *row, size_t i, double def)
{
	return mite__api->row_double(row, i, def);
}
/* The row's id within its pool (stable; recyclable rows come back with it). */
static inline uint64_t mite_row_id(const mite_row *row)
{
	return mite__api->row_id(row);
}
/* Value of a named column as a string, or NULL. Owned by mite. */
static inline const char *mite_row_get(const mite_row *row, const char *column)
{
	int i = mite__api->row_index(row, column);
	return i < 0 ? NULL : mite__api->row_str(row, (size_t)i);
}

/* ---- transactions --------------------------------------------------------
 * A transaction times what happens between begin and end. Transactions nest:
 * an inner one is recorded as "outer :: inner". Neither call yields. */

/* Opens a transaction. Returns 0, or MITE_EINVAL (NULL/empty name, nesting
 * deeper than 16). The name is copied. */
static inline int mite_txn_begin(mite_ctx *ctx, const char *name)
{
	return mite__api->txn_begin(ctx, name);
}
/* Ends the innermost transaction and records it. Returns 0 when it
 * succeeded, MITE_EFAIL when it (or anything inside it) failed, MITE_EINVAL
 * when none is open. */
static inline int mite_txn_end(mite_ctx *ctx)
{
	return mite__api->txn_end(ctx);
}

/* mite_fail(ctx, fmt, ...): records an error with the caller's
 * file:line:function on the innermost open transaction and marks every
 * enclosing transaction failed. Returns MITE_EFAIL, so a journey can end
 * with `return mite_fail(ctx, "bad status %d", st);`. Does not yield. */
static inline int mite__fail(mite_ctx *ctx, const char *file, int line, const char *func,
			     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline int mite__fail(mite_ctx *ctx, const char *file, int line, const char *func,
			     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = mite__api->fail(ctx, file, line, func, fmt, ap);
	va_end(ap);
	return rc;
}
#define mite_fail(ctx, ...) mite__fail((ctx), __FILE__, __LINE__, __func__, __VA_ARGS__)

/* ---- messages, config, logging ------------------------------------------ */

/* mite_send(ctx, type, MITE_STR("k", v), MITE_INT("n", 3), ...): sends a
 * custom message into the run's result stream. Strings are copied. Returns 0
 * or MITE_EINVAL. Does not yield. */
static inline int mite_send_fields(mite_ctx *ctx, const char *type, const mite_field *f, size_t n)
{
	return mite__api->send(ctx, type, f, n);
}
#define mite_send(ctx, type, ...)                                            \
	mite_send_fields((ctx), (type), (const mite_field[]){ __VA_ARGS__ }, \
			 sizeof((const mite_field[]){ __VA_ARGS__ }) / sizeof(mite_field))

/* Config values come from the scenario's `config` block, then
 * MITE_CONF_<key> in the environment of the command that started the run,
 * then `--set key=value`; later ones win. None of these yields. */

/* The value of `key`, or `def` when unset. Owned by mite, valid for the run. */
static inline const char *mite_config_str(mite_ctx *ctx, const char *key, const char *def)
{
	return mite__api->config_str(ctx, key, def);
}
/* The value of `key` as an integer, or `def` when unset or not an integer. */
static inline long long mite_config_int(mite_ctx *ctx, const char *key, long long def)
{
	return mite__api->config_int(ctx, key, def);
}
/* The value of `key` as a double, or `def` when unset or not a number. */
static inline double mite_config_double(mite_ctx *ctx, const char *key, double def)
{
	return mite__api->config_double(ctx, key, def);
}

/* Logs a line tagged with the journey and instance. Does not yield. */
static inline void mite_log(mite_ctx *ctx, mite_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void mite_log(mite_ctx *ctx, mite_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	mite__api->log(ctx, level, fmt, ap);
	va_end(ap);
}

/* ---- time and scheduling ------------------------------------------------ */

/* Seconds since the run started (the runner loop's clock). Does not yield. */
static inline double mite_now(mite_ctx *ctx)
{
	return mite__api->now(ctx);
}
/* Sleeps without blocking the runner. May yield. Returns 0, or
 * MITE_ECANCELED when the run is cancelled meanwhile. */
static inline int mite_sleep(mite_ctx *ctx, double seconds)
{
	return mite__api->sleep(ctx, seconds);
}
/* Non-zero once the run is stopping: finish the iteration and return. */
static inline int mite_should_stop(mite_ctx *ctx)
{
	return mite__api->should_stop(ctx);
}

/* The original mite's pacing helpers: pad a block to a minimum duration.
 *
 *     mite_separation s;
 *     mite_ensure_fixed_separation(ctx, &s, 5.0);
 *     ... the block ...
 *     mite_separation_wait(ctx, &s);   // sleeps what is left of the 5 s
 *
 * mite_ensure_average_separation draws the block's duration so that blocks
 * average `mean` seconds (uniform over [0.5, 1.5] x mean). Neither begin call
 * yields; mite_separation_wait may yield and returns as mite_sleep does. */
static inline void mite_ensure_fixed_separation(mite_ctx *ctx, mite_separation *s, double seconds)
{
	mite__api->separation_begin(ctx, s, seconds, 0);
}
static inline void mite_ensure_average_separation(mite_ctx *ctx, mite_separation *s, double mean)
{
	mite__api->separation_begin(ctx, s, mean, 1);
}
static inline int mite_separation_wait(mite_ctx *ctx, mite_separation *s)
{
	return mite__api->separation_end(ctx, s);
}

/* ---- identity ----------------------------------------------------------- */

/* What the module's init hook stored, or NULL. Shared by every instance of
 * the module in this runner; the module owns it (free it in fini). */
static inline void *mite_fixture(mite_ctx *ctx)
{
	return mite__api->fixture(ctx);
}
/* The journey's name as the scenario gives it. Owned by mite. */
static inline const char *mite_journey_name(mite_ctx *ctx)
{
	return mite__api->journey_name(ctx);
}
/* A number unique to this instance within its run. */
static inline uint64_t mite_instance_id(mite_ctx *ctx)
{
	return mite__api->instance_id(ctx);
}

/* ---- plugin settings ----------------------------------------------------
 * Datapool and volume-model plugins receive the other settings of their
 * scenario block as `args`: a NULL-terminated list of key, value strings
 * (numbers and booleans as they were written). Owned by mite. */

/* The setting `key`, or `def`. */
static inline const char *mite_arg(const char *const *args, const char *key, const char *def)
{
	for (; args && args[0]; args += 2)
		if (strcmp(args[0], key) == 0)
			return args[1];
	return def;
}

/* The setting `key` as an integer, or `def` when unset or not an integer. */
static inline long long mite_arg_int(const char *const *args, const char *key, long long def)
{
	const char *s = mite_arg(args, key, NULL);
	char *end;
	long long v;
	if (!s || !*s)
		return def;
	v = strtoll(s, &end, 0);
	return *end ? def : v;
}

/* The setting `key` as a double, or `def` when unset or not a number. */
static inline double mite_arg_double(const char *const *args, const char *key, double def)
{
	const char *s = mite_arg(args, key, NULL);
	char *end;
	double v;
	if (!s || !*s)
		return def;
	v = strtod(s, &end);
	return *end ? def : v;
}

#ifdef __cplusplus
}
#endif

#endif /* MITE_MITE_H */
