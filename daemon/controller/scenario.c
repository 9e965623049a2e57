/*
 * scenario.c - scenario files (libconfig), see mite-scenario(5).
 *
 * Everything is validated at load, in file order within each block, and
 * the first problem is reported as one line "file:line: what is wrong":
 * unknown keys (naming what is allowed there), missing or mistyped keys,
 * bad values, modules that cannot be found, opened or that lack a symbol,
 * ABI mismatches, malformed CSV rows (with the CSV's own file:line). On any
 * error everything built so far is freed and every module closed.
 */
#include "controller/scenario.h"

#include "controller/cfg.h"
#include "controller/cfgbound.h"
#include "core/coro.h"
#include "core/util.h"
#include "core/utf8.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SCN_MAX_STACK (64L * 1024 * 1024)
#define SCN_MAX_STEPS 1024
#define SCN_NAME_MAX 512

/* What modules get when the caller has no SDK table: the row calls, which
 * are all a datapool plugin may use inside the controller. */
static const mite_api scn_min_api = {
	.abi_version = MITE_ABI_VERSION,
	.size = sizeof(mite_api),
	.row_count = row_count,
	.row_str = row_str,
	.row_index = row_index,
	.row_int = row_int,
	.row_double = row_double,
	.row_id = row_id,
	.row_out_add = row_out_add,
};

typedef struct scn_load {
	const char *path; /* the scenario, canonical */
	const char *dir; /* its folder, where relative paths start */
	const scenario_opts *o;
	const mite_api *api;
	char *err;
	size_t errlen;
	cfg_reader R; /* messages: "file:line: ..." */
} scn_load;

/* A load that mited gives up (it is shutting down) stops between steps. */
static int scn_cancelled(scn_load *L)
{
	if (!L->o->cancel || !atomic_load(L->o->cancel))
		return 0;
	snprintf(L->err, L->errlen, "%s: cancelled: mited is shutting down", L->path);
	return 1;
}

/* A name too long to show: refused with its length and the limit. */
static int scn_check_name(scn_load *L, const config_setting_t *at, const char *what,
			  const char *name)
{
	size_t n = strlen(name);

	if (n <= SCENARIO_NAME_MAX)
		return 0;
	return cfg_fail(&L->R, at, "%s is %zu bytes long, over the limit of %d bytes", what, n,
			SCENARIO_NAME_MAX);
}

/* Shortest decimal that reads back as the same double. */
static void scn_fmt_double(double v, char *buf, size_t len)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* A scalar setting as the string journeys and plugins read; NULL when it
 * is not a scalar. */
static const char *scn_scalar(const config_setting_t *s, char *buf, size_t len)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(buf, len, "%lld", config_setting_get_int64(s));
		return buf;
	case CONFIG_TYPE_FLOAT:
		scn_fmt_double(config_setting_get_float(s), buf, len);
		return buf;
	case CONFIG_TYPE_BOOL:
		return config_setting_get_bool(s) ? "true" : "false";
	case CONFIG_TYPE_STRING:
		return config_setting_get_string(s);
	}
	return NULL;
}

/* ---- modules ------------------------------------------------------------ */

/* Finds, opens and checks "module.so:symbol" named by setting `at`; the
 * symbol must be a function (func) or a data object. */
static int scn_open_sym(scn_load *L, const config_setting_t *at, const char *spec, int func,
			module **mod, void **sym, char **path_out, char **sym_out)
{
	char path[PATH_MAX], symbol[SCN_NAME_MAX], found[PATH_MAX], err[PATH_MAX + 512];

	if (module_split(spec, path, sizeof(path), symbol, sizeof(symbol), err, sizeof(err)) < 0)
		return cfg_fail(&L->R, at, "%s", err);
	if (module_find(path, L->dir, L->o->plugin_dirs, L->o->allow_any_path, found, sizeof(found),
			err, sizeof(err)) < 0)
		return cfg_fail(&L->R, at, "%s", err);
	*mod = module_open(found, L->api, err, sizeof(err));
	if (!*mod)
		return cfg_fail(&L->R, at, "%s", err);
	*sym = module_sym_typed(*mod, symbol, func, err, sizeof(err));
	if (!*sym)
		return cfg_fail(&L->R, at, "%s", err);
	if (path_out && !(*path_out = strdup(found)))
		return cfg_fail(&L->R, at, "%s", strerror(ENOMEM));
	if (sym_out && !(*sym_out = strdup(symbol)))
		return cfg_fail(&L->R, at, "%s", strerror(ENOMEM));
	return 0;
}

/* Every setting of a plugin block but `plugin` itself, as the key, value
 * list the plugin receives. */
static int scn_plugin_args(scn_load *L, const config_setting_t *g, const char *where, char ***out)
{
	int n = config_setting_length(g);
	size_t k = 0;

	*out = calloc((size_t)n * 2 + 1, sizeof(**out));
	if (!*out)
		return cfg_fail(&L->R, g, "%s", strerror(ENOMEM));
	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		char buf[64];
		const char *v;

		if (strcmp(config_setting_name(m), "plugin") == 0)
			continue;
		v = scn_scalar(m, buf, sizeof(buf));
		if (!v)
			return cfg_fail(&L->R, m,
					"'%s': settings of a %s plugin must be strings, numbers or "
					"booleans, not %s",
					config_setting_name(m), where, cfg_type_name(m));
		(*out)[k] = strdup(config_setting_name(m));
		if (!(*out)[k++])
			return cfg_fail(&L->R, m, "%s", strerror(ENOMEM));
		(*out)[k] = strdup(v);
		if (!(*out)[k++])
			return cfg_fail(&L->R, m, "%s", strerror(ENOMEM));
	}
	return 0;
}

/* ---- datapools ---------------------------------------------------------- */

static const char *const scn_pool_inline_keys[] = { "type", "mode", "columns", "rows", NULL };
static const char *const scn_pool_range_keys[] = { "type", "mode",    "from",    "to",
						   "step", "offsets", "columns", NULL };
static const char *const scn_pool_csv_keys[] = {
	"type", "mode", "file", "header", "columns", NULL
};

