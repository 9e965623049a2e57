/* log.c - log lines on stderr, optionally with journald priority prefixes. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static int log_level = LOG_LVL_INFO;
static int log_prefix;

void log_set_level(int level)
{
	log_level = level;
}
int log_get_level(void)
{
	return log_level;
}
void log_set_syslog_prefix(int on)
{
	log_prefix = on;
}

void log_msg(int level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* One fprintf per line keeps lines whole when several processes share
	 * the stream. A truncated line is marked rather than silently cut. */
	if (log_prefix)
		fprintf(stderr, "<%d>%s%s\n", level, line, (size_t)n >= sizeof line ? "..." : "");
	else
		fprintf(stderr, "%s%s\n", line, (size_t)n >= sizeof line ? "..." : "");
}
