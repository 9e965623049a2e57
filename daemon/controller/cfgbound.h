/*
 * cfgbound.h - a libconfig file checked against size limits before
 * libconfig reads it.
 *
 * libconfig's lexer takes time quadratic in the length of a string (an
 * 8 MB string takes 29 s), and a file of any size is read whole: a scenario
 * from anyone who may use the control socket must be bounded first. This
 * reads the file into memory (the text to hand to config_read_string, so
 * that what was checked is what is parsed), finds its @include directives
 * as libconfig 1.5 does (at the start of a line, relative to the include
 * folder, at most 10 deep) and checks those files too: their sizes together
 * and every string value, adjacent literals joined as libconfig joins them.
 * An included file is read again by libconfig itself, after this check.
 */
#ifndef MITE_CONTROLLER_CFGBOUND_H
#define MITE_CONTROLLER_CFGBOUND_H

#include <stddef.h>

typedef struct cfgbound_limits {
	size_t file_max; /* bytes of the file and every file it includes, together */
	size_t string_max; /* bytes of one string value (escapes count as written) */
} cfgbound_limits;

/* Reads path (a regular file) and checks it and its includes. 0 with a
 * malloc'ed NUL-terminated copy of path's text in *text; -1 with
 * "file: reason" or "file:line: reason" in err (naming the value and the
 * limit). A NUL byte in path is refused: libconfig would stop reading
 * there and ignore the rest. */
int cfgbound_read(const char *path, const char *include_dir, const cfgbound_limits *lim,
		  char **text, char *err, size_t errlen);

#endif
