/* loglimit.c - token buckets for lines into the log (see loglimit.h). */
#include "controller/loglimit.h"

void loglimit_conf_defaults(loglimit_conf *c)
{
	c->lines_per_s = LOGLIMIT_LINES_DEFAULT;
	c->bytes_per_s = LOGLIMIT_BYTES_DEFAULT;
	c->burst_s = LOGLIMIT_BURST_DEFAULT;
}

void loglimit_init(loglimit *l, const loglimit_conf *c, uint64_t now_ms)
{
	*l = (loglimit){ .lines = c->lines_per_s * c->burst_s,
			 .bytes = c->bytes_per_s * c->burst_s,
			 .last_ms = now_ms };
}

static void refill(loglimit *l, const loglimit_conf *c, uint64_t now_ms)
{
	double dt = now_ms > l->last_ms ? (double)(now_ms - l->last_ms) / 1000.0 : 0;
	double lmax = c->lines_per_s * c->burst_s, bmax = c->bytes_per_s * c->burst_s;

	l->last_ms = now_ms > l->last_ms ? now_ms : l->last_ms;
	l->lines += dt * c->lines_per_s;
	l->bytes += dt * c->bytes_per_s;
	if (l->lines > lmax)
		l->lines = lmax;
	if (l->bytes > bmax)
		l->bytes = bmax;
}

int loglimit_take(loglimit *l, const loglimit_conf *c, size_t len, uint64_t now_ms)
{
	refill(l, c, now_ms);
	if (l->lines >= 1 && l->bytes >= (double)len) {
		l->lines -= 1;
		l->bytes -= (double)len;
		return 1;
	}
	if (!l->dropped_lines)
		l->since_ms = now_ms;
	l->dropped_lines++;
	l->dropped_bytes += len;
	return 0;
}

int loglimit_report(loglimit *l, uint64_t now_ms, int final, uint64_t *lines, uint64_t *bytes,
		    double *secs)
{
	if (!l->dropped_lines || (!final && now_ms - l->since_ms < LOGLIMIT_REPORT_MS))
		return 0;
	*lines = l->dropped_lines;
	*bytes = l->dropped_bytes;
	*secs = (double)(now_ms - l->since_ms) / 1000.0;
	l->dropped_lines = l->dropped_bytes = 0;
	return 1;
}
