/*
 * mited.c - the mite daemon: the controller (mited.conf, the control
 * socket, runs and the runner processes they run on) or, with --runner,
 * one runner process. See mited(8), mited.conf(5), mite-control(7).
 *
 * Journey code never runs in the daemon (DESIGN.md §1): each run gets N
 * runner processes, spawned from this very executable, each speaking the
 * runner protocol over the ZeroMQ link (core/transport.h). A runner that
 * dies - a signal, an exit, or killed by the watchdog because its loop
 * stopped answering - is reported with the signal and the journey it was
 * running, and replaced; the run and the daemon go on.
 */
#include "config.h"

#include "controller/capacity.h"
#include "controller/control.h"
#include "controller/loglimit.h"
#include "controller/metrics.h"
#include "controller/report.h"
#include "controller/results.h"
#include "controller/results_io.h"
#include "controller/run.h"
#include "controller/scenario.h"
#include "core/kvl.h"
#include "core/log.h"
#include "core/proto.h"
#include "core/transport.h"
#include "core/utf8.h"
#include "runner/limits.h"
#include "runner/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libconfig.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MITED_EXIT_OK 0
#define MITED_EXIT_FAIL 1  /* configuration or startup failure */
#define MITED_EXIT_USAGE 2 /* bad command line */

#define HOUSEKEEPING_MS 1000
#define STDERR_LINE_MAX 1024
/* Lines a runner writes about its own death or state (a fatal signal, a
 * stack overflow, its memory limit): logged past runner_stderr, this many
 * per runner at most. */
#define STDERR_STATUS_LINES 16
/* runner_limits (mited.conf(5)) */
#define RUNNER_MEMORY_SHARE_DEFAULT 0.5
#define RUNNER_MEMORY_MIN ((uint64_t)64 << 20)
#define RUNNER_FILES_MIN 64
/* A runner that gets no setup this long after it started gives up: no run
 * expects its id (mited starts its own runners; by hand is not supported). */
#define RUNNER_SETUP_TIMEOUT_S 30.0
/* Unknown runner ids remembered (each is said once), and lines a minute. */
#define UNKNOWN_IDS 16
#define UNKNOWN_LOG_MAX 10
/* A runner still alive this long after its run ended is killed. */
#define LINGER_KILL_S 10.0
/* After the shutdown grace, runs are cancelled; this much later any runner
 * still alive is killed. */
#define SHUTDOWN_SLACK_S 10.0

/* ---- configuration ------------------------------------------------------ */

typedef struct conf {
	char *file;           /* where it came from (NULL: built-in defaults) */
	char *socket;         /* control socket */
	unsigned socket_mode;
	char *socket_group;
	char *state_dir;
	char *results_dir;
	char *runner_endpoint;
	char *metrics_listen; /* NULL: no metrics endpoint */
	results_conf results;
	char **plugin_dirs;   /* NULL-terminated */
	int allow_any_plugin_path;
	int runners;          /* per run; 0 = one per CPU */
	int log_level;
	int max_runs;
	long max_instances;   /* 0 = no limit */
	int max_clients;
	double runner_timeout;
	int runner_restarts;
	double grace;
	double shutdown_grace;
	double client_timeout;
	int keep_runs;
	loglimit_conf stderr_limit; /* runner_stderr */
	/* runner_limits: the resident memory of each runner, as bytes or as a
	 * share of the physical memory (one of them 0); its address space
	 * (RLIMIT_AS; 0: none) and open files (RLIMIT_NOFILE; 0: as mited's) */
	uint64_t runner_memory;
	double runner_memory_share;
	uint64_t runner_address_space;
	long runner_files;
} conf;

static const struct {
	const char *name;
	int level;
} log_levels[] = {
	{"err", LOG_LVL_ERR},       {"error", LOG_LVL_ERR}, {"warning", LOG_LVL_WARNING},
	{"notice", LOG_LVL_NOTICE}, {"info", LOG_LVL_INFO}, {"debug", LOG_LVL_DEBUG},
};

static const char *level_name(int level)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (log_levels[i].level == level && strcmp(log_levels[i].name, "error") != 0)
			return log_levels[i].name;
	return "?";
}

static int level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (strcmp(log_levels[i].name, s) == 0)
			return log_levels[i].level;
	return -1;
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static int strv_eq(char *const *a, char *const *b)
{
	while (a && b && *a && *b && strcmp(*a, *b) == 0) {
		a++;
		b++;
	}
	return (!a || !*a) && (!b || !*b);
}

static char *strv_join(char *const *v)
{
	size_t n = 1;
	for (char *const *p = v; p && *p; p++)
		n += strlen(*p) + 2;
	char *s = malloc(n);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (char *const *p = v; p && *p; p++) {
		if (p != v)
			strcat(s, ", ");
		strcat(s, *p);
	}
	return s;
}

static void conf_free(conf *c)
{
	free(c->file);
	free(c->socket);
	free(c->socket_group);
	free(c->state_dir);
	free(c->results_dir);
	free(c->runner_endpoint);
	free(c->metrics_listen);
	strv_free(c->plugin_dirs);
	memset(c, 0, sizeof(*c));
}

/* Joins dir and name into a new string. */
static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s/%s", dir, name);
	return s;
}

