/*
 * respawn.h - a run's budget of runner replacements: runner_restarts of
 * them at most, with a back-off. One per run, shared by its local runners
 * (supervise.c) and its hosts' (hosts_respawn.c), so that a run replaces
 * runner_restarts runners in all, wherever they ran.
 */
#ifndef MITE_MITED_RESPAWN_H
#define MITE_MITED_RESPAWN_H

#include <stdint.h>

typedef struct respawn {
	int restarts; /* replacements made */
	int gave_up; /* runner_restarts reached */
	int burst; /* losses in a row, for the back-off */
	uint64_t last_loss_ms, next_ms;
} respawn;

enum {
	RESPAWN_GO = 1, /* replace one now (counted) */
	RESPAWN_WAIT = 0, /* not yet: the back-off */
	RESPAWN_OUT = -1, /* none: runner_restarts reached just now (tell the run) */
	RESPAWN_OVER = -2, /* none: the budget was spent before (told already) */
};

/* A runner was lost at now (the back-off grows with losses in a row). */
void respawn_lost(respawn *rs, uint64_t now);
/* May a replacement start at now, with at most max in all? */
int respawn_take(respawn *rs, uint64_t now, int max);

#endif
