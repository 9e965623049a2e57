/*
 * mitectl.c - the command-line client of mited: one JSON request per line
 * on the control socket (mite-control(7)), its reply printed for people
 * (tables, colours on a terminal) or as JSON for scripts; plus the
 * foreground test modes (testmode.h), which need no daemon. See mitectl(1).
 */
#include "config.h"

#include "mitectl_har.h"
#include "mitectl_hosts.h"
#include "testmode.h"

#include "controller/report_html.h"
#include "controller/results_io.h"
#include "controller/results_view.h"
#include "controller/verdict.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Exit statuses (mitectl(1)); the test modes use testmode.h's, and
 * start --wait the verdict's (verdict.h: 0, 1, 4, 5, 6, 7). */
#define EX_OK_ 0
#define EX_FAILED 1 /* an error reply, or the run failed (--wait) */
#define EX_USAGE_ 2 /* bad command line */
#define EX_REFUSED 3 /* start: the scenario (or the daemon) refused it */
#define EX_UNAVAILABLE_ 69 /* mited is not running / not reachable */
#define EX_PROTOCOL 70 /* an answer that makes no sense */
#define EX_NOPERM_ 77 /* not allowed to talk to mited */

#define REPLY_TIMEOUT_MS 120000
#define MAX_SETS 256

static const char *sock_path;
static int opt_json;
static int use_color;
static volatile sig_atomic_t interrupted;

/* ---- output helpers ----------------------------------------------------- */

#define C_RESET (use_color ? "\033[0m" : "")
#define C_BOLD (use_color ? "\033[1m" : "")
#define C_RED (use_color ? "\033[31m" : "")
#define C_GREEN (use_color ? "\033[32m" : "")
#define C_YELLOW (use_color ? "\033[33m" : "")
#define C_DIM (use_color ? "\033[2m" : "")

static void die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die_msg(const char *fmt, ...)
{
	va_list ap;
	fputs("mitectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int jtrue(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static const char *state_color(const char *state, int failed)
{
	if (failed)
		return C_RED;
	if (strcmp(state, "running") == 0)
		return C_GREEN;
	if (strcmp(state, "done") == 0)
		return "";
	return C_YELLOW;
}

/* ---- the connection ----------------------------------------------------- */

static const char *default_socket(void)
{
	static char buf[sizeof(((struct sockaddr_un *)0)->sun_path) + 64];
	const char *env = getenv("MITE_SOCKET");
	const char *xrt = getenv("XDG_RUNTIME_DIR");
	if (env && *env)
		return env;
	if (geteuid() != 0 && xrt && *xrt) {
		snprintf(buf, sizeof(buf), "%s/mite/mited.sock", xrt);
		if (access(buf, F_OK) == 0)
			return buf;
	}
	return "/run/mite/mited.sock";
}

typedef struct conn {
	int fd;
	char *buf;
	size_t len, cap;
} conn;

static int conn_open(conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		die_msg("%s: socket path too long (at most %zu bytes)", sock_path,
			sizeof(sa.sun_path) - 1);
		return EX_USAGE_;
	}
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		die_msg("socket failed: %s", strerror(errno));
		return EX_UNAVAILABLE_;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		switch (e) {
		case ENOENT:
			die_msg("cannot connect to %s: no such socket; is mited running? (start it, "
				"or point --socket / MITE_SOCKET at its socket)",
				sock_path);
			return EX_UNAVAILABLE_;
		case ECONNREFUSED:
			die_msg("cannot connect to %s: connection refused; mited is not running "
				"(the socket file is stale)",
				sock_path);
			return EX_UNAVAILABLE_;
		case EACCES:
		case EPERM:
			die_msg("cannot connect to %s: permission denied; you must be root, mited's "
				"user, or in group mite",
				sock_path);
			return EX_NOPERM_;
		default:
			die_msg("cannot connect to %s: %s", sock_path, strerror(e));
			return EX_UNAVAILABLE_;
		}
	}
	c->fd = fd;
	return 0;
}

static void conn_close(conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}

static int conn_send(conn *c, cJSON *req)
{
	char *s = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!s) {
		die_msg("out of memory");
		return EX_PROTOCOL;
	}
	size_t n = strlen(s);
	s[n] = '\n'; /* cJSON's buffer has room: its terminating NUL */
	size_t off = 0;
	while (off < n + 1) {
		ssize_t w = send(c->fd, s + off, n + 1 - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			free(s);
			if (e == EPIPE || e == ECONNRESET)
				return EX_UNAVAILABLE_; /* the caller reads why */
			die_msg("%s: sending the request failed: %s", sock_path, strerror(e));
			return EX_UNAVAILABLE_;
		}
		off += (size_t)w;
	}
	free(s);
	return 0;
}

/* The next reply object; NULL (with *rc set) on EOF, timeout, interrupt or
 * garbage. timeout_ms < 0 waits forever. */
static cJSON *conn_recv(conn *c, int timeout_ms, int *rc)
{
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			cJSON *o = cJSON_ParseWithLength(c->buf, n);
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			if (!o || !cJSON_IsObject(o)) {
				cJSON_Delete(o);
				die_msg("%s: mited sent something that is not a JSON object",
					sock_path);
				*rc = EX_PROTOCOL;
				return NULL;
			}
			return o;
		}
		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			if (cap > (64u << 20)) {
				die_msg("%s: reply too long", sock_path);
				*rc = EX_PROTOCOL;
				return NULL;
			}
			char *nb = realloc(c->buf, cap);
			if (!nb) {
				die_msg("out of memory");
				*rc = EX_PROTOCOL;
				return NULL;
			}
			c->buf = nb;
			c->cap = cap;
		}
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int pr = poll(&p, 1, timeout_ms);
		if (pr < 0 && errno == EINTR) {
			if (interrupted) {
				*rc = 130;
				return NULL;
			}
			continue;
		}
		if (pr == 0) {
			die_msg("%s: no reply from mited within %d s", sock_path,
				timeout_ms / 1000);
			*rc = EX_UNAVAILABLE_;
			return NULL;
		}
		ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			die_msg("%s: mited closed the connection%s%s", sock_path, r < 0 ? ": " : "",
				r < 0 ? strerror(errno) : "");
			*rc = EX_UNAVAILABLE_;
			return NULL;
		}
		c->len += (size_t)r;
	}
}