static char *dir_of(const char *path)
{
	char *s = strdup(path);
	if (!s)
		return NULL;
	char *slash = strrchr(s, '/');
	if (slash == s)
		s[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(s, strlen(s) + 1, ".");
	return s;
}

/* The defaults: a system instance under systemd or as root, else a private
 * one under the user's runtime and state directories. */
static int conf_defaults(conf *c)
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
static int conf_finish(conf *c)
{
	if (!c->results_dir && !(c->results_dir = path_join(c->state_dir, "results")))
		return -ENOMEM;
	if (!c->runner_endpoint) {
		char *dir = dir_of(c->socket);
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
static int conf_load(conf *c, const char *file, char *err, size_t errlen)
{
	config_t cf;
	config_init(&cf);
	config_set_options(&cf, CONFIG_OPTION_AUTOCONVERT);
	char *dir = dir_of(file);
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
					strv_free(v2);
					CONF_ERR(e, "plugin_dirs entries must be absolute paths");
				}
				v2[k] = strdup(p);
			}
			strv_free(c->plugin_dirs);
			c->plugin_dirs = v2;
		} else if (strcmp(n, "allow_any_plugin_path") == 0) {
			if (get_bool(file, s, &c->allow_any_plugin_path, err, errlen) < 0)
				goto fail;
		} else if (strcmp(n, "runners") == 0) {
			if (get_int(file, s, 0, 1024, &v, err, errlen) < 0)
				goto fail;
			c->runners = (int)v;
		} else if (strcmp(n, "log_level") == 0) {
			const char *l = config_setting_get_string(s);
			int lv = l ? level_parse(l) : -1;
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

/* ---- sd_notify (hand-written: the protocol is one datagram) -------------- */

static void sd_notify_str(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	size_t len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		log_debug("mited: sd_notify failed: %s", strerror(errno));
	close(fd);
}

/* Under systemd, stderr goes to the journal: JOURNAL_STREAM names it. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* ---- the daemon --------------------------------------------------------- */

typedef struct drun drun;
typedef struct rproc rproc;

typedef struct daemon_ {
	uv_loop_t *loop;
	conf cf;
	/* command-line overrides, kept across reloads */
	char *opt_config, *opt_socket, *opt_state_dir, *opt_metrics;
	int opt_level; /* -1: from mited.conf */
	char self_exe[PATH_MAX];
	control *ctl;
	metrics *metrics; /* the Prometheus endpoint, or NULL */
	tzmq_server *srv;
	uv_signal_t sigterm, sigint, sighup;
	uv_timer_t housekeeping, shutdown_timer;
	drun *runs; /* newest first */
	unsigned run_seq;
	unsigned runner_seq;
	int stopping;       /* SIGTERM/SIGINT received */
	int shutdown_phase; /* 0 draining, 1 cancelled, 2 killing */
	int closed;
	int parsing;        /* start requests whose scenario is being parsed */
	struct start_job *jobs; /* ... the same, to answer them at an early exit */
	atomic_int cancel_parses; /* set at shutdown: parses give up */
	uv_timer_t parse_timer;   /* at shutdown: how long parses are waited for */
	int parse_wait;
	/* runners with ids no run expects (started by hand): said once per id,
	 * at most UNKNOWN_LOG_MAX lines a minute */
	char unknown_ids[UNKNOWN_IDS][TZMQ_ID_MAX * 2 + 3];
	unsigned unknown_next;
	uint64_t unknown_window_ms;
	int unknown_logged, unknown_quiet;
	uint64_t started_ms;
	char last_status[256];
} daemon_;

struct rproc {
	transport t;      /* what the run holds: forwards to inner */
	transport *inner; /* the ZeroMQ link */
	drun *dr;
	rproc *next;
	uv_process_t proc;
	uv_pipe_t err;
	uv_timer_t settle; /* exit seen, waiting for the last stderr lines */
	int nhandles;
	int index;
	int pid;
	char id[TZMQ_ID_MAX + 1];
	int link_open;     /* the run still holds t */
	int busy;          /* runner_finished is using it: not freed under it */
	int exited, err_eof, finished;
	int bye_wait;      /* exited cleanly: its bye may still be on the way */
	int64_t exit_status;
	int term_signal;
	int watchdog;      /* killed for silence */
	uint64_t poked_ms; /* silent: asked (SIGUSR2) which journey it is stuck in */
	int killed;        /* a SIGKILL was sent */
	uint64_t spawned_ms;
	char journey[128];  /* from the crash line, else the last stats */
	char crash[256];    /* what the runner said about its death */
	char last_line[256];
	char line[STDERR_LINE_MAX];
	size_t linelen;
	uint64_t mem_limit; /* runner_limits.memory it was given, bytes; 0: none */
	uint64_t as_limit;  /* runner_limits.address_space it was given */
	int as_near;        /* it died close to its address space limit */
	loglimit ll;      /* runner_stderr */
	int status_lines; /* lines about itself logged past the limit */
};

struct drun {
	daemon_ *d;
	drun *next;
	run *r;
	char id[64];
	int wanted;      /* runners */
	int restarts;
	int gave_up;     /* too many restarts */
	int burst;       /* losses in a row, for the back-off */
	uint64_t last_loss_ms, next_spawn_ms;
	uint64_t cut_logged, cut_log_ms; /* labels cut (core/stats.h): said at most once a minute */
	double peak;     /* instances at scale 1 (closed models), for max_instances */
	rproc *procs;
	int done;
	uint64_t done_ms;
	char results[PATH_MAX];
	results *res; /* event log, summary, thresholds */
};

static daemon_ D;

static void rproc_maybe_free(rproc *p);
static int spawn_runner(drun *dr, int index);
static void daemon_check_exit(daemon_ *d);
static void daemon_close(daemon_ *d);
static void update_status(daemon_ *d);

static const char *sig_name(int sig)
{
	const char *s = sigabbrev_np(sig);
	return s ? s : "?";
}

static int nproc_online(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)(n > 256 ? 256 : n) : 1;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	int n = snprintf(buf, sizeof(buf), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* ---- runner processes --------------------------------------------------- */

static int proxy_send(transport *t, const char *msg, size_t len)
{
	rproc *p = (rproc *)t;
	return p->inner ? transport_send(p->inner, msg, len) : -EPIPE;
}

static void runner_finished(rproc *p);

static void proxy_close(transport *t)
{
	rproc *p = (rproc *)t;
	if (!p->link_open)
		return;
	p->link_open = 0;
	if (p->inner)
		transport_close(p->inner);
	p->inner = NULL;
	/* The bye a runner that already exited sent: it is done now. */
	if (p->bye_wait && !p->finished) {
		runner_finished(p);
		return;
	}
	rproc_maybe_free(p);
}

static const struct transport_ops proxy_ops = {.send = proxy_send, .close = proxy_close};

/* Remembers the journey a stats message names (the one whose code ran
 * last), for the report should the runner die. */
static void peek_journey(rproc *p, const char *msg, size_t len)
{
	static const char key[] = "\"journey\":\"";
	if (len > 65536 || !memmem(msg, len, "\"t\":\"stats\"", 11))
		return;
	const char *k = memmem(msg, len, key, sizeof(key) - 1);
	if (!k)
		return;
	k += sizeof(key) - 1;
	const char *end = memchr(k, '"', (size_t)(msg + len - k));
	if (end && (size_t)(end - k) < sizeof(p->journey))
		snprintf(p->journey, sizeof(p->journey), "%.*s", (int)(end - k), k);
}

static void proxy_recv(transport *inner, const char *msg, size_t len, void *data)
{
	rproc *p = data;
	char *fixed = NULL;
	(void)inner;
	/* Journey code names transactions, fails and sends messages with any
	 * bytes: one rule for them all before they reach the run's tables,
	 * its results and its replies (core/utf8.h). */
	if (!utf8_valid(msg, len)) {
		fixed = utf8_repair(msg, len, &len);
		if (!fixed) {
			log_err("run %s: runner %d: a message dropped: out of memory", p->dr->id,
				p->index);
			return;
		}
		msg = fixed;
	}
	peek_journey(p, msg, len);
	/* The run may close the link from here (bye): p stays, inner goes. */
	if (p->t.on_recv)
		p->t.on_recv(&p->t, msg, len, p->t.data);
	free(fixed);
}

static void rproc_handle_closed(uv_handle_t *h)
{
	rproc *p = h->data;
	p->nhandles--;
	rproc_maybe_free(p);
}

static void rproc_maybe_free(rproc *p)
{
	if (p->link_open || p->nhandles > 0 || !p->finished || p->busy)
		return;
	drun *dr = p->dr;
	for (rproc **pp = &dr->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	free(p);
	daemon_check_exit(dr->d);
}

/* Says how much of a runner's stderr runner_stderr dropped: every
 * LOGLIMIT_REPORT_MS while it floods, and once more at its end. */
static void stderr_report(rproc *p, int final)
{
	uint64_t lines, bytes;
	double secs;
	const loglimit_conf *c = &p->dr->d->cf.stderr_limit;
	if (!loglimit_report(&p->ll, uv_now(p->dr->d->loop), final, &lines, &bytes, &secs))
		return;
	log_warn("run %s: runner %d: %llu line(s) (%llu bytes) of its stderr dropped in %.0f s "
		 "(runner_stderr: %g lines/s, %g bytes/s)",
		 p->dr->id, p->index, (unsigned long long)lines, (unsigned long long)bytes, secs,
		 c->lines_per_s, c->bytes_per_s);
}

/* One line the runner wrote on stderr: logged with the run's and runner's
 * names, at the level its "<N>" prefix gives, as far as runner_stderr lets
 * it, and searched for what the runner says about its own death. */
static void runner_line(rproc *p, char *line)
{
	int level = LOG_LVL_INFO, status = 1;
	if (line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>') {
		level = line[1] - '0';
		line += 3;
	}
	if (level < LOG_LVL_ERR)
		level = LOG_LVL_ERR;
	/* "mite: fatal signal S in journey NAME" (our handler),
	 * "mite: journey NAME overflowed its N KiB stack" (core/coro.c) and
	 * "mite: memory limit of N MiB reached ..." and "mite: address space
	 * limit of N MiB nearly reached ..." (runner/limits.c). */
	const char *j;
	if (strncmp(line, "mite: fatal signal ", 19) == 0 && (j = strstr(line, " in journey "))) {
		snprintf(p->journey, sizeof(p->journey), "%s", j + 12);
		snprintf(p->crash, sizeof(p->crash), "%s", line + 6);
	} else if (strncmp(line, "mite: busy in journey ", 22) == 0) {
		snprintf(p->journey, sizeof(p->journey), "%s", line + 22);
	} else if (strncmp(line, "mite: journey ", 14) == 0 && (j = strstr(line, " overflowed its "))) {
		snprintf(p->journey, sizeof(p->journey), "%.*s", (int)(j - line - 14), line + 14);
		snprintf(p->crash, sizeof(p->crash), "stack overflow: %s", line + 6);
	} else if (strncmp(line, "mite: memory limit of ", 22) == 0) {
		snprintf(p->crash, sizeof(p->crash), "memory: %s", line + 6);
	} else if (strncmp(line, "mite: address space limit of ", 29) == 0) {
		p->as_near = 1; /* a fatal signal's line follows */
	} else {
		status = 0;
	}
	snprintf(p->last_line, sizeof(p->last_line), "%s", line);
	if (!(status && p->status_lines++ < STDERR_STATUS_LINES) &&
	    !loglimit_take(&p->ll, &p->dr->d->cf.stderr_limit, strlen(line),
			   uv_now(p->dr->d->loop)))
		return;
	log_msg(level, "run %s: runner %d: %s", p->dr->id, p->index, line);
}

static void err_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static char buf[4096];
	(void)h;
	(void)suggested;
	*b = uv_buf_init(buf, sizeof(buf));
}

static void err_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	rproc *p = s->data;
	if (n < 0) {
		if (p->linelen) {
			p->line[p->linelen] = '\0';
			runner_line(p, p->line);
			p->linelen = 0;
		}
		p->err_eof = 1;
		uv_close((uv_handle_t *)&p->err, rproc_handle_closed);
		if (p->exited)
			runner_finished(p);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		char c = b->base[i];
		if (c == '\n' || p->linelen == sizeof(p->line) - 1) {
			p->line[p->linelen] = '\0';
			runner_line(p, p->line);
			p->linelen = 0;
			if (c == '\n')
				continue;
		}
		p->line[p->linelen++] = c;
	}
}

static int run_active(const drun *dr)
{
	run_state st = run_get_state(dr->r);
	return st == RUN_STARTING || st == RUN_RUNNING || st == RUN_PAUSED;
}

static int alive_runners(const drun *dr)
{
	int n = 0;
	for (const rproc *p = dr->procs; p; p = p->next)
		n += !p->exited && p->link_open;
	return n;
}

/* Replaces lost runners while the run goes on (not while it starts: a
 * runner joining a starting run would never get its setup). A journey that
 * crashes every runner at once would make that a fork storm: the first
 * replacement is immediate, then each waits twice as long as the one
 * before (up to RESPAWN_MAX_MS) until runners stay up for a while. */
#define RESPAWN_BASE_MS 250
#define RESPAWN_MAX_MS 5000
#define RESPAWN_CALM_MS 30000

/* The lowest index no live runner uses. */
static int free_index(const drun *dr)
{
	int idx = 0;
	for (int used = 1; used;) {
		used = 0;
		for (const rproc *p = dr->procs; p; p = p->next)
			if (!p->exited && p->link_open && p->index == idx) {
				used = 1;
				idx++;
			}
	}
	return idx;
}

/* More runners for a run whose volume grew past what its runners may hold
 * (a scale, a plugin model): not replacements, so no restart is counted.
 * They join like replacements: set up at once, given a share when ready. */
static void grow_runners(drun *dr, int n, const char *why)
{
	if (n <= dr->wanted || n > CAPACITY_RUNNERS_MAX || dr->done || dr->d->stopping)
		return;
	log_msg(LOG_LVL_NOTICE, "run %s: %s: %d runners instead of %d (at most %ld instances of a "
		"journey per runner)", dr->id, why, n, dr->wanted, proto_instances_max());
	dr->wanted = n;
	while (alive_runners(dr) < dr->wanted)
		if (spawn_runner(dr, free_index(dr)) < 0)
			return; /* logged; replace_runners tries again */
	update_status(dr->d);
}

static void replace_runners(drun *dr)
{
	run_state st = run_get_state(dr->r);
	uint64_t now = uv_now(dr->d->loop);
	if (dr->done || dr->gave_up || dr->d->stopping || (st != RUN_RUNNING && st != RUN_PAUSED))
		return;
	while (alive_runners(dr) < dr->wanted && now >= dr->next_spawn_ms) {
		if (dr->restarts >= dr->d->cf.runner_restarts) {
			dr->gave_up = 1;
			log_err("run %s: %d runner restarts; giving up on replacing runners and "
				"stopping the run",
				dr->id, dr->restarts);
			run_stop_by(dr->r, 1, "mited: runner restarts exhausted (runner_restarts)");
			return;
		}
		dr->restarts++;
		int idx = free_index(dr);
		uint64_t wait = dr->burst ? (uint64_t)RESPAWN_BASE_MS << (dr->burst > 5 ? 5 : dr->burst - 1) : 0;
		dr->next_spawn_ms = now + (wait > RESPAWN_MAX_MS ? RESPAWN_MAX_MS : wait);
		if (spawn_runner(dr, idx) < 0)
			return; /* logged; the housekeeping tick tries again */
		log_msg(LOG_LVL_NOTICE, "run %s: runner %d replaced (restart %d of at most %d)",
			dr->id, idx, dr->restarts, dr->d->cf.runner_restarts);
	}
}

static void settle_cb(uv_timer_t *h);

/* The process is gone and its stderr read to the end (or given up on). */
static void runner_finished(rproc *p)
{
	if (p->finished)
		return;
	/* A runner that exits 0 has said bye just before; the process's exit
	 * can overtake the message on its way through ZeroMQ. Give it time. */
	if (p->link_open && !p->term_signal && p->exit_status == 0 && !p->bye_wait) {
		p->bye_wait = 1;
		uv_timer_start(&p->settle, settle_cb, 2000, 0);
		return;
	}
	p->finished = 1;
	p->busy = 1;
	stderr_report(p, 1);
	uv_timer_stop(&p->settle);
	if (!uv_is_closing((uv_handle_t *)&p->settle))
		uv_close((uv_handle_t *)&p->settle, rproc_handle_closed);
	drun *dr = p->dr;
	if (p->link_open) {
		/* It died before saying bye: lost. */
		char reason[512];
		char journey[160] = "";
		if (p->journey[0])
			snprintf(journey, sizeof(journey), " in journey '%s'", p->journey);
		int at_limit = strncmp(p->crash, "memory: memory limit of ", 24) == 0;
		if (p->watchdog)
			snprintf(reason, sizeof(reason),
				 "killed by the watchdog: silent for over %g s (its loop hung%s)",
				 dr->d->cf.runner_timeout, journey[0] ? journey : "");
		else if (at_limit && !p->term_signal)
			snprintf(reason, sizeof(reason), "exceeded its memory limit of %" PRIu64 " MiB%s",
				 p->mem_limit >> 20, journey);
		else if (p->term_signal && p->as_near)
			snprintf(reason, sizeof(reason),
				 "killed by signal %d (SIG%s, %s)%s at its address space limit of %" PRIu64
				 " MiB: an allocation probably failed",
				 p->term_signal, sig_name(p->term_signal), strsignal(p->term_signal),
				 journey, p->as_limit >> 20);
		else if (p->term_signal)
			snprintf(reason, sizeof(reason), "killed by signal %d (SIG%s, %s)%s%s",
				 p->term_signal, sig_name(p->term_signal), strsignal(p->term_signal),
				 journey,
				 strncmp(p->crash, "stack overflow", 14) == 0 ? ": a stack overflow" : "");
		else
			snprintf(reason, sizeof(reason), "exited with status %lld%s%s%s",
				 (long long)p->exit_status, journey,
				 p->last_line[0] ? ": " : "", p->last_line);
		log_err("run %s: runner %d (pid %d) %s", dr->id, p->index, p->pid, reason);
		uint64_t now = uv_now(dr->d->loop);
		if (dr->last_loss_ms && now - dr->last_loss_ms > RESPAWN_CALM_MS)
			dr->burst = 0; /* runners stayed up: start the back-off over */
		dr->burst++;
		dr->last_loss_ms = now;
		run_runner_lost(dr->r, &p->t, reason); /* closes the link */
		replace_runners(dr);
	} else if (p->term_signal || p->exit_status) {
		log_warn("run %s: runner %d (pid %d) ended with %s %d after it said bye", dr->id,
			 p->index, p->pid, p->term_signal ? "signal" : "status",
			 p->term_signal ? p->term_signal : (int)p->exit_status);
	}
	p->busy = 0;
	rproc_maybe_free(p);
	update_status(dr->d);
}

static void settle_cb(uv_timer_t *h)
{
	rproc *p = h->data;
	/* A grandchild may hold the pipe open: stop waiting for EOF. */
	if (!p->err_eof) {
		p->err_eof = 1;
		uv_read_stop((uv_stream_t *)&p->err);
		uv_close((uv_handle_t *)&p->err, rproc_handle_closed);
	}
	runner_finished(p);
}

static void on_exit_cb(uv_process_t *h, int64_t status, int sig)
{
	rproc *p = h->data;
	p->exited = 1;
	p->exit_status = status;
	p->term_signal = sig;
	uv_close((uv_handle_t *)&p->proc, rproc_handle_closed);
	if (p->err_eof)
		runner_finished(p);
	else
		uv_timer_start(&p->settle, settle_cb, 1000, 0);
}

/* runner_limits.memory in bytes: as given, or its share of the physical
 * memory; 0: no limit. */
static uint64_t runner_memory(const conf *c)
{
	if (c->runner_memory || !(c->runner_memory_share > 0))
		return c->runner_memory;
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || size <= 0)
		return 0;
	uint64_t b = (uint64_t)((double)pages * (double)size * c->runner_memory_share);
	return b < RUNNER_MEMORY_MIN ? RUNNER_MEMORY_MIN : b;
}

static int spawn_runner(drun *dr, int index)
{
	daemon_ *d = dr->d;
	rproc *p = calloc(1, sizeof(*p));
	if (!p) {
		log_err("run %s: cannot start runner %d: out of memory", dr->id, index);
		return -ENOMEM;
	}
	p->dr = dr;
	p->index = index;
	p->t.ops = &proxy_ops;
	loglimit_init(&p->ll, &d->cf.stderr_limit, uv_now(d->loop));
	uint32_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)uv_hrtime();
	int n = snprintf(p->id, sizeof(p->id), "%s.%d.%u.%08x", dr->id, index, ++d->runner_seq, rnd);
	if (n < 0 || (size_t)n >= sizeof(p->id)) {
		log_err("run %s: runner id too long", dr->id);
		free(p);
		return -ENAMETOOLONG;
	}
	p->inner = tzmq_server_expect(d->srv, p->id);
	if (!p->inner) {
		log_err("run %s: cannot start runner %d: %s", dr->id, index, strerror(errno));
		free(p);
		return -errno;
	}
	p->inner->on_recv = proxy_recv;
	p->inner->data = p;

	char sidx[16], sparent[16], smem[32], sas[32], sfiles[32];
	snprintf(sidx, sizeof(sidx), "%d", index);
	snprintf(sparent, sizeof(sparent), "%d", (int)getpid());
	p->mem_limit = runner_memory(&d->cf);
	snprintf(smem, sizeof(smem), "%" PRIu64, p->mem_limit);
	p->as_limit = d->cf.runner_address_space;
	snprintf(sas, sizeof(sas), "%" PRIu64, p->as_limit);
	snprintf(sfiles, sizeof(sfiles), "%ld", d->cf.runner_files);
	char *args[] = {"mited", "--runner", "--connect", (char *)tzmq_server_endpoint(d->srv),
			"--index", sidx, "--id", p->id, "--parent", sparent,
			"--log-level", (char *)level_name(log_get_level()),
			"--memory-limit", smem, "--address-space", sas, "--open-files", sfiles, NULL};
	uv_pipe_init(d->loop, &p->err, 0);
	p->err.data = p;
	uv_stdio_container_t stdio[3] = {
		{.flags = UV_IGNORE},
		{.flags = UV_IGNORE},
		{.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&p->err},
	};
	uv_process_options_t o = {
		.exit_cb = on_exit_cb,
		.file = d->self_exe,
		.args = args,
		.stdio = stdio,
		.stdio_count = 3,
		/* Its own session: a terminal's ^C goes to the daemon alone,
		 * which drains the runners through the protocol. */
		.flags = UV_PROCESS_DETACHED,
	};
	p->proc.data = p;
	int rc = uv_spawn(d->loop, &p->proc, &o);
	if (rc < 0) {
		log_err("run %s: cannot start runner %d (%s): %s", dr->id, index, d->self_exe,
			uv_strerror(rc));
		transport_close(p->inner);
		/* The pipe is closed, then p goes; nothing else references it. */
		p->inner = NULL;
		p->finished = 1;
		p->nhandles = 2;
		p->next = dr->procs;
		dr->procs = p;
		uv_close((uv_handle_t *)&p->err, rproc_handle_closed);
		uv_close((uv_handle_t *)&p->proc, rproc_handle_closed);
		return rc;
	}
	p->pid = p->proc.pid;
	p->nhandles = 3;
	uv_timer_init(d->loop, &p->settle);
	p->settle.data = p;
	uv_read_start((uv_stream_t *)&p->err, err_alloc, err_read);
	p->spawned_ms = uv_now(d->loop);
	p->link_open = 1;
	p->next = dr->procs;
	dr->procs = p;
	rc = run_add_runner(dr->r, &p->t);
	if (rc < 0) {
		log_err("run %s: cannot add runner %d: %s", dr->id, index, strerror(-rc));
		p->link_open = 0;
		transport_close(p->inner);
		p->inner = NULL;
		uv_process_kill(&p->proc, SIGKILL);
		return rc;
	}
	log_debug("run %s: runner %d started (pid %d, id %s)", dr->id, index, p->pid, p->id);
	return 0;
}