static int scn_pool_inline(scn_load *L, const config_setting_t *g, pool_mode mode, pool **out)
{
	const config_setting_t *rows = config_setting_get_member(g, "rows");
	const char **vals = NULL;
	char **columns = NULL, **strs = NULL;
	size_t ncols = 0, width = 0, nrows, nstrs = 0;
	char perr[512];
	int rc = -1;

	if (cfg_check_keys(&L->R, g, "an inline datapool", scn_pool_inline_keys) < 0)
		return -1;
	if (cfg_get_strv(&L->R, g, "columns", &columns, &ncols) < 0)
		goto out;
	if (!rows) {
		cfg_missing(&L->R, g, "rows", "an inline datapool");
		goto out;
	}
	if (config_setting_type(rows) != CONFIG_TYPE_LIST &&
	    config_setting_type(rows) != CONFIG_TYPE_ARRAY) {
		cfg_fail(&L->R, rows,
			 "'rows' must be a list of rows ( (1, \"a\"), (2, \"b\") ), not %s",
			 cfg_type_name(rows));
		goto out;
	}
	nrows = (size_t)config_setting_length(rows);
	if (nrows == 0) {
		cfg_fail(&L->R, rows, "'rows' is empty: an inline datapool needs at least one row");
		goto out;
	}
	width = columns ? ncols : 0;
	for (size_t r = 0; r < nrows; r++) {
		const config_setting_t *row = config_setting_get_elem(rows, (unsigned)r);
		int aggregate = config_setting_type(row) == CONFIG_TYPE_LIST ||
			config_setting_type(row) == CONFIG_TYPE_ARRAY;
		size_t w = aggregate ? (size_t)config_setting_length(row) : 1;

		if (config_setting_type(row) == CONFIG_TYPE_GROUP) {
			cfg_fail(&L->R, row, "row %zu must be a list of values ( ... ), not %s",
				 r + 1, cfg_type_name(row));
			goto out;
		}
		if (r == 0 && !columns)
			width = w;
		if (w != width) {
			cfg_fail(&L->R, row, "row %zu has %zu value%s where %s %zu", r + 1, w,
				 w == 1 ? "" : "s",
				 columns ? "'columns' names" : "the first row has", width);
			goto out;
		}
		if (w == 0) {
			cfg_fail(&L->R, row, "row %zu is empty", r + 1);
			goto out;
		}
		if (!vals) {
			if (nrows > SIZE_MAX / width / 2) {
				cfg_fail(&L->R, rows, "too many rows");
				goto out;
			}
			vals = calloc(nrows * width, sizeof(*vals));
			strs = calloc(nrows * width + 1, sizeof(*strs));
			if (!vals || !strs) {
				cfg_fail(&L->R, rows, "%s", strerror(ENOMEM));
				goto out;
			}
		}
		for (size_t c = 0; c < w; c++) {
			const config_setting_t *e =
				aggregate ? config_setting_get_elem(row, (unsigned)c) : row;
			char buf[64];
			const char *v = scn_scalar(e, buf, sizeof(buf));

			if (!v) {
				cfg_fail(
					&L->R, e,
					"row %zu: values must be strings, numbers or booleans, not %s",
					r + 1, cfg_type_name(e));
				goto out;
			}
			/* Copies, since buf is reused for the next value. */
			strs[nstrs] = strdup(v);
			if (!strs[nstrs]) {
				cfg_fail(&L->R, e, "%s", strerror(ENOMEM));
				goto out;
			}
			vals[r * width + c] = strs[nstrs++];
		}
	}
	*out = pool_new_inline(mode, (const char *const *)columns, width, vals, nrows, perr,
			       sizeof(perr));
	if (!*out) {
		cfg_fail(&L->R, g, "%s", perr);
		goto out;
	}
	rc = 0;
out:
	util_strv_free(strs);
	free(vals);
	util_strv_free(columns);
	return rc;
}

static int scn_pool_range(scn_load *L, const config_setting_t *g, pool_mode mode, pool **out)
{
	const config_setting_t *offs = config_setting_get_member(g, "offsets");
	long long from, to, step = 1, *offsets = NULL;
	char **columns = NULL;
	size_t ncols = 0, noffsets = 0;
	char perr[512];
	int rc = -1;

	if (cfg_check_keys(&L->R, g, "a range datapool", scn_pool_range_keys) < 0)
		return -1;
	if (cfg_need(&L->R, g, "from", "a range datapool", cfg_get_int(&L->R, g, "from", &from)) <
		    0 ||
	    cfg_need(&L->R, g, "to", "a range datapool", cfg_get_int(&L->R, g, "to", &to)) < 0 ||
	    cfg_get_int(&L->R, g, "step", &step) < 0)
		return -1;
	if (step == 0)
		return cfg_fail(&L->R, config_setting_get_member(g, "step"),
				"'step' must not be 0");
	if (offs) {
		if (config_setting_type(offs) != CONFIG_TYPE_ARRAY &&
		    config_setting_type(offs) != CONFIG_TYPE_LIST)
			return cfg_fail(&L->R, offs,
					"'offsets' must be an array of integers [0, 2], not %s",
					cfg_type_name(offs));
		noffsets = (size_t)config_setting_length(offs);
		if (noffsets == 0)
			return cfg_fail(&L->R, offs,
					"'offsets' is empty: give at least one, e.g. [0]");
		offsets = calloc(noffsets, sizeof(*offsets));
		if (!offsets)
			return cfg_fail(&L->R, offs, "%s", strerror(ENOMEM));
		for (size_t i = 0; i < noffsets; i++) {
			const config_setting_t *e = config_setting_get_elem(offs, (unsigned)i);
			if (config_setting_type(e) != CONFIG_TYPE_INT &&
			    config_setting_type(e) != CONFIG_TYPE_INT64) {
				cfg_fail(&L->R, e, "'offsets' must hold integers only, not %s",
					 cfg_type_name(e));
				goto out;
			}
			offsets[i] = config_setting_get_int64(e);
		}
	}
	if (cfg_get_strv(&L->R, g, "columns", &columns, &ncols) < 0)
		goto out;
	if (columns && ncols != (noffsets ? noffsets : 1)) {
		cfg_fail(&L->R, config_setting_get_member(g, "columns"),
			 "'columns' names %zu column%s but the range has %zu (one per offset)",
			 ncols, ncols == 1 ? "" : "s", noffsets ? noffsets : 1);
		goto out;
	}
	*out = pool_new_range(mode, from, to, step, offsets, noffsets, (const char *const *)columns,
			      perr, sizeof(perr));
	if (!*out) {
		cfg_fail(&L->R, g, "%s", perr);
		goto out;
	}
	rc = 0;
out:
	free(offsets);
	util_strv_free(columns);
	return rc;
}

