/*
 * hosts_int.h - what hosts.c (the agents' links) and hosts_run.c (their
 * runners for runs) share. Not for other files.
 */
#ifndef MITE_MITED_HOSTS_INT_H
#define MITE_MITED_HOSTS_INT_H

#include "core/curve.h"
#include "mited/hosts.h"
#include "mited/hostproto.h"

#include <limits.h>
#include <stdint.h>

#define HOST_UP 1
#define HOST_LOST 2
/* Hosts remembered (up, or lost and not back) for `mitectl hosts`. */
#define HOSTS_KEPT_MAX 4096

typedef struct host host;
typedef struct hrunner hrunner;
typedef struct howed howed;

struct host {
	host *next;
	hosts *hs;
	transport *link; /* to the agent; NULL once lost */
	char agent_id[TZMQ_ID_MAX + 1];
	char name[CURVE_NAME_MAX + 160]; /* KEY, or KEY/ADDRESS for a key's 2nd host */
	char key[CURVE_NAME_MAX + 1]; /* its key's name (User-Id), or its host name */
	char hostname[72]; /* as its hello says */
	char address[128];
	char version[64];
	char **labels;
	int cores, runners;
	uint64_t memory;
	uint64_t joined_ms, last_ms, lost_ms;
	int state;
	unsigned seq; /* for runner ids */
	char why[512]; /* why it was lost */
	char cache[4096]; /* its module cache ("": it takes modules by path) */
};

/* A journey module shipped (or to ship) to hosts: its path here and its
 * SHA-256 when last read. */
typedef struct shipped {
	struct shipped *next;
	char sha[65];
	uint64_t size;
	char path[];
} shipped;

/* A runner process an agent runs for a run: what the run holds. */
struct hrunner {
	transport t; /* first: the run's end; forwards to inner */
	transport *inner; /* the runner's own CURVE link to us */
	hosts *hs;
	host *h; /* its host (NULL once that is forgotten) */
	drun *dr;
	hrunner *next;
	int index;
	char id[TZMQ_ID_MAX + 1];
	int link_open;
	int killed; /* host_kill sent (the watchdog) */
	int leaving; /* its host is lost: its run awaits its last batch */
	char key[CURVE_NAME_MAX + 1]; /* its host's key: only that may speak for it */
	int wrong_key; /* a message came with another host's key: said once */
	char journey[128]; /* the one its last stats named, for its death */
	uint64_t added_ms;
};

struct hosts {
	daemon_ *d;
	tzmq_server *srv;
	char authorized[PATH_MAX];
	int curve;
	host *list;
	hrunner *runners;
	uv_timer_t timer; /* heartbeats out, losses in, the remote watchdog */
	unsigned seq;
	shipped *ship;
	uint64_t shipped_bytes; /* sent in host_module messages so far */
	uint64_t last_beat_ms;
	howed *owed; /* replacements owed to runs (hosts_respawn.c) */
};

host *hosts_find(hosts *hs, const char *name);
/* Host h is lost (why): its link closed, its runs told (hosts_run_host_lost). */
void hosts_lose(hosts *hs, host *h, const char *why);
/* A host just joined (or came back): the runs that want it get runners. */
void hosts_run_joined(hosts *hs, host *h);
/* Host h is lost: its runners are lost to their runs, with reason. */
void hosts_run_host_lost(hosts *hs, host *h, const char *reason);
/* host_exit from h's agent: runner id ended (why; the journey it was in
 * goes at offset at when the agent named none, at < 0: it did); pid 0: its
 * process never ran. One that ran is replaced (hosts_respawn_lost). */
void hosts_run_exit(hosts *hs, host *h, const char *id, int pid, const char *why, int at);
/* Asks host h for n runners of run dr (they join it at once). The number
 * asked for. */
int hosts_run_spawn(hosts *hs, host *h, drun *dr, int n);
/* hosts_respawn.c: h's runner of dr died: counted for the back-off, and
 * replaced on h now or when the back-off allows, if dr still replaces
 * runners and h is up. */
void hosts_respawn_lost(hosts *hs, host *h, drun *dr);
/* The replacements the back-off held back (a housekeeping step). */
void hosts_respawn_tick(hosts *hs, uint64_t now);
/* Forgets what is owed to dr (NULL: to every run). */
void hosts_respawn_forget(hosts *hs, const drun *dr);
/* The watchdog of remote runners (a housekeeping step). */
void hosts_run_watch(hosts *hs, uint64_t now);
int hosts_send(host *h, cJSON *msg);
/* hosts_ship.c: the journey modules of dr's scenario as host_spawn's
 * "modules" [{path, sha256, size}]; 0, or -1 (logged) when one cannot be
 * read. */
int hosts_ship_list(hosts *hs, drun *dr, cJSON *spawn);
/* host_need from h: sends the modules it asks for. */
void hosts_ship_need(hosts *hs, host *h, const cJSON *msg);
/* A setup for a runner of h, its module paths made h's cached copies; NULL
 * when it is not a setup or h takes modules by path (send msg as it is). */
char *hosts_ship_setup(hosts *hs, const host *h, const char *msg, size_t len);
void hosts_ship_free(hosts *hs);

#endif
