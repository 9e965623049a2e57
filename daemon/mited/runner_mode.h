/*
 * runner_mode.h - `mited --runner`: one runner process, linked to the
 * controller that spawned it.
 */
#ifndef MITE_MITED_RUNNER_MODE_H
#define MITE_MITED_RUNNER_MODE_H

#include <stdint.h>

/* A runner that gets no setup this long after it started gives up: no run
 * expects its id (mited starts its own runners; by hand is not supported). */
#define RUNNER_SETUP_TIMEOUT_S 30.0

/* Runs one runner until its controller is done with it. The exit status:
 * 0, or 1 when it failed or got no setup in time (mited(8)). */
int runner_mode_run(const char *endpoint, int index, const char *id, long parent, uint64_t memory,
		    uint64_t address_space, long files, double setup_timeout);

/* A runner on a runner host links with CURVE: its host's secret key
 * file and the controller's public key file (both NULL: no CURVE). */
void runner_mode_set_curve(const char *key, const char *server_key);

#endif