/* ---- runs --------------------------------------------------------------- */

static drun *find_run(daemon_ *d, const char *id, char *err, size_t errlen)
{
	drun *match = NULL;
	size_t len = strlen(id);
	int n = 0;
	for (drun *dr = d->runs; dr; dr = dr->next) {
		if (strcmp(dr->id, id) == 0)
			return dr;
		if (len && strncmp(dr->id, id, len) == 0) {
			match = dr;
			n++;
		}
	}
	if (n == 1)
		return match;
	if (n > 1)
		snprintf(err, errlen, "run '%s' is ambiguous (%d runs start with it)", id, n);
	else
		snprintf(err, errlen, "no run '%s'", id);
	return NULL;
}

static double run_peak(const scenario *s)
{
	double peak = 0;
	for (size_t i = 0; i < s->njourneys; i++)
		if (vmodel_get_kind(s->journeys[i].volume) == VMODEL_CLOSED &&
		    vmodel_peak(s->journeys[i].volume) > 0)
			peak += vmodel_peak(s->journeys[i].volume);
	return peak;
}

static double instances_in_use(const daemon_ *d, const drun *except)
{
	double n = 0;
	for (const drun *dr = d->runs; dr; dr = dr->next) {
		if (dr == except || dr->done || !run_active(dr))
			continue;
		cJSON *st = run_status(dr->r);
		const cJSON *sc = cJSON_GetObjectItemCaseSensitive(st, "scale");
		n += dr->peak * (cJSON_IsNumber(sc) ? sc->valuedouble : 1.0);
		cJSON_Delete(st);
	}
	return n;
}

/* The verdict's name (verdict.h; mitectl start --wait exits with its
 * status). */
static const char *verdict_of(const drun *dr) { return results_verdict(dr->res, dr->r); }

/* Transactions a status lists at most: with names of up to 1 KiB each
 * (STATS_LABEL_MAX), a status stays far below CONTROL_REPLY_MAX. The rest
 * is counted in "transactions_omitted" (summary.json has them all). */
#define STATUS_TXN_MAX 1000

static void status_bound(cJSON *o, const drun *dr)
{
	cJSON *tx = cJSON_GetObjectItemCaseSensitive(o, "transactions");
	int n = cJSON_GetArraySize(tx);
	uint64_t cut = run_totals(dr->r)->labels_cut;
	if (n > STATUS_TXN_MAX) {
		cJSON *kept = cJSON_CreateArray();
		for (int i = 0; kept && i < STATUS_TXN_MAX; i++)
			cJSON_AddItemToArray(kept, cJSON_DetachItemFromArray(tx, 0));
		if (kept) {
			cJSON_ReplaceItemInObjectCaseSensitive(o, "transactions", kept);
			cJSON_AddNumberToObject(o, "transactions_omitted", n - STATUS_TXN_MAX);
		}
	}
	/* Names from runners that were cut to fit (core/stats.h). */
	if (cut)
		cJSON_AddNumberToObject(o, "labels_cut", (double)cut);
}

/* The run's status object with what the daemon knows on top: runners,
 * the judgement as it stands (or the final one), where the results are
 * and whether its summary reached the disk. */
static cJSON *drun_status(const drun *dr)
{
	cJSON *o = run_status(dr->r);
	if (!o)
		return NULL;
	status_bound(o, dr);
	cJSON_AddNumberToObject(o, "runners_wanted", dr->wanted);
	cJSON_AddNumberToObject(o, "restarts", dr->restarts);
	results_status(dr->res, dr->r, o);
	if (dr->done) {
		const cJSON *sum = results_summary(dr->res);
		cJSON_AddStringToObject(o, "verdict", verdict_of(dr));
		/* The final judgement, not the one of a moment ago. */
		static const char *const keys[] = {"verdict_reason", "reasons", "warnings"};
		for (size_t k = 0; sum && k < sizeof(keys) / sizeof(keys[0]); k++) {
			cJSON_DeleteItemFromObjectCaseSensitive(o, keys[k]);
			cJSON_AddItemToObject(
				o, keys[k],
				cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(sum, keys[k]), 1));
		}
		if (results_dir(dr->res)) {
			cJSON_AddStringToObject(o, "results", results_dir(dr->res));
			cJSON_AddBoolToObject(o, "on_disk", results_on_disk(dr->res));
		}
	}
	return o;
}

static void drun_free(drun *dr)
{
	/* The results first: they point into the run's scenario. */
	results_free(dr->res);
	run_free(dr->r);
	free(dr);
}

/* Finished runs beyond keep_runs are forgotten (their results stay on
 * disk), oldest first, once their runner processes are gone. */
static void evict_runs(daemon_ *d)
{
	int kept = 0;
	for (drun **pp = &d->runs; *pp;) {
		drun *dr = *pp;
		if (dr->done && ++kept > d->cf.keep_runs && !dr->procs) {
			*pp = dr->next;
			drun_free(dr);
			continue;
		}
		pp = &dr->next;
	}
}

/* A finished run is remembered (keep_runs) for status, list, results and
 * the metrics: those need its names, totals, volume models (the verdict
 * asks which are open) and summary, not its datapools (a CSV of millions
 * of rows) or modules, which go now. Its results writer ends once its
 * queue is out (joined by housekeeping). */
static void drun_slim(drun *dr)
{
	/* The run is done: nothing of it reads the pools any more. */
	scenario_release_runtime((scenario *)run_scenario(dr->r));
	results_reap(dr->res);
}

static void on_run_done(run *r, void *data)
{
	drun *dr = data;
	dr->done = 1;
	dr->done_ms = uv_now(dr->d->loop);
	/* The results first: the final judgement of the thresholds is part
	 * of the verdict logged below. */
	cJSON *meta = cJSON_CreateObject();
	cJSON_AddNumberToObject(meta, "runners_wanted", dr->wanted);
	cJSON_AddNumberToObject(meta, "restarts", dr->restarts);
	int saved = dr->res && results_finish(dr->res, r, meta) == 0 && results_dir(dr->res);
	cJSON_Delete(meta);
	if (dr->res && results_dir(dr->res) && results_not_written(dr->res))
		log_err("run %s: results NOT on disk: %s/%s; the summary is kept in memory (mitectl results %s) "
			"until mited forgets the run",
			dr->id, results_dir(dr->res), results_not_written(dr->res), dr->id);
	cJSON *st = run_status(r);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(st, "error");
	log_info("run %s (%s): done after %.1f s, %s%s%s", dr->id, run_scenario(r)->name,
		 run_elapsed(r), verdict_of(dr), cJSON_IsString(err) ? ": " : "",
		 cJSON_IsString(err) ? err->valuestring : "");
	cJSON_Delete(st);
	if (saved) {
		snprintf(dr->results, sizeof(dr->results), "%s", results_dir(dr->res));
		log_info("run %s: results in %s", dr->id, dr->results);
	}
	drun_slim(dr);
	update_status(dr->d);
	daemon_check_exit(dr->d);
}