/* An error reply as a message and an exit status. */
static int reply_error(const cJSON *reply, int status)
{
	const char *e = results_io_str(reply, "error", "unknown error");
	if (opt_json) {
		char *s = cJSON_PrintUnformatted(reply);
		if (s)
			puts(s);
		free(s);
	}
	die_msg("%s", e);
	if (strncmp(e, "permission denied", 17) == 0)
		return EX_NOPERM_;
	return status;
}

/* One request, one reply. The reply is the caller's (NULL: *rc says why). */
static cJSON *request(conn *c, cJSON *req, int *rc)
{
	*rc = conn_open(c);
	if (*rc) {
		cJSON_Delete(req);
		return NULL;
	}
	*rc = conn_send(c, req);
	if (*rc) {
		/* mited may have refused us at once (and closed): its reason is
		 * waiting to be read. */
		int rc2;
		cJSON *o = conn_recv(c, 1000, &rc2);
		if (o)
			*rc = 0;
		return o;
	}
	return conn_recv(c, REPLY_TIMEOUT_MS, rc);
}

static cJSON *new_req(const char *cmd, const char *run)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "cmd", cmd);
	if (run)
		cJSON_AddStringToObject(o, "run", run);
	return o;
}

static void print_json(const cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	if (s)
		puts(s);
	free(s);
	fflush(stdout);
}

/* ---- rendering ---------------------------------------------------------- */

/* Transaction counts seen at the previous frame, for live tx/s. */
typedef struct prev_counts {
	char key[256];
	double count;
	double at;
} prev_counts;

static prev_counts prev[512];
static size_t nprev;

static double live_rate(const cJSON *t, double elapsed, void *data)
{
	const char *journey = results_io_str(t, "journey", ""),
		   *name = results_io_str(t, "name", "");
	double count = results_io_num(t, "count", 0), avg = results_io_num(t, "rate", 0);
	char key[256];
	(void)data;
	snprintf(key, sizeof(key), "%s\x1f%s", journey, name);
	for (size_t i = 0; i < nprev; i++) {
		if (strcmp(prev[i].key, key) != 0)
			continue;
		double dt = elapsed - prev[i].at;
		double rate = dt > 0.05 ? (count - prev[i].count) / dt : avg;
		if (dt > 0.05) {
			prev[i].count = count;
			prev[i].at = elapsed;
		}
		return rate;
	}
	if (nprev < sizeof(prev) / sizeof(prev[0])) {
		snprintf(prev[nprev].key, sizeof(prev[nprev].key), "%s", key);
		prev[nprev].count = count;
		prev[nprev].at = elapsed;
		nprev++;
	}
	return avg;
}

/* A run as a table (status, status --watch, start --wait, results). */
static void render_run(FILE *f, const cJSON *r, int live)
{
	results_view_opts o = { .color = use_color, .rate = live ? live_rate : NULL };
	results_view_run(f, r, &o);
}

static void render_status(FILE *f, const cJSON *reply, int live)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(reply, "run");
	if (r) {
		render_run(f, r, live);
		return;
	}
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(reply, "daemon");
	const cJSON *runs = cJSON_GetObjectItemCaseSensitive(reply, "runs"), *it;
	char up[32];
	fprintf(f, "mited %s (pid %.0f), up %s, %d active run%s%s\n",
		results_io_str(d, "version", "?"), results_io_num(d, "pid", 0),
		results_view_dur(up, sizeof(up), results_io_num(d, "uptime", 0)),
		cJSON_GetArraySize(runs), cJSON_GetArraySize(runs) == 1 ? "" : "s",
		jtrue(d, "stopping") ? ", shutting down" : "");
	cJSON_ArrayForEach(it, runs)
	{
		fputc('\n', f);
		render_run(f, it, live);
	}
}

/* ---- commands ----------------------------------------------------------- */

typedef struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *synopsis;
	const char *help;
} command;

static const command *find_command(const char *name);

static void print_command_help(FILE *f, const char *name)
{
	const command *c = find_command(name);
	if (c)
		fprintf(f, "usage: mitectl %s\n\n%s", c->synopsis, c->help);
}

static int help_requested(int argc, char **argv, const char *name)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_command_help(stdout, name);
			return 1;
		}
	}
	return 0;
}

