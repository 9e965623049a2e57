/*
 * conf.c - mited.conf(5): defaults, and the file read with libconfig into
 * the daemon's settings, every error as file:line.
 */
#include "config.h"

#include "mited/conf.h"

#include "controller/control.h"
#include "controller/metrics.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct {
	const char *name;
	int level;
} log_levels[] = {
	{"err", LOG_LVL_ERR},       {"error", LOG_LVL_ERR}, {"warning", LOG_LVL_WARNING},
	{"notice", LOG_LVL_NOTICE}, {"info", LOG_LVL_INFO}, {"debug", LOG_LVL_DEBUG},
};

const char *conf_level_name(int level)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (log_levels[i].level == level && strcmp(log_levels[i].name, "error") != 0)
			return log_levels[i].name;
	return "?";
}

int conf_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (strcmp(log_levels[i].name, s) == 0)
			return log_levels[i].level;
	return -1;
}

void conf_free(conf *c)
{
	free(c->file);
	free(c->socket);
	free(c->socket_group);
	free(c->state_dir);
	free(c->results_dir);
	free(c->runner_endpoint);
	free(c->metrics_listen);
	util_strv_free(c->plugin_dirs);
	conf_hosts_free(&c->hosts);
	memset(c, 0, sizeof(*c));
}

/* The defaults: a system instance under systemd or as root, else a private
 * one under the user's runtime and state directories. */
int conf_defaults(conf *c)
{
	const char *rt = getenv("RUNTIME_DIRECTORY"); /* set by systemd */
	const char *st = getenv("STATE_DIRECTORY");
	const char *xrt = getenv("XDG_RUNTIME_DIR");
	const char *xst = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char buf[PATH_MAX];

	memset(c, 0, sizeof(*c));
	/* systemd may list several directories separated by ':'. */
	if (rt && *rt) {
		snprintf(buf, sizeof(buf), "%.*s/mited.sock", (int)strcspn(rt, ":"), rt);
	} else if (geteuid() == 0) {
		snprintf(buf, sizeof(buf), "/run/mite/mited.sock");
	} else if (xrt && *xrt) {
		snprintf(buf, sizeof(buf), "%s/mite/mited.sock", xrt);
	} else {
		snprintf(buf, sizeof(buf), "/tmp/mite-%u/mited.sock", (unsigned)geteuid());
	}
	c->socket = strdup(buf);
	if (st && *st)
		snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(st, ":"), st);
	else if (geteuid() == 0)
		snprintf(buf, sizeof(buf), "/var/lib/mite");
	else if (xst && *xst)
		snprintf(buf, sizeof(buf), "%s/mite", xst);
	else
		snprintf(buf, sizeof(buf), "%s/.local/state/mite", home && *home ? home : "/tmp");
	c->state_dir = strdup(buf);
	c->private_daemon = !(rt && *rt) && !(st && *st) && geteuid() != 0;
	c->socket_group = strdup("mite");
	c->socket_mode = 0660;
	c->plugin_dirs = calloc(2, sizeof(char *));
	if (c->plugin_dirs)
		c->plugin_dirs[0] = strdup(MITE_PLUGINDIR);
	c->log_level = LOG_LVL_INFO;
	c->max_runs = 8;
	c->max_clients = CONTROL_MAX_CLIENTS_DEFAULT;
	c->runner_timeout = 10;
	c->runner_restarts = 20;
	c->grace = 30;
	c->shutdown_grace = 60;
	c->client_timeout = CONTROL_IDLE_TIMEOUT_DEFAULT;
	c->keep_runs = 20;
	loglimit_conf_defaults(&c->stderr_limit);
	c->runner_memory_share = RUNNER_MEMORY_SHARE_DEFAULT;
	results_conf_defaults(&c->results);
	if (!c->socket || !c->state_dir || !c->socket_group || !c->plugin_dirs ||
	    !c->plugin_dirs[0])
		return -ENOMEM;
	return 0;
}

