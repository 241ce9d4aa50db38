/* Process-wide logging to stderr: one line per message with time, level and process tag. */
#ifndef PGKB_LOG_H
#define PGKB_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Sets the process tag ("supervisor", "ingest-1") and the lowest level printed. */
void log_setup(const char *tag, enum log_level level);
void log_set_level(enum log_level level);
/* Switches to one JSON object per line (for log shippers). */
void log_set_json(int on);
/* Parses "error|warn|info|debug"; returns -1 when unknown. */
int log_level_parse(const char *s);
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { \
		if (log_enabled(LOG_DEBUG)) \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
