/*
 * conf.c - mited.conf(5): defaults, and the file read with libconfig into
 * the daemon's settings, every error as file:line.
 */
#include "config.h"

#include "mited/conf.h"

#include "controller/cfg.h"
#include "controller/cfgbound.h"
#include "controller/control.h"
#include "controller/metrics.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct {
	const char *name;
	int level;
} log_levels[] = {
	{ "err", LOG_LVL_ERR },       { "error", LOG_LVL_ERR }, { "warning", LOG_LVL_WARNING },
	{ "notice", LOG_LVL_NOTICE }, { "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG },
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
	if (strcmp(c->socket, "/run/mite/mited.sock") == 0 ||
	    strcmp(c->state_dir, "/var/lib/mite") == 0)
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

/* ---- reading: every setting through the one reader (controller/cfg.h) --- */

/* A non-empty string, copied over *out. 1, 0 (absent) or -1. */
static int get_string(const cfg_reader *R, const config_setting_t *g, const char *key, char **out)
{
	const char *v;
	char *d;
	int got = cfg_get_str(R, g, key, &v);

	if (got <= 0)
		return got;
	if (!*v)
		return cfg_fail(R, config_setting_get_member(g, key), "'%s' must not be empty",
				key);
	if (!(d = strdup(v)))
		return cfg_fail(R, config_setting_get_member(g, key), "%s", strerror(ENOMEM));
	free(*out);
	*out = d;
	return 1;
}

/* Reads an integer from lo to hi into an int. 0 or -1. */
static int get_int(const cfg_reader *R, const config_setting_t *g, const char *key, long long lo,
		   long long hi, int *out)
{
	long long v;
	int got = cfg_get_int_in(R, g, key, lo, hi, &v);

	if (got > 0)
		*out = (int)v;
	return got < 0 ? -1 : 0;
}

/* runner_stderr = { lines_per_second; bytes_per_second; burst_seconds; } */
static int conf_stderr(const cfg_reader *R, const config_setting_t *g, conf *c)
{
	static const char *const keys[] = { "lines_per_second", "bytes_per_second", "burst_seconds",
					    NULL };
	unsigned long long b;
	int got;

	if (cfg_is_group(R, g) < 0 || cfg_check_keys(R, g, "runner_stderr", keys) < 0 ||
	    cfg_get_num_in(R, g, "lines_per_second", 1, 1e6, &c->stderr_limit.lines_per_s) < 0 ||
	    cfg_get_num_in(R, g, "burst_seconds", 1, 3600, &c->stderr_limit.burst_s) < 0)
		return -1;
	if ((got = cfg_get_size_in(R, g, "bytes_per_second", 1024, 1000000000, &b)) < 0)
		return -1;
	if (got)
		c->stderr_limit.bytes_per_s = (double)b;
	return 0;
}

#define CONF_MAX_BYTES 1125899906842624.0 /* 1 PiB: more than any machine */

/* runner_limits' memory: bytes, or "N%" of the physical memory. */
static int conf_memory(const cfg_reader *R, const config_setting_t *g, conf *c)
{
	const config_setting_t *s = config_setting_get_member(g, "memory");
	const char *str = s && config_setting_type(s) == CONFIG_TYPE_STRING
		? config_setting_get_string(s)
		: NULL;
	const char *rest = NULL;
	double v = str ? cfg_parse_bytes(str, &rest) : 0;
	unsigned long long b;

	if (str && rest && strcmp(rest, "%") == 0) {
		if (v <= 0 || v > 100)
			return cfg_fail(R, s, "'memory' must be a share from 1%% to 100%%, not %s",
					str);
		c->runner_memory_share = v / 100.0;
		c->runner_memory = 0;
		return 0;
	}
	if (str && (v < 0 || rest))
		return cfg_fail(
			R, s,
			"'memory' must be bytes or a size like \"64K\" or \"4G\", or a share "
			"of the memory like \"50%%\", not \"%s\"",
			str);
	if (cfg_get_size(R, g, "memory", CONF_MAX_BYTES, &b) <= 0)
		return s ? -1 : 0;
	if (b && b < RUNNER_MEMORY_MIN)
		return cfg_fail(R, s, "'memory' must be 0 (no limit) or at least %d MiB",
				(int)(RUNNER_MEMORY_MIN >> 20));
	c->runner_memory = b;
	c->runner_memory_share = 0;
	return 0;
}

/* runner_limits = { memory; address_space; open_files; } */
static int conf_runner_limits(const cfg_reader *R, const config_setting_t *g, conf *c)
{
	static const char *const keys[] = { "memory", "address_space", "open_files", NULL };
	unsigned long long as;
	long long files;
	int got;

	if (cfg_is_group(R, g) < 0 || cfg_check_keys(R, g, "runner_limits", keys) < 0 ||
	    conf_memory(R, g, c) < 0)
		return -1;
	if ((got = cfg_get_size(R, g, "address_space", CONF_MAX_BYTES, &as)) < 0)
		return -1;
	if (got && as && as < RUNNER_MEMORY_MIN)
		return cfg_fail(R, config_setting_get_member(g, "address_space"),
				"'address_space' must be 0 (no limit) or at least %d MiB",
				(int)(RUNNER_MEMORY_MIN >> 20));
	if (got)
		c->runner_address_space = as;
	if ((got = cfg_get_int_in(R, g, "open_files", 0, 1 << 30, &files)) < 0)
		return -1;
	if (got && files && files < RUNNER_FILES_MIN)
		return cfg_fail(R, config_setting_get_member(g, "open_files"),
				"'open_files' must be 0 (as mited's own) or at least %d",
				RUNNER_FILES_MIN);
	if (got)
		c->runner_files = (long)files;
	return 0;
}

/* limits = { max_runs; max_instances; max_clients; } */
static int conf_limits(const cfg_reader *R, const config_setting_t *g, conf *c)
{
	static const char *const keys[] = { "max_runs", "max_instances", "max_clients", NULL };
	long long inst;
	int got;

	if (cfg_is_group(R, g) < 0 || cfg_check_keys(R, g, "limits", keys) < 0 ||
	    get_int(R, g, "max_runs", 1, 10000, &c->max_runs) < 0 ||
	    get_int(R, g, "max_clients", 1, 10000, &c->max_clients) < 0)
		return -1;
	if ((got = cfg_get_int_in(R, g, "max_instances", 0, 1000000000, &inst)) < 0)
		return -1;
	if (got)
		c->max_instances = (long)inst;
	return 0;
}

/* The socket, its mode and the runners' endpoint. */
static int conf_sockets(const cfg_reader *R, const config_setting_t *root, conf *c)
{
	const config_setting_t *s;
	int got;

	if ((got = get_string(R, root, "socket", &c->socket)) < 0)
		return -1;
	if (got && c->socket[0] != '/')
		return cfg_fail(R, config_setting_get_member(root, "socket"),
				"'socket' must be an absolute path, not \"%s\"", c->socket);
	if ((s = config_setting_get_member(root, "socket_mode"))) {
		const char *m = config_setting_get_string(s);
		char *end = NULL;
		unsigned long mode = m ? strtoul(m, &end, 8) : 0;

		if (!m || !*m || *end || mode > 0777)
			return cfg_fail(
				R, s,
				"'socket_mode' must be an octal mode in a string, e.g. \"0660\", "
				"not %s%s%s",
				m ? "\"" : "", m ? m : cfg_type_name(s), m ? "\"" : "");
		c->socket_mode = (unsigned)mode;
	}
	if (get_string(R, root, "socket_group", &c->socket_group) < 0 ||
	    (got = get_string(R, root, "runner_endpoint", &c->runner_endpoint)) < 0)
		return -1;
	if (got && strncmp(c->runner_endpoint, "ipc://", 6) != 0 &&
	    strncmp(c->runner_endpoint, "tcp://", 6) != 0)
		return cfg_fail(R, config_setting_get_member(root, "runner_endpoint"),
				"'runner_endpoint' must start with ipc:// or tcp://, not \"%s\"",
				c->runner_endpoint);
	return 0;
}

/* plugin_dirs = [ "/abs", ... ] */
static int conf_plugin_dirs(const cfg_reader *R, const config_setting_t *root, conf *c)
{
	char **v = NULL;
	size_t n = 0;
	int got = cfg_get_strv(R, root, "plugin_dirs", &v, &n);

	for (size_t k = 0; got > 0 && k < n; k++)
		if (v[k][0] != '/') {
			cfg_fail(R,
				 config_setting_get_elem(
					 config_setting_get_member(root, "plugin_dirs"),
					 (unsigned)k),
				 "plugin_dirs entries must be absolute paths, not \"%s\"", v[k]);
			got = -1;
		}
	if (got <= 0) {
		util_strv_free(v);
		return got;
	}
	util_strv_free(c->plugin_dirs);
	c->plugin_dirs = v;
	c->plugin_dirs_set = 1; /* a private daemon then loads from these alone */
	return 0;
}

/* The daemon's folders, its log level and where it serves metrics. */
static int conf_places(const cfg_reader *R, const config_setting_t *root, conf *c)
{
	static const char *const levels[] = { "err",  "error", "warning", "notice",
					      "info", "debug", NULL };
	struct sockaddr_storage ss;
	socklen_t sl;
	char why[256];
	int lv, got;

	if (get_string(R, root, "state_dir", &c->state_dir) < 0 ||
	    get_string(R, root, "results_dir", &c->results_dir) < 0 ||
	    conf_plugin_dirs(R, root, c) < 0 ||
	    cfg_get_bool(R, root, "allow_any_plugin_path", &c->allow_any_plugin_path) < 0 ||
	    (got = cfg_get_enum(R, root, "log_level", levels, &lv)) < 0)
		return -1;
	if (got)
		c->log_level = conf_level_parse(levels[lv]);
	if ((got = get_string(R, root, "metrics_listen", &c->metrics_listen)) < 0)
		return -1;
	if (got && metrics_parse_listen(c->metrics_listen, &ss, &sl, why, sizeof(why)) < 0)
		return cfg_fail(R, config_setting_get_member(root, "metrics_listen"),
				"'metrics_listen': %s", why);
	return 0;
}

/* The runners, the daemon's timeouts and what it keeps. */
static int conf_numbers(const cfg_reader *R, const config_setting_t *root, conf *c)
{
	if (get_int(R, root, "runners", 0, 1024, &c->runners) < 0 ||
	    get_int(R, root, "runner_restarts", 0, 100000, &c->runner_restarts) < 0 ||
	    get_int(R, root, "keep_runs", 0, 10000, &c->keep_runs) < 0)
		return -1;
	if (cfg_get_num_in(R, root, "runner_timeout", 2, 3600, &c->runner_timeout) < 0 ||
	    cfg_get_num_in(R, root, "grace", 0.1, 86400, &c->grace) < 0 ||
	    cfg_get_num_in(R, root, "shutdown_grace", 0.1, 86400, &c->shutdown_grace) < 0 ||
	    cfg_get_num_in(R, root, "client_timeout", 1, 86400, &c->client_timeout) < 0)
		return -1;
	return 0;
}

/* The groups of settings. */
static int conf_groups(const cfg_reader *R, const config_setting_t *root, conf *c)
{
	const config_setting_t *s;

	if ((s = config_setting_get_member(root, "limits")) && conf_limits(R, s, c) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "results")) &&
	    results_conf_parse(s, R->file, &c->results, R->err, R->errlen) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "runner_stderr")) && conf_stderr(R, s, c) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "runner_limits")) &&
	    conf_runner_limits(R, s, c) < 0)
		return -1;
	return 0;
}