static void on_run_event(run *r, const cJSON *ev, void *data)
{
	drun *dr = data;
	results_event(dr->res, r, ev);
}

/* Closed models whose peak was not known at start (plugins): more runners
 * once a journey's share is over one runner's bound. */
static void check_runner_bound(drun *dr)
{
	const scenario *s = run_scenario(dr->r);
	long bound = proto_instances_max();
	int need = 0;

	if (run_get_state(dr->r) != RUN_RUNNING)
		return;
	for (size_t ji = 0; ji < s->njourneys; ji++) {
		long req = run_required(dr->r, ji);
		long n = req / bound + (req % bound != 0);
		if (n > need)
			need = n > CAPACITY_RUNNERS_MAX ? CAPACITY_RUNNERS_MAX : (int)n;
	}
	if (need > dr->wanted)
		grow_runners(dr, need, "the volume asked for grew");
}

static void on_run_tick(run *r, void *data)
{
	drun *dr = data;
	results_tick(dr->res, r);
	check_runner_bound(dr);
}

static void make_run_id(daemon_ *d, char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	char stamp[32];
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	for (;;) {
		snprintf(buf, len, "%s-%u", stamp, ++d->run_seq);
		char err[8];
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", d->cf.results_dir, buf);
		if (!find_run(d, buf, err, sizeof(err)) && access(path, F_OK) != 0)
			return;
	}
}

/* ---- control commands --------------------------------------------------- */

static const char *req_str(const cJSON *req, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *cmd_ping(control_client *cl, const cJSON *req, void *data)
{
	(void)cl;
	(void)req;
	(void)data;
	cJSON *o = control_ok();
	cJSON_AddTrueToObject(o, "pong");
	return o;
}

static cJSON *cmd_version(control_client *cl, const cJSON *req, void *data)
{
	(void)cl;
	(void)req;
	(void)data;
	cJSON *o = control_ok();
	cJSON_AddStringToObject(o, "version", PACKAGE_VERSION);
	cJSON_AddNumberToObject(o, "protocol", PROTO_VERSION);
	cJSON_AddNumberToObject(o, "abi", MITE_ABI_VERSION);
	cJSON_AddNumberToObject(o, "pid", (double)getpid());
	return o;
}

/* A NULL-terminated copy of the strings of a JSON array ("sets") or of
 * the MITE_CONF_* members of an array or object ("env"); NULL with err set. */
static char **req_strings(const cJSON *v, int env, const char *what, char *err, size_t errlen)
{
	int n = v ? cJSON_GetArraySize(v) : 0;
	char **out = calloc((size_t)n + 1, sizeof(char *));
	int k = 0;
	const cJSON *it;
	if (!out) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (v && !cJSON_IsArray(v) && !(env && cJSON_IsObject(v))) {
		snprintf(err, errlen, "'%s' must be an array of strings", what);
		goto fail;
	}
	cJSON_ArrayForEach(it, v) {
		char buf[8192];
		if (cJSON_IsObject(v)) {
			if (!cJSON_IsString(it)) {
				snprintf(err, errlen, "'%s.%s' must be a string", what, it->string);
				goto fail;
			}
			int m = snprintf(buf, sizeof(buf), "%s=%s", it->string, it->valuestring);
			if (m < 0 || (size_t)m >= sizeof(buf)) {
				snprintf(err, errlen, "'%s.%s' is too long", what, it->string);
				goto fail;
			}
		} else {
			if (!cJSON_IsString(it)) {
				snprintf(err, errlen, "'%s' must be an array of strings", what);
				goto fail;
			}
			snprintf(buf, sizeof(buf), "%s", it->valuestring);
		}
		if (env && strncmp(buf, "MITE_CONF_", 10) != 0)
			continue; /* only MITE_CONF_* travels */
		if (!env && !strchr(buf, '=')) {
			snprintf(err, errlen, "--set '%.256s': expected key=value", buf);
			goto fail;
		}
		if (!(out[k++] = strdup(buf))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	return out;
fail:
	strv_free(out);
	return NULL;
}

/* ---- starting a run: its scenario is parsed off the loop --------------- */

/* A start request whose scenario is parsed on libuv's thread pool: the
 * parse (libconfig, modules opened and checked, datapools built - a big
 * CSV is read whole) never holds the loop, so control clients, signals
 * and the runners' watchdog go on meanwhile. The run is made on the loop
 * once the parse is done, and only then does the client get its reply. */
typedef struct start_job {
	uv_work_t work;
	struct start_job *next; /* the daemon's list of parses under way */
	daemon_ *d;
	control_pending *reply;
	uid_t uid;
	char *path;
	char *name;         /* from the request, or NULL */
	char **sets, **env;
	char **plugin_dirs; /* a copy: a reload may change the daemon's meanwhile */
	int allow_any;
	double duration;    /* from the request, or 0 */
	int runners;        /* from the request, or 0 */
	scenario *s;        /* what the parse made, or NULL with err */
	char err[1024];
} start_job;

static char **strv_dup(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **out = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; out && i < n; i++)
		if (!(out[i] = strdup(v[i]))) {
			strv_free(out);
			return NULL;
		}
	return out;
}

static void start_job_free(start_job *j)
{
	scenario_free(j->s);
	free(j->path);
	free(j->name);
	strv_free(j->sets);
	strv_free(j->env);
	strv_free(j->plugin_dirs);
	free(j);
}

/* On a thread of the pool: touches nothing of the daemon's but the cancel
 * flag. */
static void start_parse(uv_work_t *w)
{
	start_job *j = w->data;
	struct stat st;
	/* A FIFO or a device would block (or feed) the parse forever. */
	if (stat(j->path, &st) != 0) {
		snprintf(j->err, sizeof(j->err), "%s: %s", j->path, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(j->err, sizeof(j->err), "%s: not a regular file", j->path);
		return;
	}
	scenario_opts so = {
		.sets = (const char *const *)j->sets,
		.env = (const char *const *)j->env,
		.plugin_dirs = (const char *const *)j->plugin_dirs,
		.allow_any_path = j->allow_any,
		.api = runner_api(),
		.duration_override = j->duration,
		.cancel = &j->d->cancel_parses,
	};
	j->s = scenario_load(j->path, &so, j->err, sizeof(j->err));
}

/* On the loop: the run from a parsed scenario (which it takes). The reply. */
static cJSON *start_run(daemon_ *d, start_job *job)
{
	char err[1024];
	scenario *s = job->s;
	job->s = NULL;
	if (job->name) {
		char *nn = strdup(job->name);
		if (!nn) {
			scenario_free(s);
			return control_error("out of memory");
		}
		free(s->name);
		s->name = nn;
	}
	double peak = run_peak(s);
	if (d->cf.max_instances > 0 && peak + instances_in_use(d, NULL) > (double)d->cf.max_instances) {
		scenario_free(s);
		return control_error("%s asks for up to %.0f instances; with the runs already going "
				     "that is over limits.max_instances = %ld",
				     job->path, peak, d->cf.max_instances);
	}
	/* Enough runners for the volume (each holds a bounded share), each
	 * with the memory mappings its share of stacks needs: refused here,
	 * before anything starts, rather than short of its volume later. */
	int asked = job->runners ? job->runners : d->cf.runners > 0 ? d->cf.runners : nproc_online();
	int wanted = capacity_runners(s, 1.0, asked, 1, err, sizeof(err));
	if (wanted < 0) {
		scenario_free(s);
		return control_error("%s", err);
	}
	if (wanted > asked)
		log_msg(LOG_LVL_NOTICE, "%s: %d runners instead of %d: up to %.0f instances, at most %ld "
			"of a journey per runner", job->path, wanted, asked, peak, proto_instances_max());
	drun *dr = calloc(1, sizeof(*dr));
	if (!dr) {
		scenario_free(s);
		return control_error("out of memory");
	}
	dr->d = d;
	dr->peak = peak;
	make_run_id(d, dr->id, sizeof(dr->id));
	dr->wanted = wanted;
	run_opts ro = {
		.id = dr->id,
		.grace = d->cf.grace,
		.http_events = d->cf.results.http_events,
		.hooks = {.on_done = on_run_done,
			  .on_tick = on_run_tick,
			  .on_event = on_run_event,
			  .data = dr},
	};
	dr->r = run_new(d->loop, s, &ro, err, sizeof(err)); /* takes s */
	if (!dr->r) {
		free(dr);
		return control_error("%s", err);
	}
	/* Its results folder (event log, summary) before anything runs. */
	char rdir[PATH_MAX];
	if (snprintf(rdir, sizeof(rdir), "%s/%s", d->cf.results_dir, dr->id) >= (int)sizeof(rdir)) {
		snprintf(err, sizeof(err), "%s/%s: path too long", d->cf.results_dir, dr->id);
		dr->res = NULL;
	} else {
		dr->res = results_new(dr->r, &(results_opts){.dir = rdir, .conf = &d->cf.results}, err,
				      sizeof(err));
	}
	if (!dr->res) {
		log_err("run %s: results: %s", dr->id, err);
		run_free(dr->r);
		free(dr);
		return control_error("run %s: results: %s", dr->id, err);
	}
	dr->next = d->runs;
	d->runs = dr;
	int started = 0;
	for (int i = 0; i < dr->wanted; i++)
		started += spawn_runner(dr, i) == 0;
	if (!started || run_start(dr->r) < 0) {
		/* Nothing to run on: the run ends at once, and says why. */
		run_stop(dr->r, 1);
		return control_error("run %s: could not start its runners (see mited's log)", dr->id);
	}
	log_info("run %s (%s): started by uid %u with %d runner(s): %s", dr->id,
		 run_scenario(dr->r)->name, (unsigned)job->uid, dr->wanted, job->path);
	cJSON *reply = control_ok();
	cJSON_AddStringToObject(reply, "run", dr->id);
	cJSON_AddStringToObject(reply, "name", run_scenario(dr->r)->name);
	cJSON_AddNumberToObject(reply, "runners", dr->wanted);
	update_status(d);
	return reply;
}

static void start_parsed(uv_work_t *w, int status)
{
	start_job *j = w->data;
	daemon_ *d = j->d;
	cJSON *reply;
	d->parsing--;
	for (start_job **pp = &d->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	if (!j->reply) {
		start_job_free(j);
		daemon_check_exit(d);
		return;
	}
	if (status == UV_ECANCELED || d->stopping || d->closed)
		reply = control_error("mited is shutting down; no new runs");
	else if (!j->s)
		reply = control_error("%s", j->err);
	else
		reply = start_run(d, j);
	control_reply(j->reply, reply);
	start_job_free(j);
	daemon_check_exit(d);
}

static cJSON *cmd_start(control_client *cl, const cJSON *req, void *data)
{
	daemon_ *d = data;
	char err[1024];
	const char *path = req_str(req, "scenario");
	const char *name = req_str(req, "name");
	const cJSON *jdur = cJSON_GetObjectItemCaseSensitive(req, "duration");
	const cJSON *jrun = cJSON_GetObjectItemCaseSensitive(req, "runners");

	if (d->stopping)
		return control_error("mited is shutting down; no new runs");
	if (!path)
		return control_error("start: \"scenario\" (a path) is missing");
	if (path[0] != '/')
		return control_error("start: scenario path '%.256s' must be absolute", path);
	if (strlen(path) >= PATH_MAX)
		return control_error("start: the scenario path is %zu bytes long, over the limit of %d "
				     "bytes",
				     strlen(path), PATH_MAX - 1);
	if (name && strlen(name) > SCENARIO_NAME_MAX)
		return control_error("start: \"name\" is %zu bytes long, over the limit of %d bytes",
				     strlen(name), SCENARIO_NAME_MAX);
	if (jdur && (!cJSON_IsNumber(jdur) || !(jdur->valuedouble > 0)))
		return control_error("start: \"duration\" must be a positive number of seconds");
	if (jrun && (!cJSON_IsNumber(jrun) || jrun->valuedouble < 1 || jrun->valuedouble > 1024))
		return control_error("start: \"runners\" must be between 1 and 1024");
	int active = d->parsing;
	for (drun *r = d->runs; r; r = r->next)
		active += !r->done;
	if (active >= d->cf.max_runs)
		return control_error("%d runs already (limits.max_runs = %d); stop one first", active,
				     d->cf.max_runs);
	start_job *j = calloc(1, sizeof(*j));
	if (!j)
		return control_error("out of memory");
	j->d = d;
	j->uid = control_client_uid(cl);
	j->work.data = j;
	j->allow_any = d->cf.allow_any_plugin_path;
	j->duration = jdur ? jdur->valuedouble : 0;
	j->runners = jrun ? (int)jrun->valuedouble : 0;
	j->sets = req_strings(cJSON_GetObjectItemCaseSensitive(req, "sets"), 0, "sets", err,
			      sizeof(err));
	if (!j->sets)
		goto fail;
	j->env = req_strings(cJSON_GetObjectItemCaseSensitive(req, "env"), 1, "env", err, sizeof(err));
	if (!j->env)
		goto fail;
	snprintf(err, sizeof(err), "out of memory");
	if (!(j->path = strdup(path)) || (name && *name && !(j->name = strdup(name))) ||
	    !(j->plugin_dirs = strv_dup(d->cf.plugin_dirs)))
		goto fail;
	int rc = uv_queue_work(d->loop, &j->work, start_parse, start_parsed);
	if (rc < 0) {
		snprintf(err, sizeof(err), "cannot queue the parse: %s", uv_strerror(rc));
		goto fail;
	}
	d->parsing++;
	j->next = d->jobs;
	d->jobs = j;
	/* Its callback runs on a later turn of the loop: deferring now is in
	 * time. Without a deferral (out of memory) the parse still ends, and
	 * its result is dropped. */
	j->reply = control_defer(cl);
	if (!j->reply)
		return control_error("start: out of memory");
	return control_deferred;
fail:
	start_job_free(j);
	return control_error("start: %s", err);
}

static drun *req_run(daemon_ *d, const cJSON *req, cJSON **reply)
{
	char err[256];
	const char *id = req_str(req, "run");
	if (!id) {
		*reply = control_error("\"run\" (a run id) is missing");
		return NULL;
	}
	drun *dr = find_run(d, id, err, sizeof(err));
	if (!dr)
		*reply = control_error("%s", err);
	return dr;
}

static cJSON *daemon_info(const daemon_ *d)
{
	cJSON *o = cJSON_CreateObject();
	int runs = 0;
	for (const drun *dr = d->runs; dr; dr = dr->next)
		runs += !dr->done;
	cJSON_AddStringToObject(o, "version", PACKAGE_VERSION);
	cJSON_AddNumberToObject(o, "pid", (double)getpid());
	cJSON_AddNumberToObject(o, "uptime", (double)(uv_now(d->loop) - d->started_ms) / 1000.0);
	cJSON_AddNumberToObject(o, "active_runs", runs);
	cJSON_AddBoolToObject(o, "stopping", d->stopping);
	return o;
}

typedef struct watch_arg {
	char id[64]; /* empty: every run */
	int ended;
} watch_arg;

static cJSON *status_of(daemon_ *d, const char *id, int *done)
{
	cJSON *o = control_ok();
	if (!o)
		return NULL;
	if (id && *id) {
		char err[256];
		drun *dr = find_run(d, id, err, sizeof(err));
		if (!dr) {
			cJSON_Delete(o);
			return control_error("%s", err);
		}
		cJSON_AddItemToObject(o, "run", drun_status(dr));
		if (done)
			*done = dr->done;
		return o;
	}
	cJSON_AddItemToObject(o, "daemon", daemon_info(d));
	cJSON *a = cJSON_AddArrayToObject(o, "runs");
	for (drun *dr = d->runs; a && dr; dr = dr->next)
		if (!dr->done)
			cJSON_AddItemToArray(a, drun_status(dr));
	return o;
}

static cJSON *watch_tick(control_client *cl, void *arg, void *data)
{
	watch_arg *w = arg;
	int done = 0;
	(void)cl;
	if (w->ended)
		return NULL;
	cJSON *o = status_of(data, w->id, &done);
	if (!o || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")) || done) {
		/* The last object of the stream says so. */
		w->ended = 1;
		if (o)
			cJSON_AddTrueToObject(o, "final");
	}
	return o;
}

static cJSON *cmd_status(control_client *cl, const cJSON *req, void *data)
{
	daemon_ *d = data;
	const char *id = req_str(req, "run");
	int done = 0;
	cJSON *o = status_of(d, id, &done);
	if (!o || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")))
		return o;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "watch"))) {
		const cJSON *iv = cJSON_GetObjectItemCaseSensitive(req, "interval");
		double interval = cJSON_IsNumber(iv) ? iv->valuedouble : 1.0;
		watch_arg *w = calloc(1, sizeof(*w));
		if (!w) {
			cJSON_Delete(o);
			return control_error("out of memory");
		}
		if (id) /* the full id, so that a prefix stays pinned to this run */
			snprintf(w->id, sizeof(w->id), "%s",
				 cJSON_GetObjectItemCaseSensitive(
					 cJSON_GetObjectItemCaseSensitive(o, "run"), "id")
					 ->valuestring);
		if (done) {
			free(w);
			cJSON_AddTrueToObject(o, "final");
		} else {
			control_client_watch(cl, interval, watch_tick, w, free);
			cJSON_AddTrueToObject(o, "watch");
		}
	}
	return o;
}

static cJSON *cmd_list(control_client *cl, const cJSON *req, void *data)
{
	daemon_ *d = data;
	(void)cl;
	(void)req;
	cJSON *o = control_ok();
	cJSON *a = cJSON_AddArrayToObject(o, "runs");
	/* Oldest first reads best in a table. */
	size_t n = 0;
	for (drun *dr = d->runs; dr; dr = dr->next)
		n++;
	for (size_t i = n; a && i-- > 0;) {
		drun *dr = d->runs;
		for (size_t k = 0; k < i; k++)
			dr = dr->next;
		cJSON *st = run_status(dr->r);
		cJSON *e = cJSON_CreateObject();
		static const char *const keep[] = {"id", "name", "state", "elapsed", "duration",
						   "scenario", "failed", "runners", "scale"};
		for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
			cJSON *v = cJSON_GetObjectItemCaseSensitive(st, keep[k]);
			if (v)
				cJSON_AddItemToObject(e, keep[k], cJSON_Duplicate(v, 1));
		}
		if (dr->done)
			cJSON_AddStringToObject(e, "verdict", verdict_of(dr));
		cJSON_Delete(st);
		cJSON_AddItemToArray(a, e);
	}
	return o;
}

static cJSON *run_reply(drun *dr, const char *what)
{
	cJSON *o = control_ok();
	cJSON_AddStringToObject(o, "run", dr->id);
	cJSON *st = run_status(dr->r);
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(st, "state");
	if (cJSON_IsString(state))
		cJSON_AddStringToObject(o, "state", state->valuestring);
	cJSON_Delete(st);
	log_info("run %s: %s", dr->id, what);
	return o;
}

static cJSON *cmd_stop(control_client *cl, const cJSON *req, void *data)
{
	cJSON *reply = NULL;
	drun *dr = req_run(data, req, &reply);
	if (!dr)
		return reply;
	if (dr->done)
		return control_error("run %s is already done", dr->id);
	int now = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "now"));
	char by[64];
	snprintf(by, sizeof(by), "mitectl stop%s (uid %u)", now ? " --now" : "",
		 (unsigned)control_client_uid(cl));
	run_stop_by(dr->r, now, by);
	return run_reply(dr, now ? "stop (now) requested" : "stop requested");
}

