/*
 * conf_hosts.h - mited.conf's runner-host settings (docs/distributed.md):
 * a controller's listen, key and authorized_keys; an agent's agent,
 * server_key, key, labels and runners_per_host. The same on the command
 * line (--listen, --key, --authorized-keys, --agent, --server-key, --label).
 */
#ifndef MITE_MITED_CONF_HOSTS_H
#define MITE_MITED_CONF_HOSTS_H

#include <libconfig.h>
#include <stddef.h>

#define HOSTS_LABELS_MAX 32 /* labels an agent announces */
#define HOSTS_LABEL_MAX 128 /* bytes of one label */

typedef struct conf_hosts {
	char *listen; /* controller: tcp://ADDR:PORT; NULL: no hosts */
	char *key; /* our CURVE secret key file */
	char *authorized_keys; /* controller: the folder of the hosts' *.pub */
	char *agent; /* agent: the controller, tcp://HOST:PORT */
	char *server_key; /* agent: the controller's .pub */
	char **labels; /* agent: NULL-terminated, or NULL */
	int runners; /* agent: runner processes per run; 0: one per core */
} conf_hosts;

/* Which runners a run gets (mitectl start --hosts/--local): hosts "all"
 * (the default), "none", N (the N with the most runners) or "label=X"
 * (hosts announcing label X); local runners: yes, no, or by default only
 * when the run gets no host. */
#define HOSTS_SEL_ALL 0
#define HOSTS_SEL_NONE 1
#define HOSTS_SEL_COUNT 2
#define HOSTS_SEL_LABEL 3
typedef struct hosts_sel {
	int given; /* hosts was said (else a scenario's `hosts` may say) */
	int mode;
	int count;
	char label[HOSTS_LABEL_MAX + 1];
	int local; /* 1 yes, 0 no, -1 only without hosts */
} hosts_sel;

/* The selection of a start request's "hosts" (string or number) and
 * "local" (bool); 0, or -1 with err set. */
int hosts_sel_parse(const char *hosts, double count, int has_count, int local, hosts_sel *out,
		    char *err, size_t errlen);

/* One setting of mited.conf's top level: 1 when it was one of ours (taken),
 * 0 when not ours, -1 with "file:line: reason" in err. */
int conf_hosts_setting(const char *file, config_setting_t *s, conf_hosts *h, char *err,
		       size_t errlen);
/* An endpoint as given ("tcp://ADDR" or "tcp://ADDR:PORT") with the
 * default port added when it has none; NULL with err set. */
char *conf_hosts_endpoint(const char *what, const char *ep, char *err, size_t errlen);
/* Whether a tcp:// endpoint's address is a loopback one. */
int conf_hosts_loopback(const char *ep);
/* Once every setting is known: listening beyond loopback needs key and
 * authorized_keys, an agent beyond loopback key and server_key; the
 * files must be readable. 0, or -1 with the missing setting named in err. */
int conf_hosts_check(const conf_hosts *h, char *err, size_t errlen);
/* The command line's settings (set ones) over the file's. 0 or -1 (err). */
int conf_hosts_override(conf_hosts *h, const conf_hosts *opt, char *err, size_t errlen);
void conf_hosts_free(conf_hosts *h);

#endif