static int usage_error(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage_error(const char *name, const char *fmt, ...)
{
	va_list ap;
	fputs("mitectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	const command *c = find_command(name);
	fprintf(stderr, "\nusage: mitectl %s\n", c ? c->synopsis : name);
	return EX_USAGE_;
}

/* Sends a request and prints the reply: JSON, or ok_fn's rendering. */
static int simple(cJSON *req, void (*ok_fn)(const cJSON *reply))
{
	conn c;
	int rc;
	cJSON *reply = request(&c, req, &rc);
	conn_close(&c);
	if (!reply)
		return rc;
	if (!jtrue(reply, "ok")) {
		rc = reply_error(reply, EX_FAILED);
		cJSON_Delete(reply);
		return rc;
	}
	if (opt_json)
		print_json(reply);
	else if (ok_fn)
		ok_fn(reply);
	cJSON_Delete(reply);
	return EX_OK_;
}

/* stop, pause, resume, scale: the reply carries the run as status does. */
static void print_ok_run(const cJSON *reply)
{
	const cJSON *pc = cJSON_GetObjectItemCaseSensitive(reply, "percent");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(reply, "run");
	if (cJSON_IsNumber(pc))
		printf("run %s: scaled to %g%% (%s)\n", results_io_str(r, "id", "?"),
		       pc->valuedouble, results_io_str(r, "state", "?"));
	else
		printf("run %s: %s\n", results_io_str(r, "id", "?"),
		       results_io_str(r, "state", "?"));
}

static int run_arg_command(int argc, char **argv, const char *cmd, const char *flag)
{
	const char *run = NULL;
	int flag_set = 0;
	if (help_requested(argc, argv, cmd))
		return EX_OK_;
	for (int i = 1; i < argc; i++) {
		if (flag && strcmp(argv[i], flag) == 0)
			flag_set = 1;
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error(cmd, "unknown option '%s'", argv[i]);
		else if (!run)
			run = argv[i];
		else
			return usage_error(cmd, "unexpected argument '%s'", argv[i]);
	}
	if (!run)
		return usage_error(cmd, "which run? (see mitectl list)");
	cJSON *req = new_req(cmd, run);
	if (flag_set)
		cJSON_AddTrueToObject(req, flag + 2);
	return simple(req, print_ok_run);
}

static int cmd_stop(int argc, char **argv)
{
	return run_arg_command(argc, argv, "stop", "--now");
}
static int cmd_pause(int argc, char **argv)
{
	return run_arg_command(argc, argv, "pause", NULL);
}
static int cmd_resume(int argc, char **argv)
{
	return run_arg_command(argc, argv, "resume", NULL);
}

static int cmd_scale(int argc, char **argv)
{
	if (help_requested(argc, argv, "scale"))
		return EX_OK_;
	if (argc != 3)
		return usage_error("scale", "expected RUN and PERCENT");
	char *end;
	const char *p = argv[2];
	double pc = strtod(p, &end);
	if (end == p || (*end && strcmp(end, "%") != 0) || !isfinite(pc) || pc < 0)
		return usage_error("scale",
				   "PERCENT must be a number >= 0 (100 = as written), not '%s'", p);
	cJSON *req = new_req("scale", argv[1]);
	cJSON_AddNumberToObject(req, "percent", pc);
	return simple(req, print_ok_run);
}

static void print_version(const cJSON *reply)
{
	printf("mitectl %s\nmited %s (pid %.0f, runner protocol %.0f, module ABI %.0f)\n",
	       PACKAGE_VERSION, results_io_str(reply, "version", "?"),
	       results_io_num(reply, "pid", 0), results_io_num(reply, "protocol", 0),
	       results_io_num(reply, "abi", 0));
}

static int cmd_version(int argc, char **argv)
{
	if (help_requested(argc, argv, "version"))
		return EX_OK_;
	if (argc > 1)
		return usage_error("version", "unexpected argument '%s'", argv[1]);
	return simple(new_req("version", NULL), print_version);
}

static void print_pong(const cJSON *reply)
{
	(void)reply;
	printf("mited is alive at %s\n", sock_path);
}

static int cmd_ping(int argc, char **argv)
{
	if (help_requested(argc, argv, "ping"))
		return EX_OK_;
	if (argc > 1)
		return usage_error("ping", "unexpected argument '%s'", argv[1]);
	return simple(new_req("ping", NULL), print_pong);
}

static int list_quiet;

static void print_list(const cJSON *reply)
{
	const cJSON *runs = cJSON_GetObjectItemCaseSensitive(reply, "runs"), *r;
	if (list_quiet) {
		cJSON_ArrayForEach(r, runs) puts(results_io_str(r, "id", "?"));
		return;
	}
	if (cJSON_GetArraySize(runs) == 0) {
		printf("no runs\n");
		return;
	}
	printf("%s%-22s %-20s %-9s %9s %9s %-8s%s\n", C_DIM, "RUN", "NAME", "STATE", "ELAPSED",
	       "DURATION", "VERDICT", C_RESET);
	cJSON_ArrayForEach(r, runs)
	{
		char el[32], du[32];
		const char *state = results_io_str(r, "state", "?");
		const char *v = results_io_str(r, "verdict", "-");
		double dur = results_io_num(r, "duration", 0);
		printf("%-22s %-20.20s %s%-9s%s %9s %9s %s%-8s%s\n", results_io_str(r, "id", "?"),
		       results_io_str(r, "name", "?"), state_color(state, 0), state, C_RESET,
		       results_view_dur(el, sizeof(el), results_io_num(r, "elapsed", 0)),
		       dur > 0 ? results_view_dur(du, sizeof(du), dur) : "-",
		       strcmp(v, "passed") == 0      ? C_GREEN
			       : strcmp(v, "-") == 0 ? ""
						     : C_RED,
		       v, C_RESET);
	}
}

static int cmd_list(int argc, char **argv)
{
	if (help_requested(argc, argv, "list"))
		return EX_OK_;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
			list_quiet = 1;
		else
			return usage_error("list", "unexpected argument '%s'", argv[i]);
	}
	return simple(new_req("list", NULL), print_list);
}

static int results_summary_json; /* results --json: the summary alone */

static void print_results(const cJSON *reply)
{
	const char *text = results_io_str(reply, "text", NULL);
	const char *v = results_io_str(reply, "verdict", NULL);
	if (results_summary_json) {
		const cJSON *sum = cJSON_GetObjectItemCaseSensitive(reply, "summary");
		char *s = cJSON_Print(sum ? sum : reply);
		if (s)
			puts(s);
		free(s);
		return;
	}
	if (text && *text) {
		/* The summary text ends with its verdict line. */
		fputs(text, stdout);
		v = NULL;
	} else {
		const cJSON *sum = cJSON_GetObjectItemCaseSensitive(reply, "summary");
		if (sum)
			render_run(stdout, sum, 0);
	}
	if (v)
		printf("verdict: %s%s%s\n", strcmp(v, "passed") == 0 ? C_GREEN : C_RED, v, C_RESET);
	else if (!jtrue(reply, "done"))
		printf("(the run is not done yet)\n");
	const char *res = results_io_str(reply, "results", NULL);
	int lost = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(reply, "on_disk"));
	if (res)
		printf("results: %s%s\n", res, lost ? " (the summary is NOT there)" : "");
	if (lost)
		fprintf(stderr,
			"mitectl: the summary of run %s is not on disk (%s); mited keeps it in memory "
			"until it forgets the run\n",
			results_io_str(reply, "run", "?"),
			results_io_str(reply, "not_written", "?"));
}

