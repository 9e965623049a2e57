/*
 * runner_stderr.c - a runner's stderr and its death (see runner_stderr.h).
 */
#include "config.h"

#include "mited/runner_stderr.h"

#include "core/log.h"
#include "core/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Lines a runner writes about its own death or state (a fatal signal, a
 * stack overflow, its memory limit): logged past runner_stderr, this many
 * per runner at most. */
#define STDERR_STATUS_LINES 16

void runner_stderr_report(rproc *p, int final)
{
	uint64_t lines, bytes;
	double secs;
	const loglimit_conf *c = &p->cf->stderr_limit;
	if (!loglimit_report(&p->ll, uv_now(p->loop), final, &lines, &bytes, &secs))
		return;
	log_warn("%s: %llu line(s) (%llu bytes) of its stderr dropped in %.0f s "
		 "(runner_stderr: %g lines/s, %g bytes/s)",
		 p->name, (unsigned long long)lines, (unsigned long long)bytes, secs,
		 c->lines_per_s, c->bytes_per_s);
}

/* What the runner says about itself: "mite: fatal signal S in journey
 * NAME" (its handler), "mite: journey NAME overflowed its N KiB stack"
 * (core/coro.c), "mite: memory limit of N MiB reached ..." and "mite:
 * address space limit of N MiB nearly reached ..." (runner/limits.c).
 * Whether line was one of those. */
static int status_line(rproc *p, const char *line)
{
	const char *j;
	if (strncmp(line, "mite: fatal signal ", 19) == 0 && (j = strstr(line, " in journey "))) {
		snprintf(p->journey, sizeof(p->journey), "%s", j + 12);
		snprintf(p->crash, sizeof(p->crash), "%s", line + 6);
	} else if (strncmp(line, "mite: busy in journey ", 22) == 0) {
		snprintf(p->journey, sizeof(p->journey), "%s", line + 22);
	} else if (strncmp(line, "mite: journey ", 14) == 0 &&
		   (j = strstr(line, " overflowed its "))) {
		snprintf(p->journey, sizeof(p->journey), "%.*s", (int)(j - line - 14), line + 14);
		snprintf(p->crash, sizeof(p->crash), "stack overflow: %s", line + 6);
	} else if (strncmp(line, "mite: memory limit of ", 22) == 0) {
		snprintf(p->crash, sizeof(p->crash), "memory: %s", line + 6);
	} else if (strncmp(line, "mite: address space limit of ", 29) == 0) {
		p->as_near = 1; /* a fatal signal's line follows */
	} else {
		return 0;
	}
	return 1;
}

/* One line: logged with the run's and runner's names, at the level its
 * "<N>" prefix gives (error at most), as far as runner_stderr lets it. */
static void runner_line(rproc *p, char *line)
{
	int level = LOG_LVL_INFO;
	if (line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>') {
		level = line[1] - '0';
		line += 3;
	}
	if (level < LOG_LVL_ERR)
		level = LOG_LVL_ERR;
	int status = status_line(p, line);
	snprintf(p->last_line, sizeof(p->last_line), "%s", line);
	if (!(status && p->status_lines++ < STDERR_STATUS_LINES) &&
	    !loglimit_take(&p->ll, &p->cf->stderr_limit, strlen(line), uv_now(p->loop)))
		return;
	log_msg(level, "%s: %s", p->name, line);
}

static void end_line(rproc *p)
{
	p->line[p->linelen] = '\0';
	runner_line(p, p->line);
	p->linelen = 0;
}

void runner_stderr_flush(rproc *p)
{
	if (p->linelen)
		end_line(p);
}

void runner_stderr_feed(rproc *p, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];
		if (c == '\n' || p->linelen == sizeof(p->line) - 1) {
			end_line(p);
			if (c == '\n')
				continue;
		}
		p->line[p->linelen++] = c;
	}
}

void runner_stderr_death(const rproc *p, const char *journey, char *reason, size_t len)
{
	int at_limit = strncmp(p->crash, "memory: memory limit of ", 24) == 0;
	int sig = p->term_signal;
	if (p->killed_why[0])
		snprintf(reason, len, "killed %s%s", p->killed_why, journey);
	else if (at_limit && !sig)
		snprintf(reason, len, "exceeded its memory limit of %" PRIu64 " MiB%s",
			 p->mem_limit >> 20, journey);
	else if (sig && p->as_near)
		snprintf(reason, len,
			 "killed by signal %d (SIG%s, %s)%s at its address space limit of %" PRIu64
			 " MiB: an allocation probably failed",
			 sig, util_sig_name(sig), strsignal(sig), journey, p->as_limit >> 20);
	else if (sig)
		snprintf(reason, len, "killed by signal %d (SIG%s, %s)%s%s", sig,
			 util_sig_name(sig), strsignal(sig), journey,
			 strncmp(p->crash, "stack overflow", 14) == 0 ? ": a stack overflow" : "");
	else
		snprintf(reason, len, "exited with status %lld%s%s%s", (long long)p->exit_status,
			 journey, p->last_line[0] ? ": " : "", p->last_line);
}
