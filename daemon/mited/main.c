/*
 * main.c - mited, the mite daemon: the controller (mited.conf, the control
 * socket, runs and the runner processes they run on) or, with --runner,
 * one runner process. See mited(8), mited.conf(5), mite-control(7).
 */
#include "config.h"

#include "core/log.h"
#include "core/proto.h"
#include "mited/conf.h"
#include "mited/daemon.h"
#include "mited/notify.h"
#include "mited/runner_mode.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MITED_EXIT_OK 0
#define MITED_EXIT_FAIL 1 /* configuration or startup failure */
#define MITED_EXIT_USAGE 2 /* bad command line */

static daemon_ D;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mited [OPTION]...\n"
		"       mited --agent tcp://CONTROLLER[:PORT] --key HOST.key --server-key CTL.pub\n"
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
		"\n"
		"Runner hosts (docs/distributed.md; the same settings in mited.conf):\n"
		"      --listen tcp://ADDR[:PORT]\n"
		"                        controller: accept runner hosts there (port 14301 by\n"
		"                        default); beyond loopback needs --key and\n"
		"                        --authorized-keys\n"
		"      --key FILE        our CURVE secret key (mitectl keygen NAME: NAME.key)\n"
		"      --authorized-keys DIR\n"
		"                        controller: the hosts allowed in, one NAME.pub each\n"
		"      --agent tcp://CONTROLLER[:PORT]\n"
		"                        be a runner host of that controller (no control socket)\n"
		"      --server-key FILE agent: the controller's public key (its .pub)\n"
		"      --label LABEL     agent: a label runs can select hosts by (repeatable)\n"
		"      --runners-per-host N\n"
		"                        agent: runner processes per run (default: one per core)\n"
		"  -h, --help            this help\n"
		"  -V, --version         print the version and exit\n"
		"\n"
		"Runner mode (mited starts its own runners this way; runners started by hand,\n"
		"e.g. on another host, are not supported yet: with no run expecting their id\n"
		"they give up after --setup-timeout seconds):\n"
		"      --runner          run one runner instead of the daemon\n"
		"      --key FILE, --server-key FILE\n"
		"                        a runner on a host: link with CURVE\n"
		"      --connect EP      the controller's runner endpoint (ipc:// or tcp://)\n"
		"      --index N         the runner's number\n"
		"      --id ID           the runner id the controller expects\n"
		"      --setup-timeout S give up when no setup comes within S seconds (30)\n"
		"\n"
		"Exit status: 0 success (also after SIGTERM drained every run), 1 failure\n"
		"(configuration, socket), 2 bad command line. See mited(8).\n",
		MITE_SYSCONFDIR);
}

enum {
	OPT_RUNNER = 256,
	OPT_CONNECT,
	OPT_INDEX,
	OPT_ID,
	OPT_PARENT,
	OPT_METRICS,
	OPT_MEMORY,
	OPT_ADDRESS_SPACE,
	OPT_FILES,
	OPT_SETUP_TIMEOUT,
	OPT_LISTEN,
	OPT_KEY,
	OPT_AUTHORIZED,
	OPT_AGENT,
	OPT_SERVER_KEY,
	OPT_LABEL,
	OPT_RUNNERS_PER_HOST
};

/* One runner-host option (conf_hosts.h) into D.opt_hosts: 0, -1 after
 * saying what is wrong, 1: not one. */
static int hosts_opt(int c, char *arg)
{
	static char *labels[HOSTS_LABELS_MAX + 1];
	static int nlabels;
	char *end;
	switch (c) {
	case OPT_LISTEN:
		D.opt_hosts.listen = arg;
		return 0;
	case OPT_KEY:
		D.opt_hosts.key = arg;
		return 0;
	case OPT_AUTHORIZED:
		D.opt_hosts.authorized_keys = arg;
		return 0;
	case OPT_AGENT:
		D.opt_hosts.agent = arg;
		return 0;
	case OPT_SERVER_KEY:
		D.opt_hosts.server_key = arg;
		return 0;
	case OPT_LABEL:
		if (nlabels >= HOSTS_LABELS_MAX || !*arg || strlen(arg) > HOSTS_LABEL_MAX ||
		    strchr(arg, ',')) {
			fprintf(stderr,
				"mited: --label %s: at most %d labels of 1 to %d bytes, without "
				"','\n",
				arg, HOSTS_LABELS_MAX, HOSTS_LABEL_MAX);
			return -1;
		}
		labels[nlabels++] = arg;
		D.opt_hosts.labels = labels;
		return 0;
	case OPT_RUNNERS_PER_HOST:
		D.opt_hosts.runners = (int)strtol(arg, &end, 10);
		if (!*end && D.opt_hosts.runners >= 1 && D.opt_hosts.runners <= 1024)
			return 0;
		fprintf(stderr, "mited: --runners-per-host %s: expected 1 to 1024\n", arg);
		return -1;
	default:
		return 1;
	}
}

/* What --runner runs with. */
typedef struct runner_args {
	int on, index;
	long parent, files;
	uint64_t memory, address_space;
	double setup_timeout;
	const char *endpoint, *id;
} runner_args;

