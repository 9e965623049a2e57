/*
 * conf_hosts.c - the runner-host settings of mited.conf (conf_hosts.h).
 */
#include "config.h"

#include "mited/conf_hosts.h"

#include "controller/cfg.h"
#include "core/curve.h"
#include "core/transport.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int bad(const char *file, const config_setting_t *s, char *err, size_t errlen,
	       const char *msg)
{
	/* The one file:line: formatter of every config reader (cfg.c). */
	cfg_reader R = { .file = file, .err = err, .errlen = errlen };

	return cfg_fail(&R, s, "'%s' %s", config_setting_name(s), msg);
}

static int take_string(const char *file, config_setting_t *s, char **out, char *err, size_t errlen)
{
	const char *v = config_setting_get_string(s);
	if (!v || !*v)
		return bad(file, s, err, errlen, "must be a non-empty string");
	char *d = strdup(v);
	if (!d)
		return bad(file, s, err, errlen, "cannot be kept: out of memory");
	free(*out);
	*out = d;
	return 1;
}

static int take_labels(const char *file, config_setting_t *s, conf_hosts *h, char *err,
		       size_t errlen)
{
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return bad(file, s, err, errlen, "must be a list of strings [\"region=eu\", ...]");
	int n = config_setting_length(s);
	if (n > HOSTS_LABELS_MAX)
		return bad(file, s, err, errlen, "has more than 32 labels");
	char **v = calloc((size_t)n + 1, sizeof(char *));
	if (!v)
		return bad(file, s, err, errlen, "cannot be kept: out of memory");
	for (int i = 0; i < n; i++) {
		const char *l = config_setting_get_string_elem(s, i);
		if (!l || !*l || strlen(l) > HOSTS_LABEL_MAX || strchr(l, ',')) {
			util_strv_free(v);
			return bad(
				file, s, err, errlen,
				"entries must be non-empty strings of at most 128 bytes without ','");
		}
		v[i] = strdup(l);
	}
	util_strv_free(h->labels);
	h->labels = v;
	return 1;
}

int conf_hosts_setting(const char *file, config_setting_t *s, conf_hosts *h, char *err,
		       size_t errlen)
{
	const char *n = config_setting_name(s);
	char why[512];
	if (strcmp(n, "listen") == 0 || strcmp(n, "agent") == 0) {
		char **out = n[0] == 'l' ? &h->listen : &h->agent;
		if (take_string(file, s, out, err, errlen) < 0)
			return -1;
		char *ep = conf_hosts_endpoint(n, *out, why, sizeof(why));
		if (!ep)
			return bad(file, s, err, errlen, why + strlen(n) + 1);
		free(*out);
		*out = ep;
		return 1;
	}
	if (strcmp(n, "key") == 0)
		return take_string(file, s, &h->key, err, errlen);
	if (strcmp(n, "authorized_keys") == 0)
		return take_string(file, s, &h->authorized_keys, err, errlen);
	if (strcmp(n, "server_key") == 0)
		return take_string(file, s, &h->server_key, err, errlen);
	if (strcmp(n, "labels") == 0)
		return take_labels(file, s, h, err, errlen);
	if (strcmp(n, "runners_per_host") == 0) {
		int v = 0;
		if (config_setting_type(s) != CONFIG_TYPE_INT ||
		    (v = config_setting_get_int(s)) < 0 || v > 1024)
			return bad(file, s, err, errlen,
				   "must be a number from 0 (one per core) to 1024");
		h->runners = v;
		return 1;
	}
	return 0;
}

char *conf_hosts_endpoint(const char *what, const char *ep, char *err, size_t errlen)
{
	if (strncmp(ep, "tcp://", 6) != 0 || !ep[6]) {
		snprintf(err, errlen, "%s %s: must be tcp://ADDRESS[:PORT]", what, ep);
		return NULL;
	}
	const char *host = ep + 6, *colon = strrchr(host, ':');
	int has_port = colon && !(host[0] == '[' && strchr(colon, ']'));
	if (has_port) {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (*end || colon[1] == '\0' || port < 0 || port > 65535) {
			snprintf(err, errlen, "%s %s: the port must be a number from 0 to 65535",
				 what, ep);
			return NULL;
		}
		return strdup(ep);
	}
	size_t n = strlen(ep) + 8;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "%s:%d", ep, TZMQ_DEFAULT_PORT);
	return out;
}

int conf_hosts_loopback(const char *ep)
{
	const char *h = ep + (strncmp(ep, "tcp://", 6) == 0 ? 6 : 0);
	return strncmp(h, "127.", 4) == 0 || strncmp(h, "localhost:", 10) == 0 ||
		strncmp(h, "[::1]:", 6) == 0;
}

/* A key file that must exist and read as a key. */
static int check_key(const char *setting, const char *path, int secret, char *err, size_t errlen)
{
	char k[CURVE_Z85_LEN + 1], why[1024];
	int rc = secret ? curve_read_secret(path, k, NULL, why, sizeof(why))
			: curve_read_public(path, k, why, sizeof(why));
	memset(k, 0, sizeof(k));
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", setting, why);
	return rc;
}

