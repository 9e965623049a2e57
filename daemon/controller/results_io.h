/*
 * results_io.h - reading what a run left (results.h writes it): the text
 * summary of a summary.json, and event logs printed for people. Nothing
 * here needs a run: mitectl reads results folders with it.
 */
#ifndef MITE_CONTROLLER_RESULTS_IO_H
#define MITE_CONTROLLER_RESULTS_IO_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

/* The summary text of a summary.json, as summary.txt holds it. */
void results_io_text(FILE *f, const cJSON *summary);

/* Reading summary objects: the string member k (or def), the number
 * member k (or def), and the number member k, in seconds, as a short human
 * string ("812us", "12.3ms", "1.20s"; "-" when absent) written into buf. */
const char *results_io_str(const cJSON *o, const char *k, const char *def);
double results_io_num(const cJSON *o, const char *k, double def);
const char *results_io_secs(char *buf, size_t len, const cJSON *o, const char *k);
/* Reads a JSON file (at most 256 MiB). NULL with "path: reason" in err. */
cJSON *results_io_load_json(const char *path, char *err, size_t errlen);
/* Prints an event log readably, one event per line: a file of JSON lines,
 * "-" for standard input, or a results folder (its rotated logs oldest
 * first, then events.jsonl). Lines that are not JSON objects are reported
 * on stderr with their line number and skipped. 0, or -errno when the
 * input cannot be read (err says why). */
int results_io_cat(const char *path, FILE *out, int color, char *err, size_t errlen);

#endif