/* What depends on other settings once they are all known. */
int conf_finish(conf *c)
{
	if (strcmp(c->socket, "/run/mite/mited.sock") == 0 || strcmp(c->state_dir, "/var/lib/mite") == 0)
		c->private_daemon = 0;
	if (!c->results_dir && !(c->results_dir = util_path_join(c->state_dir, "results")))
		return -ENOMEM;
	if (!c->runner_endpoint) {
		char *dir = util_dir_of(c->socket);
		if (!dir)
			return -ENOMEM;
		size_t n = strlen(dir) + 32;
		c->runner_endpoint = malloc(n);
		if (c->runner_endpoint)
			snprintf(c->runner_endpoint, n, "ipc://%s/runners.sock", dir);
		free(dir);
		if (!c->runner_endpoint)
			return -ENOMEM;
	}
	return 0;
}

#define CONF_ERR(set, ...)                                                                         \
	do {                                                                                       \
		conf_error(file, (set), err, errlen, __VA_ARGS__);                                 \
		goto fail;                                                                         \
	} while (0)

static void conf_error(const char *file, const config_setting_t *s, char *err, size_t errlen,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void conf_error(const char *file, const config_setting_t *s, char *err, size_t errlen,
		       const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const char *sf = s ? config_setting_source_file(s) : NULL;
	snprintf(err, errlen, "%s:%u: %s", sf ? sf : file, s ? config_setting_source_line(s) : 0,
		 msg);
}

static int set_string(const char *file, config_setting_t *s, char **out, char *err, size_t errlen)
{
	const char *v = config_setting_get_string(s);
	if (!v || !*v)
		CONF_ERR(s, "'%s' must be a non-empty string", config_setting_name(s));
	char *d = strdup(v);
	if (!d)
		CONF_ERR(s, "out of memory");
	free(*out);
	*out = d;
	return 0;
fail:
	return -1;
}

static int get_number(const char *file, config_setting_t *s, double lo, double hi, double *out,
		      char *err, size_t errlen)
{
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64 && t != CONFIG_TYPE_FLOAT)
		CONF_ERR(s, "'%s' must be a number", config_setting_name(s));
	double v = t == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
					  : (double)config_setting_get_int64(s);
	if (!(v >= lo && v <= hi))
		CONF_ERR(s, "'%s' must be between %g and %g", config_setting_name(s), lo, hi);
	*out = v;
	return 0;
fail:
	return -1;
}

static int get_int(const char *file, config_setting_t *s, double lo, double hi, long *out,
		   char *err, size_t errlen)
{
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		CONF_ERR(s, "'%s' must be an integer", config_setting_name(s));
	double v;
	if (get_number(file, s, lo, hi, &v, err, errlen) < 0)
		return -1;
	*out = (long)v;
	return 0;
fail:
	return -1;
}

static int get_bool(const char *file, config_setting_t *s, int *out, char *err, size_t errlen)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		CONF_ERR(s, "'%s' must be true or false", config_setting_name(s));
	*out = config_setting_get_bool(s);
	return 0;
fail:
	return -1;
}

/* Bytes: an integer, or a string with a K, M, G or T suffix (powers of
 * 1024); with share, also "N%" (*share set to N/100, *out to 0). */