int conf_hosts_check(const conf_hosts *h, char *err, size_t errlen)
{
	struct stat st;
	if (h->listen && h->agent) {
		snprintf(err, errlen,
			 "listen (a controller) and agent (a runner host) cannot both be "
			 "set: one mited is one or the other");
		return -1;
	}
	if (h->listen) {
		int lo = conf_hosts_loopback(h->listen);
		const char *miss = !h->key    ? "key (--key)"
			: !h->authorized_keys ? "authorized_keys (--authorized-keys)"
					      : NULL;
		if (miss && !lo) {
			snprintf(err, errlen,
				 "listen %s: a non-loopback address needs CURVE: %s is not "
				 "set (see mitectl keygen)",
				 h->listen, miss);
			return -1;
		}
		if (h->key && !h->authorized_keys) {
			snprintf(err, errlen,
				 "listen %s: key is set but authorized_keys "
				 "(--authorized-keys) is not",
				 h->listen);
			return -1;
		}
		if (h->authorized_keys && !h->key) {
			snprintf(err, errlen,
				 "listen %s: authorized_keys is set but key (--key) is not",
				 h->listen);
			return -1;
		}
		if (h->key && check_key("key", h->key, 1, err, errlen) < 0)
			return -1;
		if (h->authorized_keys &&
		    (stat(h->authorized_keys, &st) < 0 || !S_ISDIR(st.st_mode))) {
			snprintf(err, errlen, "authorized_keys %s: not a folder",
				 h->authorized_keys);
			return -1;
		}
	}
	if (h->agent) {
		int lo = conf_hosts_loopback(h->agent);
		const char *miss = !h->key ? "key (--key)"
			: !h->server_key   ? "server_key (--server-key)"
					   : NULL;
		if (miss && (!lo || h->key || h->server_key)) {
			snprintf(err, errlen,
				 "agent %s: %s is not set (a controller beyond loopback "
				 "needs CURVE; see mitectl keygen)",
				 h->agent, miss);
			return -1;
		}
		if (h->key && check_key("key", h->key, 1, err, errlen) < 0)
			return -1;
		if (h->server_key && check_key("server_key", h->server_key, 0, err, errlen) < 0)
			return -1;
	}
	return 0;
}

void conf_hosts_free(conf_hosts *h)
{
	free(h->listen);
	free(h->key);
	free(h->authorized_keys);
	free(h->agent);
	free(h->server_key);
	util_strv_free(h->labels);
	memset(h, 0, sizeof(*h));
}

int hosts_sel_parse(const char *hosts, double count, int has_count, int local, hosts_sel *out,
		    char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->local = local;
	out->given = has_count || hosts;
	if (has_count) {
		if (!(count >= 1 && count <= 100000) || count != (double)(int)count) {
			snprintf(err, errlen,
				 "hosts %g: expected all, none, a number from 1 to 100000 "
				 "or label=NAME",
				 count);
			return -1;
		}
		out->mode = HOSTS_SEL_COUNT;
		out->count = (int)count;
		return 0;
	}
	if (!hosts || strcmp(hosts, "all") == 0)
		return 0;
	if (strcmp(hosts, "none") == 0) {
		out->mode = HOSTS_SEL_NONE;
		return 0;
	}
	if (strncmp(hosts, "label=", 6) == 0 && hosts[6] && strlen(hosts + 6) <= HOSTS_LABEL_MAX) {
		out->mode = HOSTS_SEL_LABEL;
		snprintf(out->label, sizeof(out->label), "%s", hosts + 6);
		return 0;
	}
	char *end;
	long n = strtol(hosts, &end, 10);
	if (*hosts && !*end && n >= 1 && n <= 100000) {
		out->mode = HOSTS_SEL_COUNT;
		out->count = (int)n;
		return 0;
	}
	snprintf(err, errlen,
		 "hosts '%.200s': expected all, none, a number from 1 to 100000 or "
		 "label=NAME (at most %d bytes)",
		 hosts, HOSTS_LABEL_MAX);
	return -1;
}

static int over(char **dst, const char *src, const char *what, int endpoint, char *err,
		size_t errlen)
{
	if (!src)
		return 0;
	char *v = endpoint ? conf_hosts_endpoint(what, src, err, errlen) : strdup(src);
	if (!v) {
		if (!endpoint)
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = v;
	return 0;
}

int conf_hosts_override(conf_hosts *h, const conf_hosts *o, char *err, size_t errlen)
{
	if (over(&h->listen, o->listen, "--listen", 1, err, errlen) < 0 ||
	    over(&h->agent, o->agent, "--agent", 1, err, errlen) < 0 ||
	    over(&h->key, o->key, "--key", 0, err, errlen) < 0 ||
	    over(&h->authorized_keys, o->authorized_keys, "--authorized-keys", 0, err, errlen) <
		    0 ||
	    over(&h->server_key, o->server_key, "--server-key", 0, err, errlen) < 0)
		return -1;
	if (o->labels) {
		char **v = util_strv_dup(o->labels);
		if (!v) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		util_strv_free(h->labels);
		h->labels = v;
	}
	if (o->runners)
		h->runners = o->runners;
	return 0;
}
