/*
 * hosts.h - the controller's runner hosts (mited --listen): the CURVE
 * link agents connect to (with the ZAP check against authorized_keys),
 * their hello, heartbeats and loss, and the runners they run for runs
 * (hosts_run.c). See docs/distributed.md.
 */
#ifndef MITE_MITED_HOSTS_H
#define MITE_MITED_HOSTS_H

#include "mited/daemon.h"
#include "mited/drun.h"

#include <cjson/cJSON.h>

typedef struct hosts hosts;

/* Opens the listen endpoint of d's configuration (none: *out NULL, 0).
 * 0, or -1 with err set. */
int hosts_start(daemon_ *d, hosts **out, char *err, size_t errlen);
/* The endpoint bound (port 0 resolved). */
const char *hosts_endpoint(const hosts *hs);
void hosts_close(hosts *hs);
/* Gives run dr its runners on the hosts its selection names; returns how
 * many runners it got there (0: none). */
int hosts_attach(hosts *hs, drun *dr);
/* How many connected hosts dr's selection would get. */
int hosts_selectable(const hosts *hs, const hosts_sel *sel);
/* Remote runners of dr alive and linked. */
int hosts_runners_alive(const hosts *hs, const drun *dr);
/* The reply of `mitectl hosts`. */
cJSON *hosts_list(const hosts *hs);
/* Adds "hosts" (per host: runners, instances now) to a run's status. */
void hosts_run_status(const hosts *hs, const drun *dr, cJSON *o);
/* The "hosts" control command (data: the daemon_). */
cJSON *hosts_cmd(control_client *cl, const cJSON *req, void *data);
/* A run is being freed: forgets it. */
void hosts_run_gone(hosts *hs, drun *dr);

#endif