/* Whether arg names a results folder here rather than a run of mited. */
static int is_folder(const char *arg)
{
	struct stat st;
	return strchr(arg, '/') || (stat(arg, &st) == 0 && S_ISDIR(st.st_mode));
}

static int cmd_results(int argc, char **argv)
{
	const char *run = NULL;
	if (help_requested(argc, argv, "results"))
		return EX_OK_;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			results_summary_json = 1;
		else if (argv[i][0] == '-')
			return usage_error("results", "unknown option '%s'", argv[i]);
		else if (!run)
			run = argv[i];
		else
			return usage_error("results", "unexpected argument '%s'", argv[i]);
	}
	if (!run)
		return usage_error("results", "expected one RUN (or a results folder)");
	if (is_folder(run)) {
		char path[PATH_MAX], err[PATH_MAX + 256];
		if (snprintf(path, sizeof(path), "%s/summary.json", run) >= (int)sizeof(path)) {
			die_msg("%s: path too long", run);
			return EX_FAILED;
		}
		cJSON *sum = results_io_load_json(path, err, sizeof(err));
		if (!sum) {
			die_msg("%s", err);
			return EX_FAILED;
		}
		if (results_summary_json || opt_json) {
			char *s = cJSON_Print(sum);
			if (s)
				puts(s);
			free(s);
		} else {
			results_io_text(stdout, sum);
		}
		cJSON_Delete(sum);
		return EX_OK_;
	}
	/* One shape for a run's results: with --json before or after the
	 * command, the summary (summary.json's object), as for a folder. */
	results_summary_json |= opt_json;
	conn c;
	int rc;
	cJSON *reply = request(&c, new_req("results", run), &rc);
	conn_close(&c);
	if (!reply)
		return rc;
	rc = jtrue(reply, "ok") ? (print_results(reply), EX_OK_) : reply_error(reply, EX_FAILED);
	cJSON_Delete(reply);
	return rc;
}

/* The results folder of run id, asked of mited, into dir. 0, or an exit
 * status (the error said). */
static int run_results_dir(const char *id, char *dir, size_t len)
{
	conn c;
	int rc;
	cJSON *reply = request(&c, new_req("results", id), &rc);
	conn_close(&c);
	if (!reply)
		return rc;
	if (!jtrue(reply, "ok")) {
		rc = reply_error(reply, EX_FAILED);
	} else if (!results_io_str(reply, "results", NULL)) {
		die_msg("run %s has no results folder", id);
		rc = EX_FAILED;
	} else if (snprintf(dir, len, "%s", results_io_str(reply, "results", "")) >= (int)len) {
		die_msg("run %s: results path too long", id);
		rc = EX_FAILED;
	} else {
		rc = EX_OK_;
	}
	cJSON_Delete(reply);
	return rc;
}

/* A cat argument: a file or folder here, "-", or the id of one of mited's
 * runs (its results folder). */
static int cat_one(const char *arg, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;
	int rc;

	if (strcmp(arg, "-") == 0 || strchr(arg, '/') || stat(arg, &st) == 0)
		return results_io_cat(arg, stdout, use_color, err, errlen) < 0 ? EX_FAILED : EX_OK_;
	if ((rc = run_results_dir(arg, dir, sizeof(dir))) != EX_OK_)
		return rc;
	return results_io_cat(dir, stdout, use_color, err, errlen) < 0 ? EX_FAILED : EX_OK_;
}

static int cmd_cat(int argc, char **argv)
{
	char err[PATH_MAX + 256];
	int status = EX_OK_;
	if (help_requested(argc, argv, "cat"))
		return EX_OK_;
	if (argc < 2)
		return usage_error(
			"cat",
			"which event log? (events.jsonl, a results folder, a RUN, or - for stdin)");
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1])
			return usage_error("cat", "unknown option '%s'", argv[i]);
	}
	for (int i = 1; i < argc; i++) {
		int rc;
		err[0] = '\0';
		if ((rc = cat_one(argv[i], err, sizeof(err))) != EX_OK_) {
			if (err[0])
				die_msg("%s", err);
			status = rc;
		}
	}
	fflush(stdout);
	return status;
}

