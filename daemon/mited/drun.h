/*
 * drun.h - a run as the daemon holds it: the run (controller/run.h), its
 * runner processes (supervise.h), its results, and what the control
 * commands and the metrics read of it.
 */
#ifndef MITE_MITED_DRUN_H
#define MITE_MITED_DRUN_H

#include "controller/results.h"
#include "controller/run.h"
#include "mited/daemon.h"
#include "mited/respawn.h"
#include "mited/supervise.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdint.h>

struct drun {
	daemon_ *d;
	drun *next;
	run *r;
	char id[64];
	supervisor *sv; /* its runner processes */
	respawn budget; /* its runner replacements, local and on hosts */
	uint64_t cut_logged, cut_log_ms; /* labels cut (core/stats.h): said at most once a minute */
	double peak; /* instances at scale 1 (closed models), for max_instances */
	int done;
	char results[PATH_MAX];
	results *res; /* event log, summary, thresholds */
	hosts_sel hsel; /* which runners: local, hosts (conf_hosts.h) */
};

/* The run with this id, or the only one it is a prefix of; NULL with err
 * set ("no run", "ambiguous"). */
drun *drun_find(daemon_ *d, const char *id, char *err, size_t errlen);
/* Instances the active runs other than except may hold (closed models at
 * their scale), for limits.max_instances. */
double drun_instances_in_use(const daemon_ *d, const drun *except);
/* Starting, running or paused. */
int drun_active(const drun *dr);
const char *drun_verdict(const drun *dr);
cJSON *drun_status(const drun *dr);
/* The run from a parsed scenario (which it takes); the reply. */
cJSON *drun_start(daemon_ *d, parse_job *job);
void drun_free(drun *dr);
void drun_evict(daemon_ *d);
void drun_note_cut_labels(drun *dr, uint64_t now);
/* Replaces lost runners while the run goes on (not while it starts: a
 * runner joining a starting run would never get its setup; not once it
 * drains or mited shuts down). */
void drun_replace(drun *dr);
/* Whether lost runners are replaced now (running or paused, mited not
 * stopping). */
int drun_may_replace(const drun *dr);
/* The budget of replacements is spent: logged, and the run stops
 * (failed: mited: runner restarts exhausted). */
void drun_gave_up(drun *dr);
/* More runners (n in all) for a run whose volume grew; why is logged. */
void drun_grow(drun *dr, int n, const char *why);
/* Instances of the run's journeys now (what its runners report). */
long drun_instances(const drun *dr);

#endif
