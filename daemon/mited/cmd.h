/*
 * cmd.h - the control commands (mite-control(7)): their table, and what
 * they share to read a request.
 */
#ifndef MITE_MITED_CMD_H
#define MITE_MITED_CMD_H

#include "controller/control.h"
#include "mited/daemon.h"

#include <cjson/cJSON.h>

/* Every command, NULL-terminated; their data is the daemon_. */
extern const control_cmd cmd_table[];

/* The string member key of req, or NULL. */
const char *cmd_str(const cJSON *req, const char *key);
/* A NULL-terminated copy of the strings of a JSON array ("sets") or of
 * the MITE_CONF_* members of an array or object ("env"); NULL with err set. */
char **cmd_strings(const cJSON *v, int env, const char *what, char *err, size_t errlen);
/* The run req names ("run"), or NULL with *reply set to the error. */
drun *cmd_find_run(daemon_ *d, const cJSON *req, cJSON **reply);

#endif