static int cmd_report(int argc, char **argv)
{
	const char *run = NULL, *out = NULL;
	char dir[PATH_MAX], err[PATH_MAX + 256];
	if (help_requested(argc, argv, "report"))
		return EX_OK_;
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) &&
		    i + 1 < argc)
			out = argv[++i];
		else if (strncmp(argv[i], "--output=", 9) == 0)
			out = argv[i] + 9;
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("report", "unknown option '%s'", argv[i]);
		else if (!run)
			run = argv[i];
		else
			return usage_error("report", "unexpected argument '%s'", argv[i]);
	}
	if (!run)
		return usage_error("report", "expected one RUN (or a results folder)");
	if (!out || !*out)
		return usage_error("report", "where to? -o FILE.html (- for standard output)");
	if (is_folder(run)) {
		snprintf(dir, sizeof(dir), "%s", run);
	} else {
		/* The daemon knows where the run's results are. */
		conn c;
		int rc;
		cJSON *reply = request(&c, new_req("results", run), &rc);
		conn_close(&c);
		if (!reply)
			return rc;
		if (!jtrue(reply, "ok")) {
			rc = reply_error(reply, EX_FAILED);
			cJSON_Delete(reply);
			return rc;
		}
		const char *res = results_io_str(reply, "results", NULL);
		if (!res || !jtrue(reply, "done")) {
			die_msg("run %s has no results yet (%s)", run,
				res ? "not done" : "no results folder");
			cJSON_Delete(reply);
			return EX_FAILED;
		}
		snprintf(dir, sizeof(dir), "%s", res);
		cJSON_Delete(reply);
	}
	FILE *f = strcmp(out, "-") == 0 ? stdout : fopen(out, "we");
	if (!f) {
		die_msg("%s: %s", out, strerror(errno));
		return EX_FAILED;
	}
	int rc = report_html_write(dir, f, err, sizeof(err));
	if (f != stdout && fclose(f) != 0 && !rc) {
		snprintf(err, sizeof(err), "%s: %s", out, strerror(errno));
		rc = -EIO;
	}
	if (rc < 0) {
		die_msg("%s", err);
		if (f != stdout)
			unlink(out);
		return EX_FAILED;
	}
	return EX_OK_;
}

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* One line of progress, for logs (start --wait on a pipe). */
static void progress_line(const cJSON *reply)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(reply, "run"), *j;
	char el[32];
	double req = 0, act = 0, fail = 0;
	cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(r, "journeys"))
	{
		req += results_io_num(j, "required", 0);
		act += results_io_num(j, "actual", 0);
		fail += results_io_num(j, "failed", 0);
	}
	printf("%s %s %s: %.0f/%.0f instances, %.0f failed iterations\n",
	       results_io_str(r, "id", "?"), results_io_str(r, "state", "?"),
	       results_view_dur(el, sizeof(el), results_io_num(r, "elapsed", 0)), act, req, fail);
	fflush(stdout);
}

/* Follows a status stream until its final object. On a terminal it redraws
 * the table; elsewhere it prints each table (status --watch) or a line of
 * progress every 10 s (start --wait), and the final table. Returns the exit
 * status; *final receives the last object (the caller's). */
static int follow(conn *c, cJSON **final, int quiet)
{
	int tty = isatty(STDOUT_FILENO);
	int rc = 0;
	time_t last = time(NULL);
	*final = NULL;
	struct sigaction sa = { .sa_handler = on_sigint };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	for (;;) {
		cJSON *o = conn_recv(c, 30000, &rc);
		if (!o)
			return rc;
		if (!jtrue(o, "ok")) {
			rc = reply_error(o, EX_FAILED);
			cJSON_Delete(o);
			return rc;
		}
		if (opt_json) {
			print_json(o);
		} else if (tty) {
			/* Redraw in place. */
			fputs("\033[H\033[J", stdout);
			render_status(stdout, o, 1);
			fflush(stdout);
		} else if (jtrue(o, "final") || !quiet) {
			render_status(stdout, o, !jtrue(o, "final"));
			if (!jtrue(o, "final"))
				fputc('\n', stdout);
			fflush(stdout);
		} else if (time(NULL) - last >= 10) {
			last = time(NULL);
			progress_line(o);
		}
		if (jtrue(o, "final")) {
			*final = o;
			return 0;
		}
		cJSON_Delete(o);
	}
}

/* The exit status of a verdict (verdict.h): what cannot be read never
 * passes. */
static int verdict_status(const cJSON *run)
{
	return verdict_exit_status(verdict_kind_of(results_io_str(run, "verdict", NULL)));
}

static void print_status(const cJSON *reply)
{
	render_status(stdout, reply, 0);
}

static int cmd_status(int argc, char **argv)
{
	const char *run = NULL;
	int watch = 0;
	double interval = 1;
	if (help_requested(argc, argv, "status"))
		return EX_OK_;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--watch") == 0 || strcmp(argv[i], "-w") == 0) {
			watch = 1;
		} else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
			char *end;
			interval = strtod(argv[++i], &end);
			if (*end || !(interval >= 0.1))
				return usage_error("status",
						   "--interval takes seconds (at least 0.1)");
		} else if (argv[i][0] == '-') {
			return usage_error("status", "unknown option '%s'", argv[i]);
		} else if (!run) {
			run = argv[i];
		} else {
			return usage_error("status", "unexpected argument '%s'", argv[i]);
		}
	}
	cJSON *req = new_req("status", run);
	if (!watch)
		return simple(req, print_status);
	cJSON_AddTrueToObject(req, "watch");
	cJSON_AddNumberToObject(req, "interval", interval);
	conn c;
	int rc;
	cJSON *first = request(&c, req, &rc);
	if (!first) {
		conn_close(&c);
		return rc;
	}
	if (!jtrue(first, "ok")) {
		rc = reply_error(first, EX_FAILED);
		cJSON_Delete(first);
		conn_close(&c);
		return rc;
	}
	if (opt_json)
		print_json(first);
	else {
		if (isatty(STDOUT_FILENO))
			fputs("\033[H\033[J", stdout);
		render_status(stdout, first, 1);
		fflush(stdout);
	}
	cJSON *final = NULL;
	if (!jtrue(first, "final"))
		rc = follow(&c, &final, 0);
	cJSON_Delete(first);
	cJSON_Delete(final);
	conn_close(&c);
	return rc == 130 ? EX_OK_ : rc;
}