static int scn_pool_csv(scn_load *L, const config_setting_t *g, pool_mode mode, pool **out)
{
	const config_setting_t *fs = config_setting_get_member(g, "file");
	const char *file;
	char path[PATH_MAX], perr[PATH_MAX + 256];
	char **columns = NULL;
	size_t ncols = 0;
	int header = 0, in_file = 0, n, rc = -1;

	if (cfg_check_keys(&L->R, g, "a csv datapool", scn_pool_csv_keys) < 0)
		return -1;
	if (cfg_need(&L->R, g, "file", "a csv datapool", cfg_get_str(&L->R, g, "file", &file)) < 0)
		return -1;
	if (!*file)
		return cfg_fail(&L->R, fs, "'file' is empty");
	if (cfg_get_bool(&L->R, g, "header", &header) < 0)
		return -1;
	if (cfg_get_strv(&L->R, g, "columns", &columns, &ncols) < 0)
		goto out;
	if (columns && header) {
		cfg_fail(&L->R, config_setting_get_member(g, "columns"),
			 "'columns' names the columns of a file without a header; this one has "
			 "header = true");
		goto out;
	}
	if (file[0] == '/')
		n = snprintf(path, sizeof(path), "%s", file);
	else
		n = snprintf(path, sizeof(path), "%s/%s", L->dir, file);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		cfg_fail(&L->R, fs, "'file' is too long");
		goto out;
	}
	*out = pool_new_csv(mode, path, header, (const char *const *)columns, ncols, perr,
			    sizeof(perr), &in_file);
	if (!*out) {
		/* A malformed row is located in the CSV itself. */
		if (in_file)
			snprintf(L->err, L->errlen, "%s", perr);
		else
			cfg_fail(&L->R, fs, "%s", perr);
		goto out;
	}
	rc = 0;
out:
	util_strv_free(columns);
	return rc;
}

static int scn_pool_plugin(scn_load *L, scn_journey *j, const config_setting_t *g,
			   const config_setting_t *ps, pool_mode mode)
{
	const mite_datapool_plugin *pl = NULL;
	char **args = NULL;
	char perr[512];
	void *sym;
	int rc = -1;

	if (config_setting_type(ps) != CONFIG_TYPE_STRING)
		return cfg_fail(&L->R, ps, "'plugin' must be a string \"module.so:symbol\", not %s",
				cfg_type_name(ps));
	if (config_setting_get_member(g, "type"))
		return cfg_fail(&L->R, config_setting_get_member(g, "type"),
				"a datapool has either 'type' or 'plugin', not both");
	if (scn_open_sym(L, ps, config_setting_get_string(ps), 0, &j->pool_mod, &sym, NULL, NULL) <
	    0)
		return -1;
	pl = sym;
	if (scn_plugin_args(L, g, "datapool", &args) < 0)
		goto out;
	j->pool = pool_new_plugin(mode, pl, config_setting_get_string(ps),
				  (const char *const *)args, perr, sizeof(perr));
	if (!j->pool) {
		cfg_fail(&L->R, ps, "%s", perr);
		goto out;
	}
	rc = 0;
out:
	util_strv_free(args);
	return rc;
}

/* The datapool types a scenario names, and their readers. */
static const struct {
	const char *name;
	int (*load)(scn_load *L, const config_setting_t *g, pool_mode mode, pool **out);
} scn_pool_types[] = {
	{ "inline", scn_pool_inline },
	{ "range", scn_pool_range },
	{ "csv", scn_pool_csv },
};

static int scn_pool_load(scn_load *L, scn_journey *j, const config_setting_t *g)
{
	const config_setting_t *ps = config_setting_get_member(g, "plugin");
	const char *type = NULL;
	int mode = POOL_ITERABLE, got;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cfg_fail(&L->R, g, "'datapool' must be a group { type = ...; }, not %s",
				cfg_type_name(g));
	if (cfg_get_enum(&L->R, g, "mode", pool_mode_names, &mode) < 0)
		return -1;
	if (ps)
		return scn_pool_plugin(L, j, g, ps, (pool_mode)mode);

	got = cfg_get_str(&L->R, g, "type", &type);
	if (got < 0)
		return -1;
	if (got == 0)
		return cfg_fail(&L->R, g,
				"missing required key 'type' in datapool (\"inline\", \"range\" or "
				"\"csv\"; or plugin = \"module.so:symbol\")");
	for (size_t i = 0; i < sizeof(scn_pool_types) / sizeof(scn_pool_types[0]); i++)
		if (strcmp(type, scn_pool_types[i].name) == 0)
			return scn_pool_types[i].load(L, g, (pool_mode)mode, &j->pool);
	return cfg_fail(&L->R, config_setting_get_member(g, "type"),
			"unknown datapool type \"%s\" (known: inline, range, csv; or plugin = "
			"\"module.so:symbol\")",
			type);
}

/* ---- volume models ------------------------------------------------------ */

static const char *const scn_vm_constant_keys[] = { "type", "count", "duration", NULL };
static const char *const scn_vm_ramp_keys[] = { "type", "from", "to", "over", "duration", NULL };
static const char *const scn_vm_stages_keys[] = { "type", "steps", "hold", NULL };
static const char *const scn_vm_oneshot_keys[] = { "type", "count", "duration", NULL };
static const char *const scn_vm_arrival_keys[] = { "type", "rate",     "from", "to",
						   "over", "duration", NULL };
static const char *const scn_vm_step_keys[] = { "count", "duration", "from", "to", "over", NULL };

/* A count: a non-negative integer. */
static int scn_get_count(scn_load *L, const config_setting_t *g, const char *key, long *out)
{
	long long v;
	int got = cfg_get_int(&L->R, g, key, &v);

	if (got <= 0)
		return got;
	if (v < 0 || v > LONG_MAX)
		return cfg_fail(&L->R, config_setting_get_member(g, key),
				"'%s' must be >= 0, not %lld", key, v);
	*out = (long)v;
	return 1;
}

static int scn_get_rate(scn_load *L, const config_setting_t *g, const char *key, double *out)
{
	int got = cfg_get_num(&L->R, g, key, out);

	if (got > 0 && (!isfinite(*out) || *out < 0))
		return cfg_fail(&L->R, config_setting_get_member(g, key), "'%s' must be >= 0", key);
	return got;
}

/* A volume `duration`, when given, must be positive: 0 would end the load
 * before it starts. */
