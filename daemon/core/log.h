/* log.h - the daemon's and tools' log lines, "component: action failed: reason". */
#ifndef MITE_CORE_LOG_H
#define MITE_CORE_LOG_H

enum {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARNING = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7
};

/* Lines above this level are dropped (default LOG_LVL_INFO). */
void log_set_level(int level);
int log_get_level(void);
/* Prefix lines with "<N>" for journald (set when running under systemd). */
void log_set_syslog_prefix(int on);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