static const char *const conf_keys[] = {
	"socket",
	"socket_mode",
	"socket_group",
	"state_dir",
	"results_dir",
	"runner_endpoint",
	"plugin_dirs",
	"allow_any_plugin_path",
	"runners",
	"log_level",
	"limits",
	"runner_timeout",
	"runner_restarts",
	"grace",
	"shutdown_grace",
	"client_timeout",
	"metrics_listen",
	"results",
	"keep_runs",
	"runner_stderr",
	"runner_limits",
	/* runner hosts (conf_hosts.c) */
	"listen",
	"key",
	"authorized_keys",
	"agent",
	"server_key",
	"labels",
	"runners_per_host",
	NULL,
};

/* The runner-host settings (conf_hosts.c reads each). 0 or -1 (err set). */
static int conf_hosts_all(const cfg_reader *R, const config_setting_t *root, conf *c)
{
	for (int i = 0; i < config_setting_length(root); i++) {
		config_setting_t *s = config_setting_get_elem(root, (unsigned)i);

		if (conf_hosts_setting(R->file, s, &c->hosts, R->err, R->errlen) < 0)
			return -1;
	}
	return 0;
}

/* Reads path into c (which holds the defaults). 0, or -1 with
 * "file:line: reason" in err. */
int conf_load(conf *c, const char *file, char *err, size_t errlen)
{
	/* The scenario's bounds and checks (cfgbound.h): sizes, strings, and
	 * integers libconfig would wrap to 32 bits. */
	static const cfgbound_limits bounds = { .file_max = 16 << 20, .string_max = 64 << 10 };
	cfg_reader R = { .file = file, .err = err, .errlen = errlen };
	char *dir = util_dir_of(file), *text = NULL;
	const config_setting_t *root;
	config_t cf;
	int rc = -1;

	config_init(&cf);
	config_set_options(&cf, CONFIG_OPTION_AUTOCONVERT);
	if (dir)
		config_set_include_dir(&cf, dir);
	if (cfgbound_read(file, dir ? dir : ".", &bounds, &text, err, errlen) < 0)
		goto fail;
	if (!config_read_string(&cf, text)) {
		cfg_fail_at(&R, config_error_file(&cf), (unsigned)config_error_line(&cf), "%s",
			    config_error_text(&cf) ? config_error_text(&cf) : "cannot parse");
		goto fail;
	}
	root = config_root_setting(&cf);
	if (cfg_check_keys(&R, root, NULL, conf_keys) < 0 || conf_sockets(&R, root, c) < 0 ||
	    conf_places(&R, root, c) < 0 || conf_numbers(&R, root, c) < 0 ||
	    conf_groups(&R, root, c) < 0 || conf_hosts_all(&R, root, c) < 0)
		goto fail;
	free(c->file);
	c->file = strdup(file);
	rc = 0;
fail:
	config_destroy(&cf);
	free(text);
	free(dir);
	return rc;
}
