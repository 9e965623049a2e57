/* cli.c - what every mitectl command shares (see cli.h). */
#include "config.h"

#include "mitectl/cli.h"

#include <stdarg.h>
#include <string.h>

const char *cli_socket;
int cli_json;
int cli_color;

void cli_die(const char *fmt, ...)
{
	va_list ap;
	fputs("mitectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_jtrue(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

void cli_print_help(FILE *f, const char *synopsis, const char *help)
{
	fprintf(f, "usage: mitectl %s\n\n%s", synopsis, help);
}

int cli_help_requested(int argc, char **argv, const char *synopsis, const char *help)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cli_print_help(stdout, synopsis, help);
			return 1;
		}
	}
	return 0;
}

int cli_usage_error(const char *synopsis, const char *fmt, ...)
{
	va_list ap;
	fputs("mitectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: mitectl %s\n", synopsis);
	return EX_USAGE_;
}