static int scn_get_vm_duration(scn_load *L, const config_setting_t *g, double *out)
{
	int got = cfg_get_secs(&L->R, g, "duration", out);

	if (got > 0 && *out <= 0)
		return cfg_fail(&L->R, config_setting_get_member(g, "duration"),
				"'duration' must be more than 0 seconds");
	return got;
}

static int scn_vm_make(scn_load *L, const config_setting_t *g, vmodel *m, const char *verr,
		       vmodel **out)
{
	if (!m)
		return cfg_fail(&L->R, g, "%s", verr);
	*out = m;
	return 0;
}

static int scn_vm_stages(scn_load *L, const config_setting_t *g, vmodel **out)
{
	const config_setting_t *steps = config_setting_get_member(g, "steps");
	vmodel_step st[SCN_MAX_STEPS];
	char verr[256];
	double prev = 0;
	int hold = 0, n;

	if (cfg_check_keys(&L->R, g, "a stages volume", scn_vm_stages_keys) < 0 ||
	    cfg_get_bool(&L->R, g, "hold", &hold) < 0)
		return -1;
	if (!steps)
		return cfg_missing(&L->R, g, "steps", "a stages volume");
	if (config_setting_type(steps) != CONFIG_TYPE_LIST)
		return cfg_fail(&L->R, steps,
				"'steps' must be a list of steps ( { ... }, ... ), not %s",
				cfg_type_name(steps));
	n = config_setting_length(steps);
	if (n == 0)
		return cfg_fail(&L->R, steps, "'steps' is empty: give at least one step");
	if (n > SCN_MAX_STEPS)
		return cfg_fail(&L->R, steps, "'steps' has %d steps (at most %d)", n,
				SCN_MAX_STEPS);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(steps, (unsigned)i);
		int has_count = config_setting_get_member(s, "count") != NULL;
		int has_to = config_setting_get_member(s, "to") != NULL;
		long count;
		double d;

		if (config_setting_type(s) != CONFIG_TYPE_GROUP)
			return cfg_fail(&L->R, s, "step %d must be a group { ... }, not %s", i + 1,
					cfg_type_name(s));
		if (cfg_check_keys(&L->R, s, "a stages step", scn_vm_step_keys) < 0)
			return -1;
		if (has_count == has_to)
			return cfg_fail(
				&L->R, s,
				"step %d needs either 'count' and 'duration' (a constant step) "
				"or 'to' and 'over' (a ramp)",
				i + 1);
		if (has_count) {
			if (config_setting_get_member(s, "from") ||
			    config_setting_get_member(s, "over"))
				return cfg_fail(
					&L->R, s,
					"step %d: 'from' and 'over' belong to ramp steps, not "
					"to one with 'count'",
					i + 1);
			if (scn_get_count(L, s, "count", &count) < 0)
				return -1;
			if (cfg_get_secs(&L->R, s, "duration", &d) <= 0) {
				if (config_setting_get_member(s, "duration"))
					return -1;
				return cfg_fail(&L->R, s,
						"missing required key 'duration' in step %d",
						i + 1);
			}
			st[i] = (vmodel_step){ (double)count, (double)count, d };
		} else {
			double from = prev, to;

			if (config_setting_get_member(s, "duration"))
				return cfg_fail(&L->R, config_setting_get_member(s, "duration"),
						"step %d: a ramp step lasts 'over' seconds; "
						"'duration' belongs to steps with 'count'",
						i + 1);
			if (scn_get_rate(L, s, "from", &from) < 0 ||
			    scn_get_rate(L, s, "to", &to) < 0)
				return -1;
			if (cfg_get_secs(&L->R, s, "over", &d) <= 0) {
				if (config_setting_get_member(s, "over"))
					return -1;
				return cfg_fail(&L->R, s, "missing required key 'over' in step %d",
						i + 1);
			}
			st[i] = (vmodel_step){ from, to, d };
		}
		if (st[i].duration <= 0)
			return cfg_fail(&L->R, s, "step %d must last more than 0 seconds", i + 1);
		prev = st[i].to;
	}
	return scn_vm_make(L, g, vmodel_new_stages(st, (size_t)n, hold, verr, sizeof(verr)), verr,
			   out);
}

static int scn_vm_plugin(scn_load *L, scn_journey *j, const config_setting_t *g,
			 const config_setting_t *ps)
{
	char **args = NULL;
	char verr[512];
	void *sym;
	int rc = -1;

	if (config_setting_type(ps) != CONFIG_TYPE_STRING)
		return cfg_fail(&L->R, ps, "'plugin' must be a string \"module.so:symbol\", not %s",
				cfg_type_name(ps));
	if (config_setting_get_member(g, "type"))
		return cfg_fail(&L->R, config_setting_get_member(g, "type"),
				"a volume has either 'type' or 'plugin', not both");
	if (scn_open_sym(L, ps, config_setting_get_string(ps), 1, &j->volume_mod, &sym, NULL,
			 NULL) < 0)
		return -1;
	if (scn_plugin_args(L, g, "volume", &args) < 0)
		goto out;
	/* A function pointer from dlsym's void *: POSIX guarantees it works. */
	mite_volume_fn fn;
	memcpy(&fn, &sym, sizeof(fn));
	j->volume = vmodel_new_plugin(fn, config_setting_get_string(ps), (const char *const *)args,
				      verr, sizeof(verr));
	if (!j->volume) {
		cfg_fail(&L->R, ps, "%s", verr);
		goto out;
	}
	rc = 0;
out:
	util_strv_free(args);
	return rc;
}

static int scn_vm_constant(scn_load *L, const config_setting_t *g, vmodel **out)
{
	double duration = 0;
	long count;
	char verr[256];

	if (cfg_check_keys(&L->R, g, "a constant volume", scn_vm_constant_keys) < 0 ||
	    cfg_need(&L->R, g, "count", "a constant volume", scn_get_count(L, g, "count", &count)) <
		    0 ||
	    scn_get_vm_duration(L, g, &duration) < 0)
		return -1;
	return scn_vm_make(L, g, vmodel_new_constant(count, duration, verr, sizeof(verr)), verr,
			   out);
}

/* 'over' of a ramp or a changing rate: required, more than 0 seconds. */
static int scn_get_over(scn_load *L, const config_setting_t *g, const char *where, double *over)
{
	if (cfg_need(&L->R, g, "over", where, cfg_get_secs(&L->R, g, "over", over)) < 0)
		return -1;
	if (*over <= 0)
		return cfg_fail(&L->R, config_setting_get_member(g, "over"),
				"'over' must be more than 0 seconds");
	return 0;
}