static int get_size(const char *file, config_setting_t *s, double hi, int share, uint64_t *out,
		    double *shr, char *err, size_t errlen)
{
	const char *name = config_setting_name(s);
	double v;
	if (config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64) {
		v = (double)config_setting_get_int64(s);
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *str = config_setting_get_string(s);
		char *end;
		errno = 0;
		v = strtod(str, &end);
		if (end == str || errno || !isfinite(v) || v < 0)
			goto bad;
		if (share && strcmp(end, "%") == 0) {
			if (v <= 0 || v > 100)
				CONF_ERR(s, "'%s' must be a share from 1%% to 100%%, not %s", name, str);
			*shr = v / 100.0;
			*out = 0;
			return 0;
		}
		static const char units[] = "KMGT";
		const char *u = *end ? strchr(units, *end & ~0x20) : NULL;
		if (u) {
			v *= pow(1024.0, (double)(u - units + 1));
			end++;
		}
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			goto bad;
	} else {
		goto bad;
	}
	if (v < 0 || v > hi)
		CONF_ERR(s, "'%s' must be at most %.0f bytes", name, hi);
	*out = (uint64_t)v;
	if (shr)
		*shr = 0;
	return 0;
bad:
	CONF_ERR(s, "'%s' must be bytes: an integer or a size like \"64K\" or \"4G\"%s", name,
		 share ? ", or a share of the memory like \"50%\"" : "");
fail:
	return -1;
}

/* runner_stderr = { lines_per_second; bytes_per_second; burst_seconds; } */
static int conf_stderr(const char *file, config_setting_t *g, conf *c, char *err, size_t errlen)
{
	if (!config_setting_is_group(g))
		CONF_ERR(g, "'runner_stderr' must be a group { ... }");
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *n = config_setting_name(s);
		uint64_t b;
		if (strcmp(n, "lines_per_second") == 0) {
			if (get_number(file, s, 1, 1e6, &c->stderr_limit.lines_per_s, err, errlen) < 0)
				return -1;
		} else if (strcmp(n, "bytes_per_second") == 0) {
			if (get_size(file, s, 1e9, 0, &b, NULL, err, errlen) < 0)
				return -1;
			if (b < 1024)
				CONF_ERR(s, "'bytes_per_second' must be at least 1024");
			c->stderr_limit.bytes_per_s = (double)b;
		} else if (strcmp(n, "burst_seconds") == 0) {
			if (get_number(file, s, 1, 3600, &c->stderr_limit.burst_s, err, errlen) < 0)
				return -1;
		} else {
			CONF_ERR(s, "unknown setting 'runner_stderr.%s' (allowed: lines_per_second, "
				    "bytes_per_second, burst_seconds)", n);
		}
	}
	return 0;
fail:
	return -1;
}

/* runner_limits = { memory; address_space; open_files; } */
static int conf_runner_limits(const char *file, config_setting_t *g, conf *c, char *err,
			      size_t errlen)
{
	if (!config_setting_is_group(g))
		CONF_ERR(g, "'runner_limits' must be a group { ... }");
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *n = config_setting_name(s);
		long v;
		if (strcmp(n, "memory") == 0) {
			if (get_size(file, s, 1125899906842624.0, 1, &c->runner_memory,
				     &c->runner_memory_share, err, errlen) < 0)
				return -1;
			if (c->runner_memory && c->runner_memory < RUNNER_MEMORY_MIN)
				CONF_ERR(s, "'memory' must be 0 (no limit) or at least %d MiB",
					 (int)(RUNNER_MEMORY_MIN >> 20));
		} else if (strcmp(n, "address_space") == 0) {
			if (get_size(file, s, 1125899906842624.0, 0, &c->runner_address_space, NULL,
				     err, errlen) < 0)
				return -1;
			if (c->runner_address_space && c->runner_address_space < RUNNER_MEMORY_MIN)
				CONF_ERR(s, "'address_space' must be 0 (no limit) or at least %d MiB",
					 (int)(RUNNER_MEMORY_MIN >> 20));
		} else if (strcmp(n, "open_files") == 0) {
			if (get_int(file, s, 0, 1 << 30, &v, err, errlen) < 0)
				return -1;
			if (v && v < RUNNER_FILES_MIN)
				CONF_ERR(s, "'open_files' must be 0 (as mited's own) or at least %d",
					 RUNNER_FILES_MIN);
			c->runner_files = v;
		} else {
			CONF_ERR(s, "unknown setting 'runner_limits.%s' (allowed: memory, address_space, "
				    "open_files)", n);
		}
	}
	return 0;
