/*
 * report_html.h - one self-contained HTML report of a finished run, from
 * its results folder (summary.json and timeline.jsonl; see results.h).
 *
 * The file fetches nothing (a Content-Security-Policy forbids it): styles
 * and a few lines of script are inline, and the charts - requests per
 * second, latency percentiles per transaction, failures, required vs
 * actual volume, all over time - are SVG drawn here.
 */
#ifndef MITE_CONTROLLER_REPORT_HTML_H
#define MITE_CONTROLLER_REPORT_HTML_H

#include <stdio.h>

/* Timelines longer than this are drawn in buckets of several seconds
 * (counts add up; latency shows the highest per-second value). */
#define REPORT_HTML_MAX_POINTS 1200
/* Transactions charted one by one (the busiest); the tables have all. */
#define REPORT_HTML_MAX_TXN_CHARTS 12
/* Distinct errors listed (the most frequent); summary.json has them all. */
#define REPORT_HTML_MAX_ERRORS 100

/* Writes the report of the results folder dir to out. 0, or -errno with
 * "file: reason" in err. */
int report_html_write(const char *dir, FILE *out, char *err, size_t errlen);

#endif
