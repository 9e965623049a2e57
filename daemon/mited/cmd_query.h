/*
 * cmd_query.h - the control commands that ask: ping, version, status (and
 * its watch), list, results (mite-control(7)).
 */
#ifndef MITE_MITED_CMD_QUERY_H
#define MITE_MITED_CMD_QUERY_H

#include "controller/control.h"

cJSON *cmd_query_ping(control_client *cl, const cJSON *req, void *data);
cJSON *cmd_query_version(control_client *cl, const cJSON *req, void *data);
cJSON *cmd_query_status(control_client *cl, const cJSON *req, void *data);
cJSON *cmd_query_list(control_client *cl, const cJSON *req, void *data);
cJSON *cmd_query_results(control_client *cl, const cJSON *req, void *data);

#endif