typedef struct start_args {
	const char *sets[MAX_SETS];
	int nsets, wait;
	const char *name, *path;
	double duration;
	long runners;
	const char *hosts; /* --hosts, or NULL */
	int local; /* --local 1, --no-local 0, else -1 */
} start_args;

/* start's command line into a: -1 to go on, or the exit status. */
static int start_parse(int argc, char **argv, start_args *a)
{
	enum {
		O_SET = 256,
		O_NAME,
		O_DURATION,
		O_RUNNERS,
		O_WAIT,
		O_JSON,
		O_HELP,
		O_HOSTS,
		O_LOCAL,
		O_NO_LOCAL
	};
	static const struct option opts[] = {
		{ "set", required_argument, NULL, O_SET },
		{ "name", required_argument, NULL, O_NAME },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "runners", required_argument, NULL, O_RUNNERS },
		{ "wait", no_argument, NULL, O_WAIT },
		{ "json", no_argument, NULL, O_JSON },
		{ "hosts", required_argument, NULL, O_HOSTS },
		{ "local", no_argument, NULL, O_LOCAL },
		{ "no-local", no_argument, NULL, O_NO_LOCAL },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 1;
	while (optind < argc) {
		c = getopt_long(argc, argv, "+h", opts, NULL);
		if (c == -1) {
			if (a->path)
				return usage_error("start", "unexpected argument '%s'",
						   argv[optind]);
			a->path = argv[optind++];
			continue;
		}
		char *end;
		switch (c) {
		case O_SET:
			if (a->nsets == MAX_SETS || !strchr(optarg, '=') || optarg[0] == '=')
				return usage_error("start", "--set takes KEY=VALUE (got '%s')",
						   optarg);
			a->sets[a->nsets++] = optarg;
			break;
		case O_NAME:
			a->name = optarg;
			break;
		case O_DURATION:
			a->duration = strtod(optarg, &end);
			if (*end || !(a->duration > 0))
				return usage_error("start",
						   "--duration takes a positive number of seconds");
			break;
		case O_RUNNERS:
			a->runners = strtol(optarg, &end, 10);
			if (*end || a->runners < 1 || a->runners > 1024)
				return usage_error("start",
						   "--runners takes a number from 1 to 1024");
			break;
		case O_WAIT:
			a->wait = 1;
			break;
		case O_JSON:
			opt_json = 1;
			break;
		case O_HOSTS:
			a->hosts = optarg;
			break;
		case O_LOCAL:
			a->local = 1;
			break;
		case O_NO_LOCAL:
			a->local = 0;
			break;
		case 'h':
		case O_HELP:
			print_command_help(stdout, "start");
			return EX_OK_;
		default:
			return usage_error("start", "bad option");
		}
	}
	if (!a->path)
		return usage_error("start", "which scenario file?");
	return -1;
}

/* The start request for the scenario at abs (an absolute path). */
static cJSON *start_request(const start_args *a, const char *abs)
{
	cJSON *req = new_req("start", NULL);
	cJSON_AddStringToObject(req, "scenario", abs);
	cJSON *js = cJSON_AddArrayToObject(req, "sets");
	for (int i = 0; i < a->nsets; i++)
		cJSON_AddItemToArray(js, cJSON_CreateString(a->sets[i]));
	cJSON *je = cJSON_AddArrayToObject(req, "env");
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "MITE_CONF_", 10) == 0)
			cJSON_AddItemToArray(je, cJSON_CreateString(*e));
	if (a->name)
		cJSON_AddStringToObject(req, "name", a->name);
	if (a->duration > 0)
		cJSON_AddNumberToObject(req, "duration", a->duration);
	if (a->runners > 0)
		cJSON_AddNumberToObject(req, "runners", (double)a->runners);
	if (a->hosts)
		cJSON_AddStringToObject(req, "hosts", a->hosts);
	if (a->local >= 0)
		cJSON_AddBoolToObject(req, "local", a->local);
	return req;
}

/* --wait: follows run id on the start's connection; the verdict's exit
 * status. */
static int start_follow(conn *cn, const char *id)
{
	cJSON *w = new_req("status", id);
	cJSON_AddTrueToObject(w, "watch");
	cJSON_AddNumberToObject(w, "interval", 1);
	int rc = conn_send(cn, w);
	cJSON *final = NULL;
	if (!rc)
		rc = follow(cn, &final, 1);
	if (rc == 130) {
		fprintf(stderr, "mitectl: run %s goes on; 'mitectl stop %s' stops it\n", id, id);
		return 130;
	}
	if (rc || !final)
		return rc ? rc : EX_PROTOCOL;
	rc = verdict_status(cJSON_GetObjectItemCaseSensitive(final, "run"));
	cJSON_Delete(final);
	return rc;
}