/* One option of runner mode: 0, -1 after saying what is wrong, 1: not one. */
static int runner_opt(int c, char *arg, runner_args *ra)
{
	char *end;
	switch (c) {
	case OPT_RUNNER:
		ra->on = 1;
		return 0;
	case OPT_CONNECT:
		ra->endpoint = arg;
		return 0;
	case OPT_ID:
		ra->id = arg;
		return 0;
	case OPT_PARENT:
		ra->parent = strtol(arg, NULL, 10);
		return 0;
	case OPT_INDEX:
		ra->index = (int)strtol(arg, &end, 10);
		if (!*end && ra->index >= 0)
			return 0;
		fprintf(stderr, "mited: --index %s: expected a number >= 0\n", arg);
		return -1;
	case OPT_MEMORY:
	case OPT_ADDRESS_SPACE: {
		errno = 0;
		unsigned long long b = strtoull(arg, &end, 10);
		if (*end || errno || arg[0] == '-' || !arg[0]) {
			fprintf(stderr, "mited: --%s %s: expected bytes\n",
				c == OPT_MEMORY ? "memory-limit" : "address-space", arg);
			return -1;
		}
		*(c == OPT_MEMORY ? &ra->memory : &ra->address_space) = b;
		return 0;
	}
	case OPT_SETUP_TIMEOUT:
		ra->setup_timeout = strtod(arg, &end);
		if (!*end && ra->setup_timeout >= 0.1 && ra->setup_timeout <= 86400)
			return 0;
		fprintf(stderr, "mited: --setup-timeout %s: expected seconds from 0.1 to 86400\n",
			arg);
		return -1;
	case OPT_FILES:
		ra->files = strtol(arg, &end, 10);
		if (!*end && ra->files >= 0)
			return 0;
		fprintf(stderr, "mited: --open-files %s: expected a number >= 0\n", arg);
		return -1;
	default:
		return 1;
	}
}

static const struct option opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "check-config", no_argument, NULL, 't' },
	{ "socket", required_argument, NULL, 's' },
	{ "state-dir", required_argument, NULL, 'd' },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS },
	{ "log-level", required_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "runner", no_argument, NULL, OPT_RUNNER },
	{ "connect", required_argument, NULL, OPT_CONNECT },
	{ "index", required_argument, NULL, OPT_INDEX },
	{ "id", required_argument, NULL, OPT_ID },
	{ "parent", required_argument, NULL, OPT_PARENT },
	{ "memory-limit", required_argument, NULL, OPT_MEMORY },
	{ "address-space", required_argument, NULL, OPT_ADDRESS_SPACE },
	{ "open-files", required_argument, NULL, OPT_FILES },
	{ "setup-timeout", required_argument, NULL, OPT_SETUP_TIMEOUT },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "authorized-keys", required_argument, NULL, OPT_AUTHORIZED },
	{ "agent", required_argument, NULL, OPT_AGENT },
	{ "server-key", required_argument, NULL, OPT_SERVER_KEY },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "runners-per-host", required_argument, NULL, OPT_RUNNERS_PER_HOST },
	{ NULL, 0, NULL, 0 },
};

/* The command line into D and ra: -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, runner_args *ra, int *check, int *level)
{
	int c, rc;
	while ((c = getopt_long(argc, argv, "c:ts:d:l:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			D.opt_config = optarg;
			break;
		case 't':
			*check = 1;
			break;
		case 's':
			D.opt_socket = optarg;
			break;
		case 'd':
			D.opt_state_dir = optarg;
			break;
		case OPT_METRICS:
			D.opt_metrics = optarg;
			break;
		case 'l':
			if ((*level = conf_level_parse(optarg)) < 0) {
				fprintf(stderr,
					"mited: --log-level %s: expected err, warning, notice, "
					"info or debug\n",
					optarg);
				return MITED_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return MITED_EXIT_OK;
		case 'V':
			printf("mited %s (runner protocol %d, module ABI %d)\n", PACKAGE_VERSION,
			       PROTO_VERSION, MITE_ABI_VERSION);
			return MITED_EXIT_OK;
		default:
			if ((rc = runner_opt(c, optarg, ra)) == 0 ||
			    (rc > 0 && (rc = hosts_opt(c, optarg)) == 0))
				break;
			if (rc > 0)
				fprintf(stderr, "Try 'mited --help'.\n");
			return MITED_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mited: unexpected argument '%s'\nTry 'mited --help'.\n",
			argv[optind]);
		return MITED_EXIT_USAGE;
	}
	if (D.opt_socket && D.opt_socket[0] != '/') {
		fprintf(stderr, "mited: --socket %s: must be an absolute path\n", D.opt_socket);
		return MITED_EXIT_USAGE;
	}
	if (ra->on && !ra->endpoint) {
		fprintf(stderr, "mited: --runner needs --connect ENDPOINT\n");
		return MITED_EXIT_USAGE;
	}
	return -1;
}

int main(int argc, char **argv)
{
	runner_args ra = { .setup_timeout = RUNNER_SETUP_TIMEOUT_S };
	int check = 0, level = -1;

	memset(&D, 0, sizeof(D));
	int rc = parse_args(argc, argv, &ra, &check, &level);
	if (rc >= 0)
		return rc;
	if (ra.on) {
		/* Under mited, our stderr is read by the daemon, which wants
		 * the levels; by hand, under systemd, journald does. */
		log_set_syslog_prefix(ra.parent > 0 || notify_stderr_is_journal());
		if (level >= 0)
			log_set_level(level);
		if ((D.opt_hosts.key != NULL) != (D.opt_hosts.server_key != NULL)) {
			fprintf(stderr, "mited: --runner: --key and --server-key go together\n");
			return MITED_EXIT_USAGE;
		}
		runner_mode_set_curve(D.opt_hosts.key, D.opt_hosts.server_key);
		return runner_mode_run(ra.endpoint, ra.index, ra.id, ra.parent, ra.memory,
				       ra.address_space, ra.files, ra.setup_timeout);
	}
	if (notify_stderr_is_journal())
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
	return daemon_run(&D, check);
}