fail:
	return -1;
}

static int conf_limits(const char *file, config_setting_t *g, conf *c, char *err, size_t errlen)
{
	if (!config_setting_is_group(g))
		CONF_ERR(g, "'limits' must be a group { ... }");
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *n = config_setting_name(s);
		long v;
		if (strcmp(n, "max_runs") == 0) {
			if (get_int(file, s, 1, 10000, &v, err, errlen) < 0)
				return -1;
			c->max_runs = (int)v;
		} else if (strcmp(n, "max_instances") == 0) {
			if (get_int(file, s, 0, 1e9, &v, err, errlen) < 0)
				return -1;
			c->max_instances = v;
		} else if (strcmp(n, "max_clients") == 0) {
			if (get_int(file, s, 1, 10000, &v, err, errlen) < 0)
				return -1;
			c->max_clients = (int)v;
		} else {
			CONF_ERR(s, "unknown setting 'limits.%s'", n);
		}
	}
	return 0;
fail:
	return -1;
}

/* Reads path into c (which holds the defaults). 0, or -1 with
 * "file:line: reason" in err. */
int conf_load(conf *c, const char *file, char *err, size_t errlen)
{
	config_t cf;
	config_init(&cf);
	config_set_options(&cf, CONFIG_OPTION_AUTOCONVERT);
	char *dir = util_dir_of(file);
	if (dir)
		config_set_include_dir(&cf, dir);
	if (!config_read_file(&cf, file)) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s: cannot read: %s", file, strerror(errno));
		else
			snprintf(err, errlen, "%s:%d: %s",
				 config_error_file(&cf) ? config_error_file(&cf) : file,
				 config_error_line(&cf), config_error_text(&cf));
		goto fail;
	}
	config_setting_t *root = config_root_setting(&cf);
	for (int i = 0; i < config_setting_length(root); i++) {
		config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *n = config_setting_name(s);
		double d;
		long v;
		if (strcmp(n, "socket") == 0) {
			if (set_string(file, s, &c->socket, err, errlen) < 0)
				goto fail;
			if (c->socket[0] != '/')
				CONF_ERR(s, "'socket' must be an absolute path");
		} else if (strcmp(n, "socket_mode") == 0) {
			const char *m = config_setting_get_string(s);
			char *end = NULL;
			unsigned long mode = m ? strtoul(m, &end, 8) : 0;
			if (!m || !*m || *end || mode > 0777)
				CONF_ERR(s, "'socket_mode' must be an octal mode in a string, e.g. \"0660\"");
			c->socket_mode = (unsigned)mode;
		} else if (strcmp(n, "socket_group") == 0) {
			if (set_string(file, s, &c->socket_group, err, errlen) < 0)
				goto fail;
		} else if (strcmp(n, "state_dir") == 0) {
			if (set_string(file, s, &c->state_dir, err, errlen) < 0)
				goto fail;
		} else if (strcmp(n, "results_dir") == 0) {
			if (set_string(file, s, &c->results_dir, err, errlen) < 0)
				goto fail;
		} else if (strcmp(n, "runner_endpoint") == 0) {
			if (set_string(file, s, &c->runner_endpoint, err, errlen) < 0)
				goto fail;
			if (strncmp(c->runner_endpoint, "ipc://", 6) != 0 &&
			    strncmp(c->runner_endpoint, "tcp://", 6) != 0)
				CONF_ERR(s, "'runner_endpoint' must start with ipc:// or tcp://");
		} else if (strcmp(n, "plugin_dirs") == 0) {
			if (!config_setting_is_array(s) && !config_setting_is_list(s))
				CONF_ERR(s, "'plugin_dirs' must be a list of folders [\"...\", ...]");
			int len = config_setting_length(s);
			char **v2 = calloc((size_t)len + 1, sizeof(char *));
			if (!v2)
				CONF_ERR(s, "out of memory");
			for (int k = 0; k < len; k++) {
				config_setting_t *e = config_setting_get_elem(s, (unsigned)k);
				const char *p = config_setting_get_string(e);
				if (!p || p[0] != '/') {
					util_strv_free(v2);
					CONF_ERR(e, "plugin_dirs entries must be absolute paths");
				}
				v2[k] = strdup(p);
			}
			util_strv_free(c->plugin_dirs);
			c->plugin_dirs = v2;
			c->plugin_dirs_set = 1;
		} else if (strcmp(n, "allow_any_plugin_path") == 0) {
			if (get_bool(file, s, &c->allow_any_plugin_path, err, errlen) < 0)
				goto fail;
		} else if (strcmp(n, "runners") == 0) {
			if (get_int(file, s, 0, 1024, &v, err, errlen) < 0)
				goto fail;
			c->runners = (int)v;
		} else if (strcmp(n, "log_level") == 0) {
			const char *l = config_setting_get_string(s);
			int lv = l ? conf_level_parse(l) : -1;
			if (lv < 0)
				CONF_ERR(s, "'log_level' must be one of err, warning, notice, info, debug");
			c->log_level = lv;
		} else if (strcmp(n, "limits") == 0) {
			if (conf_limits(file, s, c, err, errlen) < 0)
				goto fail;
		} else if (strcmp(n, "runner_timeout") == 0) {
			if (get_number(file, s, 2, 3600, &d, err, errlen) < 0)
				goto fail;
			c->runner_timeout = d;
		} else if (strcmp(n, "runner_restarts") == 0) {
			if (get_int(file, s, 0, 100000, &v, err, errlen) < 0)
				goto fail;
			c->runner_restarts = (int)v;
		} else if (strcmp(n, "grace") == 0) {
			if (get_number(file, s, 0.1, 86400, &d, err, errlen) < 0)
				goto fail;
			c->grace = d;
		} else if (strcmp(n, "shutdown_grace") == 0) {
			if (get_number(file, s, 0.1, 86400, &d, err, errlen) < 0)
				goto fail;
			c->shutdown_grace = d;
		} else if (strcmp(n, "client_timeout") == 0) {
			if (get_number(file, s, 1, 86400, &d, err, errlen) < 0)
				goto fail;
			c->client_timeout = d;
		} else if (strcmp(n, "metrics_listen") == 0) {
			struct sockaddr_storage ss;
			socklen_t sl;
			char why[256];
			if (set_string(file, s, &c->metrics_listen, err, errlen) < 0)
				goto fail;
			if (metrics_parse_listen(c->metrics_listen, &ss, &sl, why, sizeof(why)) < 0)
				CONF_ERR(s, "'metrics_listen': %s", why);
		} else if (strcmp(n, "results") == 0) {
			if (results_conf_parse(s, file, &c->results, err, errlen) < 0)
				goto fail;
		} else if (strcmp(n, "keep_runs") == 0) {
			if (get_int(file, s, 0, 10000, &v, err, errlen) < 0)
				goto fail;
			c->keep_runs = (int)v;
		} else if (strcmp(n, "runner_stderr") == 0) {
			if (conf_stderr(file, s, c, err, errlen) < 0)
				goto fail;
		} else if (strcmp(n, "runner_limits") == 0) {
			if (conf_runner_limits(file, s, c, err, errlen) < 0)
				goto fail;
		} else {
			int h = conf_hosts_setting(file, s, &c->hosts, err, errlen);
			if (h < 0)
				goto fail;
			if (h == 0)
				CONF_ERR(s, "unknown setting '%s'", n);
		}
	}
	free(c->file);
	c->file = strdup(file);
	config_destroy(&cf);
	free(dir);
	return 0;

fail:
	config_destroy(&cf);
	free(dir);
	return -1;
}
