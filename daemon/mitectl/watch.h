/*
 * watch.h - following a status stream of mited (status --watch,
 * start --wait) until the run's final object, or ^C.
 */
#ifndef MITE_MITECTL_WATCH_H
#define MITE_MITECTL_WATCH_H

#include "mitectl/client.h"

#include <cjson/cJSON.h>

/* Follows the status stream on c until its final object. On a terminal it
 * redraws the table; elsewhere it prints each table (status --watch) or,
 * quiet, a line of progress every 10 s (start --wait), and the final table.
 * Returns the exit status (130 on ^C); *final receives the last object (the
 * caller's). */
int watch_follow(client_conn *c, cJSON **final, int quiet);

#endif