static int cmd_start(int argc, char **argv)
{
	start_args a = { .nsets = 0, .local = -1 };
	int rc = start_parse(argc, argv, &a);
	if (rc >= 0)
		return rc;
	char abs[PATH_MAX];
	if (!realpath(a.path, abs)) {
		die_msg("%s: %s", a.path, strerror(errno));
		return EX_REFUSED;
	}
	conn cn;
	cJSON *reply = request(&cn, start_request(&a, abs), &rc);
	if (!reply) {
		conn_close(&cn);
		return rc;
	}
	if (!jtrue(reply, "ok")) {
		rc = reply_error(reply, EX_REFUSED);
		cJSON_Delete(reply);
		conn_close(&cn);
		return rc;
	}
	/* The run as `status RUN` gives it. */
	char id[128];
	snprintf(id, sizeof(id), "%s",
		 results_io_str(cJSON_GetObjectItemCaseSensitive(reply, "run"), "id", "?"));
	if (opt_json)
		print_json(reply);
	else
		printf("%s\n", id);
	fflush(stdout);
	cJSON_Delete(reply);
	rc = a.wait ? start_follow(&cn, id) : EX_OK_;
	conn_close(&cn);
	return rc;
}

static int testmode(int argc, char **argv, int (*fn)(int, char **), const char *name)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_command_help(argc < 2 ? stderr : stdout, name);
		return argc < 2 ? TESTMODE_USAGE : TESTMODE_OK;
	}
	return fn(argc - 1, argv + 1);
}

static int cmd_hosts(int argc, char **argv)
{
	if (help_requested(argc, argv, "hosts"))
		return EX_OK_;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			opt_json = 1;
		else
			return usage_error("hosts", "unexpected argument '%s'", argv[i]);
	}
	return simple(new_req("hosts", NULL), mitectl_hosts_print);
}

static int cmd_journey(int argc, char **argv)
{
	return testmode(argc, argv, testmode_journey, "journey");
}

static int cmd_scenario(int argc, char **argv)
{
	return testmode(argc, argv, testmode_scenario, "scenario");
}

static int cmd_help(int argc, char **argv);

#define DEBUG_HELP                                                                                 \
	"--debug: at the first failure, print it with the journey's file:line, the datapool row\n" \
	"and the instance's last HTTP request and response, and stop the run (verdict failed,\n"   \
	"stopped early); --debug=all: print every failure and go on. --trace-http: print every\n"  \
	"request and response of instance 1 (--trace-instance N: of instance N). --gdb: run\n"     \
	"under gdb, stopped in the journey. Bodies shown: their first 1 KiB (mitectl(1), DEBUGGING).\n"

static const command commands[] = {
	{ "start", cmd_start,
	  "start SCENARIO.conf [--set KEY=VALUE]... [--name NAME] [--duration S] [--runners N] "
	  "[--hosts all|none|N|label=L] [--local|--no-local] [--wait] [--json]",
	  "Starts a run of SCENARIO.conf on mited and prints its id (--json: the reply, with\n"
	  "the run as `mitectl --json status RUN` gives it). MITE_CONF_* variables of this\n"
	  "environment and --set KEY=VALUE (later wins) override the scenario's config.\n"
	  "  --name NAME      the run's name (default: the scenario's)\n"
	  "  --duration S     run for S seconds, whatever the scenario says\n"
	  "  --runners N      local runner processes (default: mited.conf's runners)\n"
	  "  --hosts SEL      runner hosts (mited --listen): all (the default), none, N (the\n"
	  "                   N offering the most runners) or label=L; hosts joining later\n"
	  "                   join the run too (up to N)\n"
	  "  --local, --no-local  local runners too, or not (default: only when the run\n"
	  "                   gets no host)\n"
	  "  --wait           follow the run live; exit with its verdict: 0 passed, 1 failed,\n"
	  "                   4 thresholds broken, 5 volume not delivered, 7 tainted (mite's\n"
	  "                   own loop saturated), 8 incomplete (stopped early, cancelled,\n"
	  "                   results not written)\n"
	  "  --json           as mitectl --json: print the reply (and --wait's status objects)\n" },
	{ "status", cmd_status, "status [RUN] [--watch] [--interval S]",
	  "Shows a run (progress, the verdict so far and why, required vs actual instances and\n"
	  "how far short, tx/s, failures, p50/p95/p99 per transaction, the runners' loop lag),\n"
	  "or every active run. --watch redraws every S seconds (default 1) until the run ends\n"
	  "or ^C.\n" },
	{ "list", cmd_list, "list [-q]",
	  "Lists the runs mited knows: active ones and recently finished ones. -q prints ids only.\n" },
	{ "stop", cmd_stop, "stop RUN [--now]",
	  "Stops a run: no new iterations; running ones get the grace period to finish.\n"
	  "--now cancels them at once (parked SDK calls return MITE_ECANCELED).\n" },
	{ "pause", cmd_pause, "pause RUN",
	  "Pauses a run: volume models stop advancing and every instance finishes its iteration.\n" },
	{ "resume", cmd_resume, "resume RUN", "Resumes a paused run.\n" },
	{ "scale", cmd_scale, "scale RUN PERCENT",
	  "Multiplies every volume model of the run by PERCENT/100 (100 = as written),\n"
	  "applied within one tick on every runner.\n" },
	{ "results", cmd_results, "results RUN|FOLDER [--json]",
	  "Prints the summary of a run (also of one mited has forgotten, from its results\n"
	  "folder) and where its result files are; or of a results folder given as a path.\n"
	  "--json prints summary.json instead.\n" },
	{ "cat", cmd_cat, "cat EVENTS.jsonl|FOLDER|RUN|-...",
	  "Prints an event log one event per line, readably: errors, HTTP responses, custom\n"
	  "messages, and the per-second volume and stats records. A results folder prints\n"
	  "its rotated logs oldest first, then events.jsonl; a RUN of mited, its folder's.\n" },
	{ "report", cmd_report, "report RUN|FOLDER -o FILE.html",
	  "Writes one self-contained HTML file (no network fetches) with charts over time of\n"
	  "requests per second, latency percentiles per transaction, failures and required\n"
	  "vs actual volume, and the summary tables. -o - writes to standard output.\n" },
	{ "version", cmd_version, "version", "Prints the versions of mitectl and mited.\n" },
	{ "ping", cmd_ping, "ping", "Checks that mited answers.\n" },
	{ "journey", cmd_journey,
	  "journey test|run MODULE.so:SYMBOL [DATAPOOL] [--volume N] [--duration S] [--set K=V]... [--results DIR [--http-events]] [--runner-timeout S] [--debug[=all]] [--trace-http] [--trace-instance N] [--gdb] [-v]",
	  "Runs one journey in this process, without mited: `test` runs N instances (default 1)\n"
	  "until ^C or S seconds, `run` runs exactly one iteration. DATAPOOL is FILE.csv,\n"
	  "range:FIRST:LAST or MODULE.so:SYMBOL. Live stats every 2 s, a summary at the end.\n"
	  "A journey that does not yield for --runner-timeout S (10) ends mitectl with status 6.\n" DEBUG_HELP
	  "Exit: 0 passed, 1 failed (journey errors, a run error, a journey that called exit),\n"
	  "2 usage, 3 module refused, 4 thresholds, 5 volume not delivered, 6 journey hung,\n"
	  "7 tainted, 8 incomplete, 70 internal (see mitectl(1), EXIT STATUS).\n" },
	{ "scenario", cmd_scenario,
	  "scenario test SCENARIO.conf [--set K=V]... [--duration S] [--results DIR [--http-events]] [--runner-timeout S] [--debug[=all]] [--trace-http] [--trace-instance N] [--gdb] [-v]",
	  "Runs a whole scenario in this process, without mited, with one runner.\n"
	  "--results DIR writes the result files there (as mited does for its runs).\n"
	  "A journey that does not yield for --runner-timeout S (10) ends mitectl with status 6.\n" DEBUG_HELP
	  "Exit: 0 passed, 1 failed, 2 usage, 3 scenario refused, 4 thresholds, 5 volume not\n"
	  "delivered, 6 journey hung, 7 tainted, 8 incomplete, 70 internal (mitectl(1)).\n" },
	{ "hosts", cmd_hosts, MITECTL_HOSTS_SYNOPSIS, MITECTL_HOSTS_HELP },
	{ "keygen", mitectl_keygen_main, MITECTL_KEYGEN_SYNOPSIS, MITECTL_KEYGEN_HELP },
	{ "har", mitectl_har_main, MITECTL_HAR_SYNOPSIS, MITECTL_HAR_HELP },
	{ "help", cmd_help, "help [COMMAND]", "Shows the help of mitectl or of one command.\n" },
	{ NULL, NULL, NULL, NULL },
};

