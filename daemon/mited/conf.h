/*
 * conf.h - mited.conf(5): the daemon's settings, their defaults (a system
 * instance or a private one) and the reader of the file.
 */
#ifndef MITE_MITED_CONF_H
#define MITE_MITED_CONF_H

#include "controller/loglimit.h"
#include "controller/results.h"
#include "mited/conf_hosts.h"

#include <stddef.h>
#include <stdint.h>

/* runner_limits (mited.conf(5)) */
#define RUNNER_MEMORY_SHARE_DEFAULT 0.5
#define RUNNER_MEMORY_MIN ((uint64_t)64 << 20)
#define RUNNER_FILES_MIN 64

typedef struct conf {
	char *file; /* where it came from (NULL: built-in defaults) */
	char *socket; /* control socket */
	unsigned socket_mode;
	char *socket_group;
	char *state_dir;
	char *results_dir;
	char *runner_endpoint;
	char *metrics_listen; /* NULL: no metrics endpoint */
	results_conf results;
	char **plugin_dirs; /* NULL-terminated */
	int plugin_dirs_set; /* given in the file (not the default) */
	int allow_any_plugin_path;
	/* Not a system instance: not root, not started by systemd (no
	 * RUNTIME_DIRECTORY or STATE_DIRECTORY), and neither its socket nor
	 * its state folder is the system one (/run/mite/mited.sock,
	 * /var/lib/mite). Without plugin_dirs in its file, such a daemon also
	 * loads its own user's modules from the folder of the scenario they
	 * start (cmd_run.c). */
	int private_daemon;
	int runners; /* per run; 0 = one per CPU */
	int log_level;
	int max_runs;
	long max_instances; /* 0 = no limit */
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
	conf_hosts hosts; /* runner hosts: listen, agent, keys (conf_hosts.h) */
} conf;

/* The defaults: a system instance under systemd or as root, else a private
 * one under the user's runtime and state directories. 0 or -ENOMEM. */
int conf_defaults(conf *c);
/* Reads file into c (which holds the defaults). 0, or -1 with
 * "file:line: reason" in err. */
int conf_load(conf *c, const char *file, char *err, size_t errlen);
/* What depends on other settings once they are all known. 0 or -ENOMEM. */
int conf_finish(conf *c);
void conf_free(conf *c);
/* A log level's name ("info"), and a name's level (-1: none such). */
const char *conf_level_name(int level);
int conf_level_parse(const char *s);

#endif
