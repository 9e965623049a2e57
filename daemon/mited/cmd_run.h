/*
 * cmd_run.h - the control commands of a run's life: start, stop, pause,
 * resume, scale (mite-control(7)).
 */
#ifndef MITE_MITED_CMD_RUN_H
#define MITE_MITED_CMD_RUN_H

#include "controller/control.h"

cJSON *cmd_run_start(control_client *cl, const cJSON *req, void *data);
cJSON *cmd_run_stop(control_client *cl, const cJSON *req, void *data);
cJSON *cmd_run_pause(control_client *cl, const cJSON *req, void *data);
cJSON *cmd_run_resume(control_client *cl, const cJSON *req, void *data);
cJSON *cmd_run_scale(control_client *cl, const cJSON *req, void *data);

#endif