static int scn_vm_ramp(scn_load *L, const config_setting_t *g, vmodel **out)
{
	double from = 0, to, over, duration = 0;
	char verr[256];

	if (cfg_check_keys(&L->R, g, "a ramp volume", scn_vm_ramp_keys) < 0 ||
	    scn_get_rate(L, g, "from", &from) < 0 ||
	    cfg_need(&L->R, g, "to", "a ramp volume", scn_get_rate(L, g, "to", &to)) < 0 ||
	    scn_get_over(L, g, "a ramp volume", &over) < 0 ||
	    scn_get_vm_duration(L, g, &duration) < 0)
		return -1;
	if (duration > 0 && duration < over)
		return cfg_fail(&L->R, config_setting_get_member(g, "duration"),
				"'duration' (%g s) is shorter than the ramp ('over' = %g s)",
				duration, over);
	return scn_vm_make(L, g, vmodel_new_ramp(from, to, over, duration, verr, sizeof(verr)),
			   verr, out);
}

static int scn_vm_oneshot(scn_load *L, const config_setting_t *g, vmodel **out)
{
	double duration = 0;
	long count = 1;
	char verr[256];

	if (cfg_check_keys(&L->R, g, "a oneshot volume", scn_vm_oneshot_keys) < 0 ||
	    scn_get_count(L, g, "count", &count) < 0 || scn_get_vm_duration(L, g, &duration) < 0)
		return -1;
	if (count < 1)
		return cfg_fail(&L->R, config_setting_get_member(g, "count"),
				"'count' must be at least 1");
	return scn_vm_make(L, g, vmodel_new_oneshot(count, duration, verr, sizeof(verr)), verr,
			   out);
}

static int scn_vm_arrival(scn_load *L, const config_setting_t *g, vmodel **out)
{
	double rate = 0, from = 0, to = 0, over = 0, duration = 0;
	int has_rate, has_to;
	char verr[256];

	if (cfg_check_keys(&L->R, g, "an arrival volume", scn_vm_arrival_keys) < 0)
		return -1;
	has_rate = config_setting_get_member(g, "rate") != NULL;
	has_to = config_setting_get_member(g, "to") != NULL;
	if (has_rate == has_to)
		return cfg_fail(&L->R, g,
				"an arrival volume needs either 'rate' (starts per second) or "
				"'to' and 'over' (a changing rate)");
	if (has_rate) {
		if (config_setting_get_member(g, "from") || config_setting_get_member(g, "over"))
			return cfg_fail(&L->R, g,
					"'from' and 'over' belong to a changing rate, not to one "
					"with 'rate'");
		if (scn_get_rate(L, g, "rate", &rate) < 0)
			return -1;
		from = to = rate;
	} else if (scn_get_rate(L, g, "from", &from) < 0 || scn_get_rate(L, g, "to", &to) < 0 ||
		   scn_get_over(L, g, "an arrival volume", &over) < 0) {
		return -1;
	}
	if (scn_get_vm_duration(L, g, &duration) < 0)
		return -1;
	return scn_vm_make(L, g, vmodel_new_arrival(from, to, over, duration, verr, sizeof(verr)),
			   verr, out);
}

/* The volume types a scenario names, and their readers. */
static const struct {
	const char *name;
	int (*load)(scn_load *L, const config_setting_t *g, vmodel **out);
} scn_vm_types[] = {
	{ "constant", scn_vm_constant }, { "ramp", scn_vm_ramp },       { "stages", scn_vm_stages },
	{ "oneshot", scn_vm_oneshot },   { "arrival", scn_vm_arrival },
};

static int scn_volume_load(scn_load *L, scn_journey *j, const config_setting_t *g)
{
	const config_setting_t *ps = config_setting_get_member(g, "plugin");
	const char *type;
	int got;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cfg_fail(&L->R, g, "'volume' must be a group { type = ...; }, not %s",
				cfg_type_name(g));
	if (ps)
		return scn_vm_plugin(L, j, g, ps);
	got = cfg_get_str(&L->R, g, "type", &type);
	if (got < 0)
		return -1;
	if (got == 0)
		return cfg_fail(&L->R, g,
				"missing required key 'type' in volume (\"constant\", \"ramp\", "
				"\"stages\", \"oneshot\" or \"arrival\"; or plugin = "
				"\"module.so:symbol\")");
	for (size_t i = 0; i < sizeof(scn_vm_types) / sizeof(scn_vm_types[0]); i++)
		if (strcmp(type, scn_vm_types[i].name) == 0)
			return scn_vm_types[i].load(L, g, &j->volume);
	return cfg_fail(&L->R, config_setting_get_member(g, "type"),
			"unknown volume type \"%s\" (known: constant, ramp, stages, oneshot, "
			"arrival; or plugin = \"module.so:symbol\")",
			type);
}

/* ---- journeys ----------------------------------------------------------- */

static const char *const scn_journey_keys[] = { "name",     "journey", "stack_size",
						"datapool", "volume",  NULL };

