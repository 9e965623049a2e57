/*
 * daemon.c - the daemon's life: configuration (and its reload on SIGHUP),
 * the control socket, the metrics endpoint, the runner link, housekeeping
 * (the runners' watchdog, respawns, eviction of old runs, systemd's
 * status), and shutdown: SIGTERM drains every run, then cancels, then
 * kills what is left.
 */
#include "config.h"

#include "mited/daemon.h"

#include "controller/results.h"
#include "controller/run.h"
#include "core/log.h"
#include "core/util.h"
#include "mited/cmd.h"
#include "mited/drun.h"
#include "mited/agent.h"
#include "mited/hosts.h"
#include "mited/notify.h"
#include "mited/parse.h"
#include "mited/runner_mode.h"
#include "mited/supervise.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HOUSEKEEPING_MS 1000
/* After the shutdown grace, runs are cancelled; this much later any runner
 * still alive is killed. */
#define SHUTDOWN_SLACK_S 10.0

/* ---- runners nobody expects ---------------------------------------------- */

/* A message from a runner id no run expects: a runner started by hand
 * (not supported: mited starts its own), or one of an earlier run. Said
 * once per id, at most UNKNOWN_LOG_MAX lines a minute; the runner itself
 * gives up after RUNNER_SETUP_TIMEOUT_S. */
static void unknown_runner(tzmq_server *s, const char *id, const char *msg, size_t len, void *data)
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
		log_warn(
			"mited: %d more runner id(s) no run expects in the last minute (not said one "
			"by one)",
			d->unknown_quiet);
	d->unknown_logged = d->unknown_quiet = 0;
}

/* ---- housekeeping, status, signals -------------------------------------- */