static cJSON *cmd_pause(control_client *cl, const cJSON *req, void *data)
{
	cJSON *reply = NULL;
	drun *dr = req_run(data, req, &reply);
	(void)cl;
	if (!dr)
		return reply;
	if (run_get_state(dr->r) != RUN_RUNNING)
		return control_error("run %s is not running", dr->id);
	run_pause(dr->r);
	return run_reply(dr, "paused");
}

static cJSON *cmd_resume(control_client *cl, const cJSON *req, void *data)
{
	cJSON *reply = NULL;
	drun *dr = req_run(data, req, &reply);
	(void)cl;
	if (!dr)
		return reply;
	if (run_get_state(dr->r) != RUN_PAUSED)
		return control_error("run %s is not paused", dr->id);
	run_resume(dr->r);
	return run_reply(dr, "resumed");
}

static cJSON *cmd_scale(control_client *cl, const cJSON *req, void *data)
{
	daemon_ *d = data;
	cJSON *reply = NULL;
	drun *dr = req_run(d, req, &reply);
	(void)cl;
	if (!dr)
		return reply;
	const cJSON *pc = cJSON_GetObjectItemCaseSensitive(req, "percent");
	if (!cJSON_IsNumber(pc) || !isfinite(pc->valuedouble) || pc->valuedouble < 0 ||
	    pc->valuedouble > 100000)
		return control_error("scale: \"percent\" must be a number from 0 to 100000");
	if (!run_active(dr))
		return control_error("run %s is not running", dr->id);
	double f = pc->valuedouble / 100.0;
	if (d->cf.max_instances > 0 &&
	    dr->peak * f + instances_in_use(d, dr) > (double)d->cf.max_instances)
		return control_error("scaling run %s to %g %% would ask for up to %.0f instances, over "
				     "limits.max_instances = %ld",
				     dr->id, pc->valuedouble, dr->peak * f, d->cf.max_instances);
	char err[1024];
	int need = capacity_runners(run_scenario(dr->r), f, dr->wanted, 1, err, sizeof(err));
	if (need < 0)
		return control_error("scaling run %s to %g %%: %s", dr->id, pc->valuedouble, err);
	if (run_scale(dr->r, f) < 0)
		return control_error("scale: %g %% refused", pc->valuedouble);
	grow_runners(dr, need, "scaled");
	char what[64];
	snprintf(what, sizeof(what), "scaled to %g %%", pc->valuedouble);
	cJSON *o = run_reply(dr, what);
	cJSON_AddNumberToObject(o, "percent", pc->valuedouble);
	return o;
}

/* A run the daemon has forgotten (or never had) may still have results on
 * disk from an earlier life. */
static cJSON *results_from_disk(daemon_ *d, const char *id)
{
	char file[PATH_MAX];
	if (strchr(id, '/') || strcmp(id, "..") == 0 || strcmp(id, ".") == 0)
		return NULL;
	int n = snprintf(file, sizeof(file), "%s/%s/summary.json", d->cf.results_dir, id);
	if (n < 0 || (size_t)n >= sizeof(file))
		return NULL;
	FILE *f = fopen(file, "re");
	if (!f)
		return NULL;
	char *buf = malloc(4 << 20);
	size_t len = buf ? fread(buf, 1, (4 << 20) - 1, f) : 0;
	fclose(f);
	if (!buf)
		return NULL;
	cJSON *sum = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!sum)
		return NULL;
	cJSON *o = control_ok();
	cJSON_AddStringToObject(o, "run", id);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(sum, "verdict");
	if (cJSON_IsString(v))
		cJSON_AddStringToObject(o, "verdict", v->valuestring);
	cJSON_AddTrueToObject(o, "done");
	char *text = NULL;
	size_t tlen = 0;
	FILE *tf = open_memstream(&text, &tlen);
	if (tf) {
		results_io_text(tf, sum);
		if (fclose(tf) == 0)
			cJSON_AddStringToObject(o, "text", text ? text : "");
		free(text);
	}
	cJSON_AddItemToObject(o, "summary", sum);
	snprintf(file, sizeof(file), "%s/%s", d->cf.results_dir, id);
	cJSON_AddStringToObject(o, "results", file);
	return o;
}