static int scn_journey_load(scn_load *L, scenario *s, const config_setting_t *g, scn_journey *j,
			    int pool_refuse_small)
{
	const config_setting_t *js, *ds, *vs;
	const char *spec, *name = NULL;
	unsigned long long stack = CORO_DEFAULT_STACK;
	void *fn;
	int got;

	j->line = (int)config_setting_source_line(g);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cfg_fail(&L->R, g,
				"a journey must be a group { journey = \"x.so:fn\"; ... }, not %s",
				cfg_type_name(g));
	if (cfg_check_keys(&L->R, g, "a journey", scn_journey_keys) < 0)
		return -1;

	got = cfg_get_str(&L->R, g, "journey", &spec);
	if (got <= 0)
		return got == 0 ? cfg_missing(&L->R, g, "journey", "a journey") : -1;
	js = config_setting_get_member(g, "journey");
	j->spec = strdup(spec);
	if (!j->spec)
		return cfg_fail(&L->R, js, "%s", strerror(ENOMEM));
	if (scn_open_sym(L, js, spec, 1, &j->mod, &fn, &j->module_path, &j->symbol) < 0)
		return -1;

	if (cfg_get_str(&L->R, g, "name", &name) < 0)
		return -1;
	if (name && !*name)
		return cfg_fail(&L->R, config_setting_get_member(g, "name"), "'name' is empty");
	if (scn_check_name(L, name ? config_setting_get_member(g, "name") : js,
			   name ? "'name'" : "the journey's name (its spec, when it has no 'name')",
			   name ? name : spec) < 0)
		return -1;
	/* Names go into logs, replies and results: bytes that are not UTF-8
	 * become U+FFFD here, once (core/utf8.h). */
	j->name = utf8_fix(strdup(name ? name : spec));
	if (!j->name)
		return cfg_fail(&L->R, g, "%s", strerror(ENOMEM));
	for (size_t i = 0; i < s->njourneys; i++)
		if (strcmp(s->journeys[i].name, j->name) == 0)
			return cfg_fail(
				&L->R, name ? config_setting_get_member(g, "name") : g,
				"journey name '%s' is already used by the journey at line %d%s",
				j->name, s->journeys[i].line,
				name ? "" : "; give each a distinct 'name'");

	if (cfg_get_size_in(&L->R, g, "stack_size", CORO_MIN_STACK, SCN_MAX_STACK, &stack) < 0)
		return -1;
	j->stack_size = (size_t)stack;

	ds = config_setting_get_member(g, "datapool");
	if (ds && scn_pool_load(L, j, ds) < 0)
		return -1;

	vs = config_setting_get_member(g, "volume");
	if (!vs)
		return cfg_missing(&L->R, g, "volume", "a journey");
	if (scn_volume_load(L, j, vs) < 0)
		return -1;

	/* A recyclable pool smaller than the concurrency it serves makes
	 * iterations wait for rows; some would rather know before the run. */
	if (pool_refuse_small && j->pool && pool_get_mode(j->pool) == POOL_RECYCLABLE &&
	    pool_size(j->pool) > 0 && vmodel_get_kind(j->volume) == VMODEL_CLOSED &&
	    vmodel_peak(j->volume) > (double)pool_size(j->pool))
		return cfg_fail(
			&L->R, ds,
			"journey '%s': its recyclable datapool has %zu row%s but its volume "
			"asks for up to %.0f instances (pool_policy = \"refuse\")",
			j->name, pool_size(j->pool), pool_size(j->pool) == 1 ? "" : "s",
			vmodel_peak(j->volume));
	return 0;
}

/* ---- config ------------------------------------------------------------- */

static int scn_config(scn_load *L, scenario *s, const config_setting_t *root)
{
	const config_setting_t *c = config_setting_get_member(root, "config");

	if (c) {
		int n;

		if (config_setting_type(c) != CONFIG_TYPE_GROUP)
			return cfg_fail(&L->R, c,
					"'config' must be a group { key = value; ... }, not %s",
					cfg_type_name(c));
		n = config_setting_length(c);
		for (int i = 0; i < n; i++) {
			const config_setting_t *m = config_setting_get_elem(c, (unsigned)i);
			char buf[64];
			const char *v = scn_scalar(m, buf, sizeof(buf));

			if (!v)
				return cfg_fail(
					&L->R, m,
					"config value '%s' must be a string, number or boolean, "
					"not %s",
					config_setting_name(m), cfg_type_name(m));
			if (kvl_set(&s->config, config_setting_name(m), v) < 0)
				return cfg_fail(&L->R, m, "%s", strerror(ENOMEM));
		}
	}
	if (L->o->env && kvl_set_env(&s->config, L->o->env) < 0)
		return cfg_fail(&L->R, root, "%s", strerror(ENOMEM));
	for (size_t i = 0; L->o->sets && L->o->sets[i]; i++) {
		int rc = kvl_set_pair(&s->config, L->o->sets[i]);
		if (rc == -EINVAL) {
			snprintf(L->err, L->errlen, "%s: --set '%s': expected key=value", L->path,
				 L->o->sets[i]);
			return -1;
		}
		if (rc < 0)
			return cfg_fail(&L->R, root, "%s", strerror(-rc));
	}
	return 0;
}

/* ---- the scenario ------------------------------------------------------- */

static const char *const scn_root_keys[] = { "name",     "duration",   "pool_policy", "config",
					     "journeys", "thresholds", "verdict",     "hosts",
					     "local",    NULL };

/* `hosts` and `local` (docs/distributed.md): checked for their form here,
 * read by mited when it starts the run. */
static int scn_hosts(scn_load *L, scenario *s, const config_setting_t *root)
{
	const config_setting_t *h = config_setting_get_member(root, "hosts");
	char buf[32];
	const char *v = buf;
	int b, rc;

	s->local = -1;
	if (h &&
	    (config_setting_type(h) == CONFIG_TYPE_INT ||
	     config_setting_type(h) == CONFIG_TYPE_INT64)) {
		long long n = config_setting_get_int64(h);

		if (n < 1 || n > 100000)
			return cfg_fail(
				&L->R, h,
				"'hosts' = %lld: a number of hosts must be from 1 to 100000", n);
		snprintf(buf, sizeof buf, "%lld", n);
	} else if (h && config_setting_type(h) == CONFIG_TYPE_STRING) {
		v = config_setting_get_string(h);
		if (strcmp(v, "all") != 0 && strcmp(v, "none") != 0 &&
		    !(strncmp(v, "label=", 6) == 0 && v[6] && strlen(v + 6) <= 128))
			return cfg_fail(
				&L->R, h,
				"'hosts' must be \"all\", \"none\", a number or \"label=NAME\" "
				"(NAME of 1 to 128 bytes), not \"%.200s\"",
				v);
	} else if (h) {
		return cfg_fail(&L->R, h, "'hosts' must be a string or a number, not %s",
				cfg_type_name(h));
	}
	if (h && !(s->hosts = strdup(v)))
		return cfg_fail(&L->R, h, "%s", strerror(ENOMEM));
	if ((rc = cfg_get_bool(&L->R, root, "local", &b)) < 0)
		return -1;
	if (rc == 1)
		s->local = b;
	return 0;
}

static const char *const scn_pool_policies[] = { "wait", "refuse", NULL };

static const scenario_opts scn_no_opts;

static scenario *scn_alloc(const char *path, const char *dir)
{
	scenario *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	kvl_init(&s->config);
	verdict_conf_defaults(&s->verdict);
	s->path = strdup(path);
	s->dir = strdup(dir);
	if (!s->path || !s->dir) {
		scenario_free(s);
		return NULL;
	}
	return s;
}

/* The file's base name without ".conf". */
static char *scn_default_name(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".conf") == 0)
		n -= 5;
	return strndup(base, n);
}

