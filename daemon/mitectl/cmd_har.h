/*
 * cmd_har.h - `mitectl har convert`: a browser's HAR recording into a
 * C journey and a scenario (docs/har.md, mitectl(1)).
 */
#ifndef MITE_MITECTL_CMD_HAR_H
#define MITE_MITECTL_CMD_HAR_H

/* Exit statuses of `mitectl har` (mitectl(1)). */
#define CMD_HAR_OK 0
#define CMD_HAR_WRITE 1 /* an output file could not be written */
#define CMD_HAR_USAGE 2 /* a bad command line */
#define CMD_HAR_BAD 3 /* the HAR file was refused */

#define CMD_HAR_SYNOPSIS                                                                    \
	"har convert FILE.har [-o JOURNEY.c] [--scenario SCENARIO.conf] [--function NAME] " \
	"[--base-url URL] [--base-host HOST] [--keep-host HOST]... [--drop-host HOST]... "  \
	"[--drop-static] [--drop-type TYPE]... [--drop-header NAME]... [--gap S]"

#define CMD_HAR_HELP                                                                           \
	"Turns a browser's HAR recording into a C journey (one transaction per page, or per\n" \
	"burst of requests), a scenario that runs it, and prints the line that builds it.\n"   \
	"  -o FILE.c            the journey (default: FILE's name with .c; - : stdout)\n"      \
	"  --scenario FILE.conf the scenario (default: the journey's name with .conf)\n"       \
	"  --function NAME      the journey function (default: journey)\n"                     \
	"  --base-url URL       base_url's default (default: the recorded site's origin)\n"    \
	"  --base-host HOST     the recorded site (default: the first request's host)\n"       \
	"  --keep-host HOST     also keep requests to HOST (a glob; '*': every host)\n"        \
	"  --drop-host HOST     drop requests to HOST (a glob; wins over --keep-host)\n"       \
	"  --drop-static        drop images, fonts, style sheets, scripts and media\n"         \
	"  --drop-type TYPE     drop responses of TYPE (a glob: image/*, text/css)\n"          \
	"  --drop-header NAME   send no header NAME (a glob)\n"                                \
	"  --gap S              a pause over S seconds starts a transaction (default 2)\n"     \
	"Exit: 0 written, 1 cannot write, 2 usage, 3 HAR refused. See docs/har.md.\n"

/* The `har` command: argv[0] is "har". Returns an exit status above. */
int cmd_har_main(int argc, char **argv);

#endif
