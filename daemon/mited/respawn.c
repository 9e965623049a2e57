/*
 * respawn.c - a run's budget of runner replacements (see respawn.h).
 */
#include "config.h"

#include "mited/respawn.h"

/* A journey that crashes every runner at once would make replacing a fork
 * storm: the first replacement is immediate, then each waits twice as long
 * as the one before (up to RESPAWN_MAX_MS) until runners stay up for
 * RESPAWN_CALM_MS. */
#define RESPAWN_BASE_MS 250
#define RESPAWN_MAX_MS 5000
#define RESPAWN_CALM_MS 30000

void respawn_lost(respawn *rs, uint64_t now)
{
	if (rs->last_loss_ms && now - rs->last_loss_ms > RESPAWN_CALM_MS)
		rs->burst = 0; /* runners stayed up: start the back-off over */
	rs->burst++;
	rs->last_loss_ms = now;
}

int respawn_take(respawn *rs, uint64_t now, int max)
{
	if (rs->gave_up)
		return RESPAWN_OVER;
	if (now < rs->next_ms)
		return RESPAWN_WAIT;
	if (rs->restarts >= max) {
		rs->gave_up = 1;
		return RESPAWN_OUT;
	}
	rs->restarts++;
	uint64_t wait = rs->burst ? (uint64_t)RESPAWN_BASE_MS << (rs->burst > 5 ? 5 : rs->burst - 1)
				  : 0;
	rs->next_ms = now + (wait > RESPAWN_MAX_MS ? RESPAWN_MAX_MS : wait);
	return RESPAWN_GO;
}