/* Reads the scenario L->path into cf, bounded before libconfig reads a
 * byte (what was checked is what is parsed). 0, or -1 with err set (cf
 * destroyed). */
static int scn_read(scn_load *L, config_t *cf)
{
	static const cfgbound_limits bounds = { .file_max = SCENARIO_FILE_MAX,
						.string_max = SCENARIO_STRING_MAX };
	char *text = NULL;
	int ok;

	if (cfgbound_read(L->path, L->dir, &bounds, &text, L->err, L->errlen) < 0)
		return -1;
	config_init(cf);
	config_set_options(cf, CONFIG_OPTION_AUTOCONVERT);
	/* Relative @include must not depend on the daemon's working folder. */
	config_set_include_dir(cf, L->dir);
	ok = config_read_string(cf, text);
	free(text);
	if (!ok)
		cfg_fail_at(&L->R, config_error_file(cf), (unsigned)config_error_line(cf), "%s",
			    config_error_text(cf) ? config_error_text(cf) : "cannot parse");
	if (!ok || scn_cancelled(L)) {
		config_destroy(cf);
		return -1;
	}
	return 0;
}

/* The scenario's own settings: name, duration, pool_policy, config. */
static int scn_root(scn_load *L, scenario *s, const config_setting_t *root)
{
	const char *name = NULL;

	if (cfg_check_keys(&L->R, root, "the scenario", scn_root_keys) < 0 ||
	    cfg_get_str(&L->R, root, "name", &name) < 0)
		return -1;
	if (name && !*name)
		return cfg_fail(&L->R, config_setting_get_member(root, "name"), "'name' is empty");
	if (name && scn_check_name(L, config_setting_get_member(root, "name"), "'name'", name) < 0)
		return -1;
	s->name = utf8_fix(name ? strdup(name) : scn_default_name(L->path));
	if (!s->name)
		return cfg_fail(&L->R, root, "%s", strerror(ENOMEM));
	if (cfg_get_secs(&L->R, root, "duration", &s->duration) < 0)
		return -1;
	if (L->o->duration_override > 0)
		s->duration = L->o->duration_override;
	/* "wait" (0) or "refuse" (1) a recyclable pool smaller than its volume. */
	if (cfg_get_enum(&L->R, root, "pool_policy", scn_pool_policies, &s->pool_refuse_small) < 0)
		return -1;
	if (scn_config(L, s, root) < 0)
		return -1;
	return scn_hosts(L, s, root);
}

static int scn_journeys(scn_load *L, scenario *s, const config_setting_t *root)
{
	const config_setting_t *js = config_setting_get_member(root, "journeys");
	int n, rc;

	if (!js)
		return cfg_missing(&L->R, root, "journeys", "the scenario");
	if (config_setting_type(js) != CONFIG_TYPE_LIST)
		return cfg_fail(&L->R, js,
				"'journeys' must be a list of journeys ( { ... }, ... ), not %s",
				cfg_type_name(js));
	n = config_setting_length(js);
	if (n == 0)
		return cfg_fail(&L->R, js,
				"'journeys' is empty: a scenario needs at least one journey");
	s->journeys = calloc((size_t)n, sizeof(*s->journeys));
	if (!s->journeys)
		return cfg_fail(&L->R, js, "%s", strerror(ENOMEM));
	for (int i = 0; i < n; i++) {
		if (scn_cancelled(L))
			return -1;
		rc = scn_journey_load(L, s, config_setting_get_elem(js, (unsigned)i),
				      &s->journeys[s->njourneys], s->pool_refuse_small);
		/* Counted even when it failed, so that scenario_free releases
		 * what it holds. */
		s->njourneys++;
		if (rc < 0)
			return -1;
	}
	return 0;
}

scenario *scenario_load(const char *path, const scenario_opts *o, char *err, size_t errlen)
{
	char real[PATH_MAX], dir[PATH_MAX];
	const config_setting_t *root, *g;
	scn_load L = { .o = o ? o : &scn_no_opts, .err = err, .errlen = errlen };
	scenario *s = NULL;
	config_t cf;
	char *slash;

	L.api = L.o->api ? L.o->api : &scn_min_api;
	if (!path || !realpath(path, real)) {
		snprintf(err, errlen, "%s: cannot read: %s", path ? path : "(null)",
			 strerror(path ? errno : EINVAL));
		return NULL;
	}
	memcpy(dir, real, strlen(real) + 1);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	L.path = real;
	L.dir = dir;
	L.R = (cfg_reader){ .file = real, .err = err, .errlen = errlen };
	if (scn_read(&L, &cf) < 0)
		return NULL;
	root = config_root_setting(&cf);
	s = scn_alloc(real, dir);
	if (!s) {
		snprintf(err, errlen, "%s: %s", real, strerror(ENOMEM));
		goto fail;
	}
	if (scn_root(&L, s, root) < 0 || scn_journeys(&L, s, root) < 0)
		goto fail;
	g = config_setting_get_member(root, "thresholds");
	if (g && !(s->thresholds = thresholds_parse(g, real, err, errlen)))
		goto fail;
	g = config_setting_get_member(root, "verdict");
	if (g && verdict_conf_parse(g, real, &s->verdict, err, errlen) < 0)
		goto fail;
	config_destroy(&cf);
	return s;
fail:
	scenario_free(s);
	config_destroy(&cf);
	return NULL;
}

/* ---- the one-journey scenario of `mitectl journey test|run` ------------- */