static cJSON *cmd_results(control_client *cl, const cJSON *req, void *data)
{
	daemon_ *d = data;
	char err[256];
	(void)cl;
	const char *id = req_str(req, "run");
	if (!id)
		return control_error("\"run\" (a run id) is missing");
	drun *dr = find_run(d, id, err, sizeof(err));
	if (!dr) {
		cJSON *o = results_from_disk(d, id);
		return o ? o : control_error("%s", err);
	}
	cJSON *o = control_ok();
	cJSON_AddStringToObject(o, "run", dr->id);
	if (dr->done)
		cJSON_AddStringToObject(o, "verdict", verdict_of(dr));
	cJSON_AddBoolToObject(o, "done", dr->done);
	/* A summary that could not be written lives here only: say so. */
	if (dr->done && results_dir(dr->res)) {
		cJSON_AddBoolToObject(o, "on_disk", results_on_disk(dr->res));
		if (results_not_written(dr->res))
			cJSON_AddStringToObject(o, "not_written", results_not_written(dr->res));
	}
	/* Done: summary.json's object; still running: the live status. */
	const cJSON *sum = results_summary(dr->res);
	cJSON_AddItemToObject(o, "summary", sum ? cJSON_Duplicate(sum, 1) : drun_status(dr));
	if (dr->results[0])
		cJSON_AddStringToObject(o, "results", dr->results);
	else if (results_dir(dr->res))
		cJSON_AddStringToObject(o, "results", results_dir(dr->res));
	/* The text summary (summary.txt), or the live one. */
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	if (f) {
		cJSON *now = sum ? NULL : results_summary_now(dr->res, dr->r);

		if (sum || now)
			results_io_text(f, sum ? sum : now);
		cJSON_Delete(now);
		fclose(f);
		cJSON_AddStringToObject(o, "text", text ? text : "");
		free(text);
	}
	return o;
}

static const control_cmd commands[] = {
	{"ping", cmd_ping},     {"version", cmd_version}, {"start", cmd_start},
	{"status", cmd_status}, {"list", cmd_list},       {"stop", cmd_stop},
	{"pause", cmd_pause},   {"resume", cmd_resume},   {"scale", cmd_scale},
	{"results", cmd_results}, {NULL, NULL},
};

/* ---- runners nobody expects ---------------------------------------------- */

/* A message from a runner id no run expects: a runner started by hand
 * (not supported: mited starts its own), or one of an earlier run. Said
 * once per id, at most UNKNOWN_LOG_MAX lines a minute; the runner itself
 * gives up after RUNNER_SETUP_TIMEOUT_S. */
static void on_unknown_runner(tzmq_server *s, const char *id, const char *msg, size_t len,
			      void *data)
{
	daemon_ *d = data;
	(void)msg;
	(void)len;
	for (unsigned i = 0; i < UNKNOWN_IDS; i++)
		if (strcmp(d->unknown_ids[i], id) == 0)
			return;
	snprintf(d->unknown_ids[d->unknown_next++ % UNKNOWN_IDS], sizeof(d->unknown_ids[0]), "%s",
		 id);
	if (d->unknown_logged >= UNKNOWN_LOG_MAX) {
		d->unknown_quiet++;
		return;
	}
	if (!d->unknown_logged++)
		d->unknown_window_ms = uv_now(d->loop);
	log_warn("mited: runner id '%s' connected to %s, but no run expects it; runners started by "
		 "hand are not supported yet (mited starts its own): it gives up without a setup "
		 "(after %.0f s by default)",
		 id, tzmq_server_endpoint(s), RUNNER_SETUP_TIMEOUT_S);
}

static void unknown_window(daemon_ *d, uint64_t now)
{
	if (!d->unknown_logged || now - d->unknown_window_ms < 60000)
		return;
	if (d->unknown_quiet)
		log_warn("mited: %d more runner id(s) no run expects in the last minute (not said one "
			 "by one)",
			 d->unknown_quiet);
	d->unknown_logged = d->unknown_quiet = 0;
}

/* ---- housekeeping, status, signals -------------------------------------- */

static void update_status(daemon_ *d)
{
	int runs = 0, running = 0;
	long instances = 0, runners = 0;
	for (drun *dr = d->runs; dr; dr = dr->next) {
		if (dr->done)
			continue;
		runs++;
		running += run_get_state(dr->r) == RUN_RUNNING;
		runners += alive_runners(dr);
		cJSON *st = run_status(dr->r);
		const cJSON *j;
		cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(st, "journeys")) {
			const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "actual");
			if (cJSON_IsNumber(a))
				instances += (long)a->valuedouble;
		}
		cJSON_Delete(st);
	}
	char msg[256];
	snprintf(msg, sizeof(msg), "STATUS=%s%d run%s (%d running), %ld instance%s, %ld runner%s",
		 d->stopping ? "stopping: " : "", runs, runs == 1 ? "" : "s", running, instances,
		 instances == 1 ? "" : "s", runners, runners == 1 ? "" : "s");
	if (strcmp(msg, d->last_status) != 0) {
		snprintf(d->last_status, sizeof(d->last_status), "%s", msg);
		sd_notify_str(msg);
	}
}

/* Renders every run the daemon knows into the metrics endpoint's text
 * (here, on the loop; the server thread only copies it). */
static void publish_metrics(daemon_ *d)
{
	size_t n = 0, k = 0, len = 0;
	if (!d->metrics)
		return;
	for (drun *dr = d->runs; dr; dr = dr->next)
		n++;
	metrics_run *mr = calloc(n ? n : 1, sizeof(*mr));
	if (!mr)
		return;
	for (drun *dr = d->runs; dr; dr = dr->next)
		mr[k++] = (metrics_run){.r = dr->r, .res = dr->res, .runners_wanted = dr->wanted,
					.restarts = dr->restarts};
	char *text = metrics_render(mr, n, &len);
	free(mr);
	if (text)
		metrics_publish(d->metrics, text, len);
	else
		log_warn("mited: metrics: out of memory rendering; serving the previous text");
}

/* Names from runners cut to fit are in the status ("labels_cut"); the log
 * says so too, at most once a minute per run. */
static void note_cut_labels(drun *dr, uint64_t now)
{
	uint64_t cut = run_totals(dr->r)->labels_cut;
	if (cut <= dr->cut_logged || (dr->cut_log_ms && now - dr->cut_log_ms < 60000))
		return;
	log_warn("run %s: %llu name(s) from its runners were longer than %d bytes and were cut "
		 "(they end in \"%s\")",
		 dr->id, (unsigned long long)cut, STATS_LABEL_MAX, STATS_CUT_MARK);
	dr->cut_logged = cut;
	dr->cut_log_ms = now;
}

static void housekeeping_cb(uv_timer_t *h)
{
	daemon_ *d = h->data;
	uint64_t now = uv_now(d->loop);
	uint64_t limit = (uint64_t)(d->cf.runner_timeout * 1000.0);
	for (drun *dr = d->runs; dr; dr = dr->next) {
		for (rproc *p = dr->procs; p; p = p->next) {
			stderr_report(p, 0);
			if (p->exited || p->killed)
				continue;
			if (p->link_open) {
				/* The watchdog: a runner's transport sends a keepalive
				 * every second from its loop; silence means the loop
				 * is stuck (a journey that never yields). */
				uint64_t last = tzmq_last_activity(p->inner);
				if (last < p->spawned_ms)
					last = p->spawned_ms;
				if (now - last <= limit) {
					p->poked_ms = 0;
				} else if (!p->poked_ms) {
					/* First ask it (from a signal handler, which runs
					 * even in a stuck loop) which journey holds it. */
					p->poked_ms = now;
					uv_process_kill(&p->proc, SIGUSR2);
				} else {
					log_err("run %s: runner %d (pid %d) silent for %.0f s%s%s%s; "
						"killing it",
						dr->id, p->index, p->pid, (double)(now - last) / 1000.0,
						p->journey[0] ? " (journey '" : "", p->journey,
						p->journey[0] ? "' never yields?)" : "");
					p->watchdog = 1;
					p->killed = 1;
					uv_process_kill(&p->proc, SIGKILL);
				}
			} else if (dr->done && now - dr->done_ms > (uint64_t)(LINGER_KILL_S * 1000)) {
				log_warn("run %s: runner %d (pid %d) still alive %.0f s after the run "
					 "ended; killing it",
					 dr->id, p->index, p->pid, LINGER_KILL_S);
				p->killed = 1;
				uv_process_kill(&p->proc, SIGKILL);
			}
		}
		replace_runners(dr);
		note_cut_labels(dr, now);
		if (dr->done)
			results_reap(dr->res);
	}
	evict_runs(d);
	unknown_window(d, now);
	update_status(d);
	publish_metrics(d);
}

static void daemon_close(daemon_ *d)
{
	if (d->closed)
		return;
	d->closed = 1;
	sd_notify_str("STATUS=stopped");
	if (d->ctl)
		control_close(d->ctl);
	d->ctl = NULL;
	metrics_free(d->metrics);
	d->metrics = NULL;
	if (d->srv)
		tzmq_server_close(d->srv);
	d->srv = NULL;
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
	uv_close((uv_handle_t *)&d->housekeeping, NULL);
	uv_close((uv_handle_t *)&d->shutdown_timer, NULL);
	uv_close((uv_handle_t *)&d->parse_timer, NULL);
	while (d->runs) {
		drun *dr = d->runs;
		d->runs = dr->next;
		drun_free(dr);
	}
}

/* A parse mited is waiting for at shutdown (a datapool plugin's open that
 * never returns, a huge CSV) cannot be interrupted: after this long mited
 * exits without it. */
#define PARSE_ABANDON_S 3.0

static void parse_abandon_cb(uv_timer_t *h)
{
	daemon_ *d = h->data;
	log_err("mited: %d scenario parse(s) still running %.0f s after every run drained; exiting "
		"without them",
		d->parsing, PARSE_ABANDON_S);
	/* Their clients are told (the write is tried at once). */
	for (struct start_job *j = d->jobs; j; j = j->next)
		if (j->reply) {
			control_reply(j->reply, control_error("mited is shutting down; no new runs"));
			j->reply = NULL;
		}
	daemon_close(d);
	/* The loop would wait for the thread pool: leave now. Everything
	 * that had to be written (results, the socket's removal) is done. */
	fflush(stderr);
	_exit(MITED_EXIT_OK);
}

/* During shutdown: once every run is done, every runner gone and no
 * scenario is being parsed, close. */
static void daemon_check_exit(daemon_ *d)
{
	if (!d->stopping || d->closed)
		return;
	for (drun *dr = d->runs; dr; dr = dr->next)
		if (!dr->done || dr->procs)
			return;
	if (d->parsing > 0) {
		if (!d->parse_wait) {
			d->parse_wait = 1;
			log_info("mited: every run drained; waiting for %d scenario parse(s) to give up",
				 d->parsing);
			uv_timer_start(&d->parse_timer, parse_abandon_cb,
				       (uint64_t)(PARSE_ABANDON_S * 1000), 0);
		}
		return;
	}
	log_info("mited: every run drained; exiting");
	daemon_close(d);
}

static void shutdown_cb(uv_timer_t *h)
{
	daemon_ *d = h->data;
	d->shutdown_phase++;
	if (d->shutdown_phase == 1) {
		log_warn("mited: shutdown grace (%g s) over; cancelling what is still running",
			 d->cf.shutdown_grace);
		for (drun *dr = d->runs; dr; dr = dr->next)
			if (!dr->done)
				run_stop(dr->r, 1);
		uv_timer_start(&d->shutdown_timer, shutdown_cb, (uint64_t)(SHUTDOWN_SLACK_S * 1000), 0);
	} else {
		log_warn("mited: killing the runners still alive");
		for (drun *dr = d->runs; dr; dr = dr->next)
			for (rproc *p = dr->procs; p; p = p->next)
				if (!p->exited) {
					p->killed = 1;
					uv_process_kill(&p->proc, SIGKILL);
				}
	}
}

static void on_stop_signal(uv_signal_t *h, int sig)
{
	daemon_ *d = h->data;
	if (d->stopping) {
		if (d->shutdown_phase == 0) {
			log_warn("mited: SIG%s again; cancelling every run now", sig_name(sig));
			uv_timer_stop(&d->shutdown_timer);
			shutdown_cb(&d->shutdown_timer);
		}
		return;
	}
	d->stopping = 1;
	atomic_store(&d->cancel_parses, 1);
	sd_notify_str("STOPPING=1");
	int n = 0;
	char by[64];
	snprintf(by, sizeof(by), "SIG%s: mited shutting down", sig_name(sig));
	for (drun *dr = d->runs; dr; dr = dr->next)
		if (!dr->done) {
			run_stop_by(dr->r, 0, by);
			n++;
		}
	log_info("mited: SIG%s: no new runs; draining %d run(s) (at most %g s)", sig_name(sig), n,
		 d->cf.shutdown_grace);
	uv_timer_start(&d->shutdown_timer, shutdown_cb, (uint64_t)(d->cf.shutdown_grace * 1000), 0);
	update_status(d);
	daemon_check_exit(d);
}