void daemon_update_status(daemon_ *d)
{
	int runs = 0, running = 0;
	long instances = 0, runners = 0;
	for (drun *dr = d->runs; dr; dr = dr->next) {
		if (dr->done)
			continue;
		runs++;
		running += run_get_state(dr->r) == RUN_RUNNING;
		runners += supervise_alive(dr->sv) + hosts_runners_alive(d->hosts, dr);
		instances += drun_instances(dr);
	}
	char msg[256];
	snprintf(msg, sizeof(msg), "STATUS=%s%d run%s (%d running), %ld instance%s, %ld runner%s",
		 d->stopping ? "stopping: " : "", runs, runs == 1 ? "" : "s", running, instances,
		 instances == 1 ? "" : "s", runners, runners == 1 ? "" : "s");
	if (strcmp(msg, d->last_status) != 0) {
		snprintf(d->last_status, sizeof(d->last_status), "%s", msg);
		notify_send(msg);
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
		mr[k++] = (metrics_run){ .r = dr->r,
					 .res = dr->res,
					 .runners_wanted = supervise_wanted(dr->sv),
					 .restarts = dr->budget.restarts };
	char *text = metrics_render(mr, n, &len);
	free(mr);
	if (text)
		metrics_publish(d->metrics, text, len);
	else
		log_warn("mited: metrics: out of memory rendering; serving the previous text");
}

static void housekeeping_cb(uv_timer_t *h)
{
	daemon_ *d = h->data;
	uint64_t now = uv_now(d->loop);
	for (drun *dr = d->runs; dr; dr = dr->next) {
		supervise_watch(dr->sv, now);
		drun_replace(dr);
		drun_note_cut_labels(dr, now);
		if (dr->done)
			results_reap(dr->res);
	}
	drun_evict(d);
	unknown_window(d, now);
	daemon_update_status(d);
	publish_metrics(d);
}

void daemon_close(daemon_ *d)
{
	if (d->closed)
		return;
	d->closed = 1;
	notify_send("STATUS=stopped");
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
	hosts_close(d->hosts);
	d->hosts = NULL;
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
	for (struct parse_job *j = d->jobs; j; j = j->next)
		if (j->reply) {
			control_reply(j->reply,
				      control_error("mited is shutting down; no new runs"));
			j->reply = NULL;
		}
	daemon_close(d);
	/* The loop would wait for the thread pool: leave now. Everything
	 * that had to be written (results, the socket's removal) is done. */
	fflush(stderr);
	_exit(EXIT_SUCCESS);
}

/* During shutdown: once every run is done, every runner gone and no
 * scenario is being parsed, close. */
void daemon_check_exit(daemon_ *d)
{
	if (!d->stopping || d->closed)
		return;
	for (drun *dr = d->runs; dr; dr = dr->next)
		if (!dr->done || supervise_procs(dr->sv))
			return;
	if (d->parsing > 0) {
		if (!d->parse_wait) {
			d->parse_wait = 1;
			log_info(
				"mited: every run drained; waiting for %d scenario parse(s) to give up",
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
		uv_timer_start(&d->shutdown_timer, shutdown_cb, (uint64_t)(SHUTDOWN_SLACK_S * 1000),
			       0);
	} else {
		log_warn("mited: killing the runners still alive");
		for (drun *dr = d->runs; dr; dr = dr->next)
			supervise_kill(dr->sv);
	}
}

static void on_stop_signal(uv_signal_t *h, int sig)
{
	daemon_ *d = h->data;
	if (d->stopping) {
		if (d->shutdown_phase == 0) {
			log_warn("mited: SIG%s again; cancelling every run now",
				 util_sig_name(sig));
			uv_timer_stop(&d->shutdown_timer);
			shutdown_cb(&d->shutdown_timer);
		}
		return;
	}
	d->stopping = 1;
	atomic_store(&d->cancel_parses, 1);
	notify_send("STOPPING=1");
	int n = 0;
	char by[64];
	snprintf(by, sizeof(by), "SIG%s: mited shutting down", util_sig_name(sig));
	for (drun *dr = d->runs; dr; dr = dr->next)
		if (!dr->done) {
			run_stop_by(dr->r, 0, by);
			n++;
		}
	log_info("mited: SIG%s: no new runs; draining %d run(s) (at most %g s)", util_sig_name(sig),
		 n, d->cf.shutdown_grace);
	uv_timer_start(&d->shutdown_timer, shutdown_cb, (uint64_t)(d->cf.shutdown_grace * 1000), 0);
	daemon_update_status(d);
	daemon_check_exit(d);
}

/* Builds the configuration from the defaults, the file, and the
 * command-line overrides. 0 or -1 with err set. */
static int daemon_conf_build(daemon_ *d, conf *c, char *err, size_t errlen)
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
	if (conf_hosts_override(&c->hosts, &d->opt_hosts, err, errlen) < 0 ||
	    conf_hosts_check(&c->hosts, err, errlen) < 0)
		goto fail;
	if (!c->socket || !c->state_dir || conf_finish(c) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return 0;
fail:
	conf_free(c);
	return -1;
}

#define RELOAD_NUM(field, fmt)                                                              \
	do {                                                                                \
		if (n.field != d->cf.field) {                                               \
			log_info("mited: reload: " #field ": " fmt " -> " fmt, d->cf.field, \
				 n.field);                                                  \
			d->cf.field = n.field;                                              \
			changed++;                                                          \
		}                                                                           \
	} while (0)

#define RELOAD_FIXED(field)                                                               \
	do {                                                                              \
		if (strcmp(n.field ? n.field : "", d->cf.field ? d->cf.field : "") != 0)  \
			log_warn("mited: reload: " #field                                 \
				 " changed to '%s'; that needs a restart "                \
				 "(still '%s')",                                          \
				 n.field ? n.field : "", d->cf.field ? d->cf.field : ""); \
	} while (0)

static void on_sighup(uv_signal_t *h, int sig)
{
	daemon_ *d = h->data;
	conf n;
	char err[PATH_MAX + 1024];
	int changed = 0;
	(void)sig;
	if (daemon_conf_build(d, &n, err, sizeof(err)) < 0) {
		log_err("mited: reload failed, configuration unchanged: %s", err);
		return;
	}
	if (n.log_level != d->cf.log_level) {
		log_info("mited: reload: log_level: %s -> %s", conf_level_name(d->cf.log_level),
			 conf_level_name(n.log_level));
		d->cf.log_level = n.log_level;
		log_set_level(n.log_level);
		changed++;
	}
	if (!util_strv_eq(n.plugin_dirs, d->cf.plugin_dirs)) {
		char *a = util_strv_join(d->cf.plugin_dirs), *b = util_strv_join(n.plugin_dirs);
		log_info("mited: reload: plugin_dirs: [%s] -> [%s] (for runs started from now on)",
			 a ? a : "", b ? b : "");
		free(a);
		free(b);
		char **t = d->cf.plugin_dirs;
		d->cf.plugin_dirs = n.plugin_dirs;
		n.plugin_dirs = t;
		changed++;
	}
	d->cf.plugin_dirs_set = n.plugin_dirs_set;
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
	RELOAD_FIXED(hosts.listen);
	RELOAD_FIXED(hosts.key);
	RELOAD_FIXED(hosts.authorized_keys);
	if (n.socket_mode != d->cf.socket_mode)
		log_warn(
			"mited: reload: socket_mode changed to %04o; that needs a restart (still %04o)",
			n.socket_mode, d->cf.socket_mode);
	if (n.max_clients != d->cf.max_clients || n.client_timeout != d->cf.client_timeout)
		log_warn("mited: reload: limits.max_clients and client_timeout need a restart");
	log_info("mited: reloaded %s: %d setting%s changed",
		 n.file ? n.file : "(no file: defaults)", changed, changed == 1 ? "" : "s");
	free(d->cf.file);
	d->cf.file = n.file;
	n.file = NULL;
	conf_free(&n);
}

/* The socket's folder, the state and results folders. 0 or -1 (logged). */
static int make_dirs(daemon_ *d)
{
	int rc = 0;
	char *sockdir = util_dir_of(d->cf.socket);
	if (!sockdir || (rc = util_mkdir_p(sockdir, 0750)) < 0) {
		log_err("mited: cannot create %s: %s", sockdir ? sockdir : d->cf.socket,
			sockdir ? strerror(-rc) : "out of memory");
		free(sockdir);
		return -1;
	}
	free(sockdir);
	if ((rc = util_mkdir_p(d->cf.state_dir, 0750)) < 0) {
		log_err("mited: cannot create state_dir %s: %s", d->cf.state_dir, strerror(-rc));
		return -1;
	}
	if ((rc = util_mkdir_p(d->cf.results_dir, 0750)) < 0) {
		log_err("mited: cannot create results_dir %s: %s", d->cf.results_dir,
			strerror(-rc));
		return -1;
	}
	return 0;
}

/* The control socket first ("another mited is there" is the error that
 * explains the most), the metrics endpoint, the runner link. 0, or -1
 * (logged) with none of them left open. */
static int open_sockets(daemon_ *d)
{
	char err[PATH_MAX + 1024];
	control_opts co = {
		.path = d->cf.socket,
		.mode = d->cf.socket_mode,
		.group = d->cf.socket_group,
		.idle_timeout = d->cf.client_timeout,
		.max_clients = d->cf.max_clients,
		.cmds = cmd_table,
		.data = d,
	};
	d->ctl = control_new(d->loop, &co, err, sizeof(err));
	if (!d->ctl) {
		log_err("mited: control socket: %s", err);
		return -1;
	}
	if (d->cf.metrics_listen) {
		d->metrics = metrics_new(d->cf.metrics_listen, 0, 0, err, sizeof(err));
		if (!d->metrics) {
			log_err("mited: metrics: %s", err);
			goto fail;
		}
		const char *ml = d->cf.metrics_listen;
		int hl = (int)(strrchr(ml, ':') - ml);
		log_info("mited: metrics on http://%.*s:%d/metrics", hl ? hl : 9,
			 hl ? ml : "127.0.0.1", metrics_port(d->metrics));
		publish_metrics(d);
	}
	d->srv = tzmq_server_new(d->loop, d->cf.runner_endpoint, unknown_runner, d, err,
				 sizeof(err));
	if (!d->srv) {
		log_err("mited: runner link: %s", err);
		goto fail;
	}
	if (hosts_start(d, &d->hosts, err, sizeof(err)) < 0) {
		log_err("mited: listen %s: %s", d->cf.hosts.listen, err);
		tzmq_server_close(d->srv);
		d->srv = NULL;
		goto fail;
	}
	return 0;
fail:
	metrics_free(d->metrics);
	d->metrics = NULL;
	control_close(d->ctl);
	d->ctl = NULL;
	return -1;
}

/* Signals and timers. */
static void start_handlers(daemon_ *d)
{
	uv_signal_init(d->loop, &d->sigterm);
	uv_signal_init(d->loop, &d->sigint);
	uv_signal_init(d->loop, &d->sighup);
	d->sigterm.data = d->sigint.data = d->sighup.data = d;
	uv_signal_start(&d->sigterm, on_stop_signal, SIGTERM);
	uv_signal_start(&d->sigint, on_stop_signal, SIGINT);
	uv_signal_start(&d->sighup, on_sighup, SIGHUP);
	uv_timer_init(d->loop, &d->housekeeping);
	uv_timer_init(d->loop, &d->shutdown_timer);
	uv_timer_init(d->loop, &d->parse_timer);
	d->housekeeping.data = d->shutdown_timer.data = d->parse_timer.data = d;
	uv_timer_start(&d->housekeeping, housekeeping_cb, HOUSEKEEPING_MS, HOUSEKEEPING_MS);
}

int daemon_run(daemon_ *d, int check_only)
{
	char err[PATH_MAX + 1024];
	if (daemon_conf_build(d, &d->cf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return EXIT_FAILURE;
	}
	if (check_only) {
		printf("%s: ok\n", d->cf.file ? d->cf.file : "(no configuration file: defaults)");
		conf_free(&d->cf);
		return EXIT_SUCCESS;
	}
	log_set_level(d->cf.log_level);
	ssize_t n = readlink("/proc/self/exe", d->self_exe, sizeof(d->self_exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(d->self_exe) - 1)
		snprintf(d->self_exe, sizeof(d->self_exe), "/proc/self/exe");
	else
		d->self_exe[n] = '\0';
	/* A runner host has no control socket nor runs of its own. */
	if (d->cf.hosts.agent)
		return agent_run(d);

	uv_loop_t loop;
	int rc = uv_loop_init(&loop);
	if (rc < 0) {
		log_err("mited: uv_loop_init failed: %s", uv_strerror(rc));
		conf_free(&d->cf);
		return EXIT_FAILURE;
	}
	d->loop = &loop;
	d->started_ms = uv_now(&loop);
	int status = EXIT_FAILURE;
	if (make_dirs(d) < 0 || open_sockets(d) < 0) {
		uv_run(&loop, UV_RUN_DEFAULT); /* what was opened closes */
		goto out;
	}
	start_handlers(d);
	log_info("mited %s: listening on %s (runners: %s, state: %s, config: %s)", PACKAGE_VERSION,
		 d->cf.socket, tzmq_server_endpoint(d->srv), d->cf.state_dir,
		 d->cf.file ? d->cf.file : "defaults");
	if (d->cf.private_daemon && !d->cf.plugin_dirs_set && !d->cf.allow_any_plugin_path)
		log_info(
			"mited: a private daemon (uid %u): modules also load from the folder of the "
			"scenario its user starts",
			(unsigned)geteuid());
	notify_send("READY=1");
	daemon_update_status(d);
	uv_run(&loop, UV_RUN_DEFAULT);
	status = EXIT_SUCCESS;
out:
	if (uv_loop_close(&loop) != 0)
		log_warn("mited: handles still open at exit");
	conf_free(&d->cf);
	return status;
}