static const command *find_command(const char *name)
{
	for (const command *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mitectl [--socket PATH] [--json] [--no-color] COMMAND [ARG]...\n\n"
		"Drives mited, the mite load-testing daemon, over its control socket.\n\n"
		"Commands:\n");
	for (const command *c = commands; c->name; c++)
		fprintf(f, "  %s\n", c->synopsis);
	fprintf(f,
		"\nOptions:\n"
		"  -s, --socket PATH  mited's socket (default: $MITE_SOCKET, then\n"
		"                     $XDG_RUNTIME_DIR/mite/mited.sock when it exists, then\n"
		"                     /run/mite/mited.sock)\n"
		"  -j, --json         print replies as JSON objects, one per line\n"
		"      --no-color     no colours (also when NO_COLOR is set or not a terminal)\n"
		"  -h, --help         this help; `mitectl COMMAND --help` for a command's\n"
		"  -V, --version      print mitectl's version\n\n"
		"See mitectl(1) and mite-control(7).\n");
}

static int cmd_help(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		print_command_help(stdout, "help");
		return EX_OK_;
	}
	if (argc < 2) {
		usage(stdout);
		return EX_OK_;
	}
	if (!find_command(argv[1])) {
		die_msg("no command '%s'", argv[1]);
		return EX_USAGE_;
	}
	print_command_help(stdout, argv[1]);
	return EX_OK_;
}

int main(int argc, char **argv)
{
	int i = 1, no_color = 0;
	sock_path = NULL;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if ((strcmp(a, "--socket") == 0 || strcmp(a, "-s") == 0) && i + 1 < argc)
			sock_path = argv[++i];
		else if (strncmp(a, "--socket=", 9) == 0)
			sock_path = a + 9;
		else if (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0)
			opt_json = 1;
		else if (strcmp(a, "--no-color") == 0 || strcmp(a, "--no-colour") == 0)
			no_color = 1;
		else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return EX_OK_;
		} else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			printf("mitectl %s\n", PACKAGE_VERSION);
			return EX_OK_;
		} else {
			die_msg("unknown option '%s'", a);
			usage(stderr);
			return EX_USAGE_;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EX_USAGE_;
	}
	if (!sock_path)
		sock_path = default_socket();
	const char *nc = getenv("NO_COLOR");
	use_color = !no_color && !opt_json && !(nc && *nc) && isatty(STDOUT_FILENO);
	const command *c = find_command(argv[i]);
	if (!c) {
		die_msg("no command '%s' (see mitectl --help)", argv[i]);
		return EX_USAGE_;
	}
	return c->fn(argc - i, argv + i);
}