/* Builds the configuration from the defaults, the file, and the
 * command-line overrides. 0 or -1 with err set. */
static int daemon_conf(daemon_ *d, conf *c, char *err, size_t errlen)
{
	if (conf_defaults(c) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	const char *file = d->opt_config;
	char def[PATH_MAX];
	if (!file) {
		snprintf(def, sizeof(def), "%s/mite/mited.conf", MITE_SYSCONFDIR);
		if (access(def, F_OK) == 0)
			file = def;
	}
	if (file && conf_load(c, file, err, errlen) < 0)
		goto fail;
	if (d->opt_socket) {
		free(c->socket);
		c->socket = strdup(d->opt_socket);
	}
	if (d->opt_level >= 0)
		c->log_level = d->opt_level;
	if (d->opt_metrics) {
		struct sockaddr_storage ss;
		socklen_t sl;
		char why[256];
		if (metrics_parse_listen(d->opt_metrics, &ss, &sl, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "--metrics-listen %s: %s", d->opt_metrics, why);
			goto fail;
		}
		free(c->metrics_listen);
		c->metrics_listen = strdup(d->opt_metrics);
	}
	if (d->opt_state_dir) {
		free(c->state_dir);
		c->state_dir = strdup(d->opt_state_dir);
		/* A results_dir from the file stays; the default follows. */
	}
	if (!c->socket || !c->state_dir || conf_finish(c) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return 0;
fail:
	conf_free(c);
	return -1;
}

#define RELOAD_NUM(field, fmt)                                                                     \
	do {                                                                                       \
		if (n.field != d->cf.field) {                                                      \
			log_info("mited: reload: " #field ": " fmt " -> " fmt, d->cf.field, n.field); \
			d->cf.field = n.field;                                                     \
			changed++;                                                                 \
		}                                                                                  \
	} while (0)

#define RELOAD_FIXED(field)                                                                        \
	do {                                                                                       \
		if (strcmp(n.field ? n.field : "", d->cf.field ? d->cf.field : "") != 0)           \
			log_warn("mited: reload: " #field " changed to '%s'; that needs a restart "   \
				 "(still '%s')",                                                   \
				 n.field ? n.field : "", d->cf.field ? d->cf.field : "");          \
	} while (0)

static void on_sighup(uv_signal_t *h, int sig)
{
	daemon_ *d = h->data;
	conf n;
	char err[PATH_MAX + 1024];
	int changed = 0;
	(void)sig;
	if (daemon_conf(d, &n, err, sizeof(err)) < 0) {
		log_err("mited: reload failed, configuration unchanged: %s", err);
		return;
	}
	if (n.log_level != d->cf.log_level) {
		log_info("mited: reload: log_level: %s -> %s", level_name(d->cf.log_level),
			 level_name(n.log_level));
		d->cf.log_level = n.log_level;
		log_set_level(n.log_level);
		changed++;
	}
	if (!strv_eq(n.plugin_dirs, d->cf.plugin_dirs)) {
		char *a = strv_join(d->cf.plugin_dirs), *b = strv_join(n.plugin_dirs);
		log_info("mited: reload: plugin_dirs: [%s] -> [%s] (for runs started from now on)",
			 a ? a : "", b ? b : "");
		free(a);
		free(b);
		char **t = d->cf.plugin_dirs;
		d->cf.plugin_dirs = n.plugin_dirs;
		n.plugin_dirs = t;
		changed++;
	}
	RELOAD_NUM(allow_any_plugin_path, "%d");
	RELOAD_NUM(runners, "%d");
	RELOAD_NUM(max_runs, "%d");
	RELOAD_NUM(max_instances, "%ld");
	RELOAD_NUM(runner_timeout, "%g");
	RELOAD_NUM(runner_restarts, "%d");
	RELOAD_NUM(grace, "%g");
	RELOAD_NUM(shutdown_grace, "%g");
	RELOAD_NUM(keep_runs, "%d");
	RELOAD_NUM(stderr_limit.lines_per_s, "%g");
	RELOAD_NUM(stderr_limit.bytes_per_s, "%g");
	RELOAD_NUM(stderr_limit.burst_s, "%g");
	RELOAD_NUM(runner_memory, "%" PRIu64);
	RELOAD_NUM(runner_memory_share, "%g");
	RELOAD_NUM(runner_address_space, "%" PRIu64);
	RELOAD_NUM(runner_files, "%ld");
	RELOAD_FIXED(socket);
	RELOAD_FIXED(socket_group);
	RELOAD_FIXED(state_dir);
	RELOAD_FIXED(results_dir);
	RELOAD_FIXED(metrics_listen);
	RELOAD_FIXED(runner_endpoint);
	if (n.socket_mode != d->cf.socket_mode)
		log_warn("mited: reload: socket_mode changed to %04o; that needs a restart (still %04o)",
			 n.socket_mode, d->cf.socket_mode);
	if (n.max_clients != d->cf.max_clients || n.client_timeout != d->cf.client_timeout)
		log_warn("mited: reload: limits.max_clients and client_timeout need a restart");
	log_info("mited: reloaded %s: %d setting%s changed", n.file ? n.file : "(no file: defaults)",
		 changed, changed == 1 ? "" : "s");
	free(d->cf.file);
	d->cf.file = n.file;
	n.file = NULL;
	conf_free(&n);
}

/* ---- the two modes ------------------------------------------------------ */

static int run_daemon(daemon_ *d, int check_only)
{
	char err[PATH_MAX + 1024];
	if (daemon_conf(d, &d->cf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return MITED_EXIT_FAIL;
	}
	if (check_only) {
		printf("%s: ok\n", d->cf.file ? d->cf.file : "(no configuration file: defaults)");
		conf_free(&d->cf);
		return MITED_EXIT_OK;
	}
	log_set_level(d->cf.log_level);
	ssize_t n = readlink("/proc/self/exe", d->self_exe, sizeof(d->self_exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(d->self_exe) - 1)
		snprintf(d->self_exe, sizeof(d->self_exe), "/proc/self/exe");
	else
		d->self_exe[n] = '\0';

	uv_loop_t loop;
	int rc = uv_loop_init(&loop);
	if (rc < 0) {
		log_err("mited: uv_loop_init failed: %s", uv_strerror(rc));
		conf_free(&d->cf);
		return MITED_EXIT_FAIL;
	}
	d->loop = &loop;
	d->started_ms = uv_now(&loop);
	int status = MITED_EXIT_FAIL;

	char *sockdir = dir_of(d->cf.socket);
	if (!sockdir || (rc = mkdir_p(sockdir, 0750)) < 0) {
		log_err("mited: cannot create %s: %s", sockdir ? sockdir : d->cf.socket,
			sockdir ? strerror(-rc) : "out of memory");
		free(sockdir);
		goto fail_loop;
	}
	free(sockdir);
	if ((rc = mkdir_p(d->cf.state_dir, 0750)) < 0) {
		log_err("mited: cannot create state_dir %s: %s", d->cf.state_dir, strerror(-rc));
		goto fail_loop;
	}
	if ((rc = mkdir_p(d->cf.results_dir, 0750)) < 0) {
		log_err("mited: cannot create results_dir %s: %s", d->cf.results_dir, strerror(-rc));
		goto fail_loop;
	}
	/* The control socket first: "another mited is there" is the error
	 * that explains the most. */
	control_opts co = {
		.path = d->cf.socket,
		.mode = d->cf.socket_mode,
		.group = d->cf.socket_group,
		.idle_timeout = d->cf.client_timeout,
		.max_clients = d->cf.max_clients,
		.cmds = commands,
		.data = d,
	};
	d->ctl = control_new(&loop, &co, err, sizeof(err));
	if (!d->ctl) {
		log_err("mited: control socket: %s", err);
		goto fail_loop;
	}
	if (d->cf.metrics_listen) {
		d->metrics = metrics_new(d->cf.metrics_listen, 0, 0, err, sizeof(err));
		if (!d->metrics) {
			log_err("mited: metrics: %s", err);
			goto fail_ctl;
		}
		const char *ml = d->cf.metrics_listen;
		int hl = (int)(strrchr(ml, ':') - ml);
		log_info("mited: metrics on http://%.*s:%d/metrics", hl ? hl : 9, hl ? ml : "127.0.0.1",
			 metrics_port(d->metrics));
		publish_metrics(d);
	}
	d->srv = tzmq_server_new(&loop, d->cf.runner_endpoint, on_unknown_runner, d, err,
				 sizeof(err));
	if (!d->srv) {
		log_err("mited: runner link: %s", err);
		goto fail_ctl;
	}
	uv_signal_init(&loop, &d->sigterm);
	uv_signal_init(&loop, &d->sigint);
	uv_signal_init(&loop, &d->sighup);
	d->sigterm.data = d->sigint.data = d->sighup.data = d;
	uv_signal_start(&d->sigterm, on_stop_signal, SIGTERM);
	uv_signal_start(&d->sigint, on_stop_signal, SIGINT);
	uv_signal_start(&d->sighup, on_sighup, SIGHUP);
	uv_timer_init(&loop, &d->housekeeping);
	uv_timer_init(&loop, &d->shutdown_timer);
	uv_timer_init(&loop, &d->parse_timer);
	d->housekeeping.data = d->shutdown_timer.data = d->parse_timer.data = d;
	uv_timer_start(&d->housekeeping, housekeeping_cb, HOUSEKEEPING_MS, HOUSEKEEPING_MS);

	log_info("mited %s: listening on %s (runners: %s, state: %s, config: %s)", PACKAGE_VERSION,
		 d->cf.socket, tzmq_server_endpoint(d->srv), d->cf.state_dir,
		 d->cf.file ? d->cf.file : "defaults");
	sd_notify_str("READY=1");
	update_status(d);
	uv_run(&loop, UV_RUN_DEFAULT);
	status = MITED_EXIT_OK;
	goto out;

fail_ctl:
	metrics_free(d->metrics);
	d->metrics = NULL;
	control_close(d->ctl);
	d->ctl = NULL;
fail_loop:
	uv_run(&loop, UV_RUN_DEFAULT);
out:
	if (uv_loop_close(&loop) != 0)
		log_warn("mited: handles still open at exit");
	conf_free(&d->cf);
	return status;
}

/* ---- runner mode -------------------------------------------------------- */

static int runner_status = 0;

static void runner_done(runner *r, int status, void *data)
{
	(void)data;
	runner_status = status;
	runner_free(r);
}

/* Async-signal-safe: names the journey that was running when the runner
 * died, for the daemon's report (it reads our stderr), then dies of the
 * signal. core/coro.c's overflow handler, installed later, hands faults
 * that are not stack overflows back to this one. */
static void fatal_handler(int sig)
{
	static const char digits[] = "0123456789";
	char msg[256];
	size_t n = limits_fatal_note(msg, sizeof(msg));
	const char *j = runner_current_journey();
	if (n) {
		/* Near its address space limit: an allocation that failed is the
		 * likely cause. Said first; the daemon keeps it. */
		ssize_t w0 = write(STDERR_FILENO, msg, n);
		(void)w0;
		n = 0;
	}
	const char *pre = "<2>mite: fatal signal ";
	while (*pre)
		msg[n++] = *pre++;
	if (sig >= 10)
		msg[n++] = digits[(sig / 10) % 10];
	msg[n++] = digits[sig % 10];
	const char *mid = j ? " in journey " : " outside any journey";
	while (*mid)
		msg[n++] = *mid++;
	while (j && *j && n < sizeof(msg) - 1)
		msg[n++] = *j++;
	msg[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, msg, n);
	(void)w;
	signal(sig, SIG_DFL);
	raise(sig);
}

/* SIGUSR2 from the daemon's watchdog: the loop has stopped answering;
 * say which journey's code holds the thread. Async-signal-safe. */
static void busy_handler(int sig)
{
	char msg[256];
	size_t n = 0;
	const char *j = runner_current_journey();
	const char *pre = j ? "<3>mite: busy in journey " : "<3>mite: busy outside any journey";
	int saved = errno;
	(void)sig;
	while (*pre)
		msg[n++] = *pre++;
	while (j && *j && n < sizeof(msg) - 1)
		msg[n++] = *j++;
	msg[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, msg, n);
	(void)w;
	errno = saved;
}

static void install_fatal_handlers(void)
{
	static char altstack[64 * 1024];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
	sigaltstack(&ss, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fatal_handler;
	sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sa.sa_handler = busy_handler;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
}

/* The runner's link to its controller, watched on the way in for the
 * setup: a runner that gets none within its time (no run expects its id)
 * gives up rather than wait forever. One runner per process. */
typedef struct setup_watch {
	transport t;      /* what the runner holds */
	transport *inner; /* the ZeroMQ link */
	uv_timer_t timer;
	int set_up, timer_open;
	int index;
	double timeout;
	const char *endpoint, *id;
} setup_watch;

static setup_watch SW;

static int sw_send(transport *t, const char *msg, size_t len)
{
	(void)t;
	return SW.inner ? transport_send(SW.inner, msg, len) : -EPIPE;
}

static void sw_stop_timer(void)
{
	if (!SW.timer_open)
		return;
	SW.timer_open = 0;
	uv_close((uv_handle_t *)&SW.timer, NULL);
}

static void sw_close(transport *t)
{
	(void)t;
	if (SW.inner)
		transport_close(SW.inner);
	SW.inner = NULL;
	sw_stop_timer();
}

static const struct transport_ops sw_ops = {.send = sw_send, .close = sw_close};

static void sw_recv(transport *inner, const char *msg, size_t len, void *data)
{
	static const char key[] = "\"t\":\"setup\"";
	(void)inner;
	(void)data;
	/* proto_send writes {"v":1,"t":"setup",...}: the type comes first. */
	if (!SW.set_up && memmem(msg, len < 64 ? len : 64, key, sizeof(key) - 1)) {
		SW.set_up = 1;
		sw_stop_timer();
	}
	if (SW.t.on_recv)
		SW.t.on_recv(&SW.t, msg, len, SW.t.data);
}

static void sw_timeout(uv_timer_t *h)
{
	(void)h;
	log_err("runner %d: no setup from %s within %g s: no run there expects runner id '%s' "
		"(mited starts its own runners; runners started by hand are not supported yet); "
		"giving up",
		SW.index, SW.endpoint, SW.timeout, SW.id ? SW.id : "(none)");
	fflush(stderr);
	_exit(MITED_EXIT_FAIL);
}

static transport *sw_wrap(uv_loop_t *loop, transport *inner, int index, double timeout,
			  const char *endpoint, const char *id)
{
	SW = (setup_watch){.t = {.ops = &sw_ops}, .inner = inner, .index = index,
			   .timeout = timeout, .endpoint = endpoint, .id = id};
	inner->on_recv = sw_recv;
	uv_timer_init(loop, &SW.timer);
	uv_timer_start(&SW.timer, sw_timeout, (uint64_t)(timeout * 1000), 0);
	SW.timer_open = 1;
	return &SW.t;
}

/* SIGTERM or SIGINT to a runner started by hand: it ends, saying so
 * (async-signal-safe), by the signal. */
static void runner_stop_handler(int sig)
{
	static const char a[] = "runner: SIGTERM: exiting\n", b[] = "runner: SIGINT: exiting\n";
	ssize_t w = sig == SIGTERM ? write(STDERR_FILENO, a, sizeof(a) - 1)
				   : write(STDERR_FILENO, b, sizeof(b) - 1);
	(void)w;
	signal(sig, SIG_DFL);
	raise(sig);
}

static int run_runner(const char *endpoint, int index, const char *id, long parent,
		      uint64_t memory, uint64_t address_space, long files, double setup_timeout)
{
	char err[512];
	if (parent > 0) {
		/* mited drains its runners through the protocol: the signals a
		 * terminal or systemd send to the whole group are not for us. */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
	} else {
		/* By hand: SIGTERM and ^C end it at any time, even while a
		 * journey holds the loop. */
		signal(SIGINT, runner_stop_handler);
		signal(SIGTERM, runner_stop_handler);
	}
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (parent > 0) {
		/* Die with the daemon that spawned us. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != (pid_t)parent) {
			log_err("runner %d: mited (pid %ld) is gone; exiting", index, parent);
			return MITED_EXIT_FAIL;
		}
	}
	/* Before any module is loaded: what a journey allocates counts. */
	limits_apply(index, memory, address_space, files);
	install_fatal_handlers();
	uv_loop_t loop;
	if (uv_loop_init(&loop) < 0)
		return MITED_EXIT_FAIL;
	transport *zt = tzmq_connect(&loop, endpoint, id, err, sizeof(err));
	if (!zt) {
		log_err("runner %d: %s", index, err);
		uv_loop_close(&loop);
		return MITED_EXIT_FAIL;
	}
	transport *t = sw_wrap(&loop, zt, index, setup_timeout, endpoint, id);
	runner *r = runner_new(&loop, t, index, runner_done, NULL);
	if (!r) {
		log_err("runner %d: cannot start: out of memory", index);
		transport_close(t);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return MITED_EXIT_FAIL;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		log_warn("runner %d: handles still open at exit", index);
	return runner_status ? MITED_EXIT_FAIL : MITED_EXIT_OK;
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mited [OPTION]...\n"
		"       mited --runner --connect ENDPOINT --index N [--id ID]\n"
		"The mite load-testing daemon: runs scenarios on runner processes, driven\n"
		"by mitectl(1) over its control socket.\n"
		"\n"
		"  -c, --config FILE     read FILE (default %s/mite/mited.conf, if it exists)\n"
		"  -t, --check-config    check the configuration, print errors as file:line, exit\n"
		"  -s, --socket PATH     control socket (overrides mited.conf)\n"
		"  -d, --state-dir DIR   results and run files (overrides mited.conf)\n"
		"      --metrics-listen ADDR:PORT\n"
		"                        serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                        (overrides mited.conf's metrics_listen)\n"
		"  -l, --log-level LVL   err, warning, notice, info or debug\n"
		"  -h, --help            this help\n"
		"  -V, --version         print the version and exit\n"
		"\n"
		"Runner mode (mited starts its own runners this way; runners started by hand,\n"
		"e.g. on another host, are not supported yet: with no run expecting their id\n"
		"they give up after --setup-timeout seconds):\n"
		"      --runner          run one runner instead of the daemon\n"
		"      --connect EP      the controller's runner endpoint (ipc:// or tcp://)\n"
		"      --index N         the runner's number\n"
		"      --id ID           the runner id the controller expects\n"
		"      --setup-timeout S give up when no setup comes within S seconds (30)\n"
		"\n"
		"Exit status: 0 success (also after SIGTERM drained every run), 1 failure\n"
		"(configuration, socket), 2 bad command line. See mited(8).\n",
		MITE_SYSCONFDIR);
}

int main(int argc, char **argv)
{
	enum { OPT_RUNNER = 256, OPT_CONNECT, OPT_INDEX, OPT_ID, OPT_PARENT, OPT_METRICS,
	       OPT_MEMORY, OPT_ADDRESS_SPACE, OPT_FILES, OPT_SETUP_TIMEOUT };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 't'},
		{"socket", required_argument, NULL, 's'},
		{"state-dir", required_argument, NULL, 'd'},
		{"metrics-listen", required_argument, NULL, OPT_METRICS},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"runner", no_argument, NULL, OPT_RUNNER},
		{"connect", required_argument, NULL, OPT_CONNECT},
		{"index", required_argument, NULL, OPT_INDEX},
		{"id", required_argument, NULL, OPT_ID},
		{"parent", required_argument, NULL, OPT_PARENT},
		{"memory-limit", required_argument, NULL, OPT_MEMORY},
		{"address-space", required_argument, NULL, OPT_ADDRESS_SPACE},
		{"open-files", required_argument, NULL, OPT_FILES},
		{"setup-timeout", required_argument, NULL, OPT_SETUP_TIMEOUT},
		{NULL, 0, NULL, 0},
	};
	int check = 0, runner_mode = 0, index = 0, level = -1;
	long parent = 0, files = 0;
	uint64_t memory = 0, address_space = 0;
	double setup_timeout = RUNNER_SETUP_TIMEOUT_S;
	const char *endpoint = NULL, *id = NULL;
	int c;

	memset(&D, 0, sizeof(D));
	while ((c = getopt_long(argc, argv, "c:ts:d:l:hV", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'c': D.opt_config = optarg; break;
		case 't': check = 1; break;
		case 's': D.opt_socket = optarg; break;
		case 'd': D.opt_state_dir = optarg; break;
		case OPT_METRICS: D.opt_metrics = optarg; break;
		case 'l':
			if ((level = level_parse(optarg)) < 0) {
				fprintf(stderr, "mited: --log-level %s: expected err, warning, notice, "
						"info or debug\n", optarg);
				return MITED_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return MITED_EXIT_OK;
		case 'V':
			printf("mited %s (runner protocol %d, module ABI %d)\n", PACKAGE_VERSION,
			       PROTO_VERSION, MITE_ABI_VERSION);
			return MITED_EXIT_OK;
		case OPT_RUNNER: runner_mode = 1; break;
		case OPT_CONNECT: endpoint = optarg; break;
		case OPT_INDEX:
			index = (int)strtol(optarg, &end, 10);
			if (*end || index < 0) {
				fprintf(stderr, "mited: --index %s: expected a number >= 0\n", optarg);
				return MITED_EXIT_USAGE;
			}
			break;
		case OPT_ID: id = optarg; break;
		case OPT_PARENT: parent = strtol(optarg, NULL, 10); break;
		case OPT_MEMORY:
		case OPT_ADDRESS_SPACE: {
			errno = 0;
			unsigned long long b = strtoull(optarg, &end, 10);
			if (*end || errno || optarg[0] == '-' || !optarg[0]) {
				fprintf(stderr, "mited: --%s %s: expected bytes\n",
					c == OPT_MEMORY ? "memory-limit" : "address-space", optarg);
				return MITED_EXIT_USAGE;
			}
			*(c == OPT_MEMORY ? &memory : &address_space) = b;
			break;
		}
		case OPT_SETUP_TIMEOUT:
			setup_timeout = strtod(optarg, &end);
			if (*end || !(setup_timeout >= 0.1 && setup_timeout <= 86400)) {
				fprintf(stderr, "mited: --setup-timeout %s: expected seconds from 0.1 to "
						"86400\n", optarg);
				return MITED_EXIT_USAGE;
			}
			break;
		case OPT_FILES:
			files = strtol(optarg, &end, 10);
			if (*end || files < 0) {
				fprintf(stderr, "mited: --open-files %s: expected a number >= 0\n", optarg);
				return MITED_EXIT_USAGE;
			}
			break;
		default:
			fprintf(stderr, "Try 'mited --help'.\n");
			return MITED_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mited: unexpected argument '%s'\nTry 'mited --help'.\n", argv[optind]);
		return MITED_EXIT_USAGE;
	}
	if (D.opt_socket && D.opt_socket[0] != '/') {
		fprintf(stderr, "mited: --socket %s: must be an absolute path\n", D.opt_socket);
		return MITED_EXIT_USAGE;
	}
	if (runner_mode) {
		if (!endpoint) {
			fprintf(stderr, "mited: --runner needs --connect ENDPOINT\n");
			return MITED_EXIT_USAGE;
		}
		/* Under mited, our stderr is read by the daemon, which wants
		 * the levels; by hand, under systemd, journald does. */
		log_set_syslog_prefix(parent > 0 || stderr_is_journal());
		if (level >= 0)
			log_set_level(level);
		return run_runner(endpoint, index, id, parent, memory, address_space, files,
				  setup_timeout);
	}
	if (stderr_is_journal())
		log_set_syslog_prefix(1);
	signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
	/* A fixed threshold: big blocks (a datapool's arrays) are always
	 * mapped, and unmapped when a finished run frees them. glibc's sliding
	 * threshold would otherwise serve them from the heap of the parsing
	 * thread's arena and keep the pages. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
	D.opt_level = level;
	return run_daemon(&D, check);
}