static int scn_journey_pool(scn_load *L, scn_journey *j, const char *spec, pool_mode mode)
{
	char perr[PATH_MAX + 256];
	size_t n = strlen(spec);

	if (strncmp(spec, "range:", 6) == 0) {
		long long from, to;
		char *end;

		errno = 0;
		from = strtoll(spec + 6, &end, 10);
		if (end == spec + 6 || *end != ':' || errno)
			goto bad_range;
		{
			const char *digits = end + 1;
			to = strtoll(digits, &end, 10);
			if (end == digits || *end || errno)
				goto bad_range;
		}
		j->pool = pool_new_range(mode, from, to, 1, NULL, 0, NULL, perr, sizeof(perr));
		if (!j->pool) {
			snprintf(L->err, L->errlen, "datapool '%s': %s", spec, perr);
			return -1;
		}
		return 0;
bad_range:
		snprintf(L->err, L->errlen, "datapool '%s': expected range:FIRST:LAST", spec);
		return -1;
	}
	if ((n > 4 && strcasecmp(spec + n - 4, ".csv") == 0) || !strchr(spec, ':')) {
		char path[PATH_MAX];
		int in_file = 0;

		if (spec[0] == '/')
			snprintf(path, sizeof(path), "%s", spec);
		else if (snprintf(path, sizeof(path), "%s/%s", L->dir, spec) >= (int)sizeof(path)) {
			snprintf(L->err, L->errlen, "datapool '%s': path too long", spec);
			return -1;
		}
		j->pool = pool_new_csv(mode, path, 1, NULL, 0, perr, sizeof(perr), &in_file);
		if (!j->pool) {
			if (in_file)
				snprintf(L->err, L->errlen, "%s", perr);
			else
				snprintf(L->err, L->errlen, "datapool '%s': %s", spec, perr);
			return -1;
		}
		return 0;
	}
	{
		char path[PATH_MAX], sym[SCN_NAME_MAX], found[PATH_MAX], merr[PATH_MAX + 512];
		void *p;

		if (module_split(spec, path, sizeof(path), sym, sizeof(sym), merr, sizeof(merr)) <
			    0 ||
		    module_find(path, L->dir, L->o->plugin_dirs, L->o->allow_any_path, found,
				sizeof(found), merr, sizeof(merr)) < 0 ||
		    !(j->pool_mod = module_open(found, L->api, merr, sizeof(merr))) ||
		    !(p = module_sym_typed(j->pool_mod, sym, 0, merr, sizeof(merr)))) {
			snprintf(L->err, L->errlen, "datapool '%s': %s", spec, merr);
			return -1;
		}
		j->pool = pool_new_plugin(mode, p, spec, NULL, perr, sizeof(perr));
		if (!j->pool) {
			snprintf(L->err, L->errlen, "datapool '%s': %s", spec, perr);
			return -1;
		}
	}
	return 0;
}

scenario *scenario_for_journey(const char *spec, const char *pool_spec, long volume, int once,
			       const scenario_opts *o, char *err, size_t errlen)
{
	char cwd[PATH_MAX], path[PATH_MAX], sym[SCN_NAME_MAX], found[PATH_MAX];
	char merr[PATH_MAX + 512], verr[256];
	scn_load L = { .o = o ? o : &scn_no_opts, .err = err, .errlen = errlen };
	scenario *s = NULL;
	scn_journey *j;
	void *fn;

	L.api = L.o->api ? L.o->api : &scn_min_api;
	if (!getcwd(cwd, sizeof(cwd))) {
		snprintf(err, errlen, "cannot find the working folder: %s", strerror(errno));
		return NULL;
	}
	L.dir = cwd;
	L.path = spec ? spec : "";
	if (!spec) {
		snprintf(err, errlen, "no journey given (expected \"module.so:symbol\")");
		return NULL;
	}
	if (volume < 1) {
		snprintf(err, errlen, "%s: the volume must be at least 1, not %ld", spec, volume);
		return NULL;
	}
	s = scn_alloc(spec, cwd);
	if (!s || !(s->journeys = calloc(1, sizeof(*s->journeys))))
		goto nomem;
	s->njourneys = 1;
	j = &s->journeys[0];
	j->line = 0;
	j->stack_size = CORO_DEFAULT_STACK;
	if (!(j->spec = strdup(spec)) || !(j->name = strdup(spec)) || !(s->name = strdup(spec)))
		goto nomem;
	if (module_split(spec, path, sizeof(path), sym, sizeof(sym), merr, sizeof(merr)) < 0 ||
	    module_find(path, cwd, L.o->plugin_dirs, L.o->allow_any_path, found, sizeof(found),
			merr, sizeof(merr)) < 0 ||
	    !(j->mod = module_open(found, L.api, merr, sizeof(merr))) ||
	    !(fn = module_sym_typed(j->mod, sym, 1, merr, sizeof(merr)))) {
		snprintf(err, errlen, "%s: %s", spec, merr);
		goto fail;
	}
	(void)fn;
	if (!(j->module_path = strdup(found)) || !(j->symbol = strdup(sym)))
		goto nomem;
	if (pool_spec && *pool_spec &&
	    scn_journey_pool(&L, j, pool_spec, once ? POOL_ITERABLE : POOL_RECYCLABLE) < 0)
		goto fail;
	j->volume = once ? vmodel_new_oneshot(volume, 0, verr, sizeof(verr))
			 : vmodel_new_constant(volume, 0, verr, sizeof(verr));
	if (!j->volume) {
		snprintf(err, errlen, "%s: %s", spec, verr);
		goto fail;
	}
	if (L.o->env && kvl_set_env(&s->config, L.o->env) < 0)
		goto nomem;
	for (size_t i = 0; L.o->sets && L.o->sets[i]; i++) {
		int rc = kvl_set_pair(&s->config, L.o->sets[i]);
		if (rc == -EINVAL) {
			snprintf(err, errlen, "--set '%s': expected key=value", L.o->sets[i]);
			goto fail;
		}
		if (rc < 0)
			goto nomem;
	}
	s->duration = L.o->duration_override > 0 ? L.o->duration_override : 0;
	return s;
nomem:
	snprintf(err, errlen, "%s: %s", spec, strerror(ENOMEM));
fail:
	scenario_free(s);
	return NULL;
}

void scenario_release_runtime(scenario *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->njourneys; i++) {
		scn_journey *j = &s->journeys[i];

		/* The pool first: a plugin's calls into its module. */
		pool_free(j->pool);
		module_close(j->pool_mod);
		module_close(j->mod);
		j->pool = NULL;
		j->pool_mod = j->mod = NULL;
	}
}

static void scn_free_volumes(scenario *s)
{
	for (size_t i = 0; i < s->njourneys; i++) {
		scn_journey *j = &s->journeys[i];

		/* The model first: a plugin's calls into its module. */
		vmodel_free(j->volume);
		module_close(j->volume_mod);
		j->volume = NULL;
		j->volume_mod = NULL;
	}
}

void scenario_free(scenario *s)
{
	if (!s)
		return;
	scenario_release_runtime(s);
	scn_free_volumes(s);
	for (size_t i = 0; i < s->njourneys; i++) {
		scn_journey *j = &s->journeys[i];

		free(j->name);
		free(j->spec);
		free(j->module_path);
		free(j->symbol);
	}
	free(s->journeys);
	kvl_free(&s->config);
	thresholds_free(s->thresholds);
	free(s->path);
	free(s->dir);
	free(s->name);
	free(s->hosts);
	free(s);
}
