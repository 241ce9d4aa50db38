/* Process-wide logging to stderr. */
#include "lib/util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/buf.h"

static char log_tag[64] = "pgkb";
static enum log_level log_min = LOG_INFO;
static int log_json;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_setup(const char *tag, enum log_level level)
{
	snprintf(log_tag, sizeof log_tag, "%s", tag);
	log_min = level;
}

void log_set_level(enum log_level level)
{
	log_min = level;
}

void log_set_json(int on)
{
	log_json = on;
}

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

int log_enabled(enum log_level level)
{
	return level <= log_min;
}

static void json_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_putc(b, (char)c);
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char ts[40];
	size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof ts - n, ".%03dZ", (int)(tv.tv_usec / 1000));

	struct buf line = BUF_INIT;
	if (log_json) {
		buf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"proc\":\"", ts, level_names[level]);
		json_escape(&line, log_tag);
		buf_printf(&line, "\",\"pid\":%d,\"msg\":\"", (int)getpid());
		json_escape(&line, msg);
		buf_puts(&line, "\"}\n");
	} else {
		buf_printf(&line, "%s %-5s [%s %d] %s\n", ts, level_names[level], log_tag, (int)getpid(), msg);
	}
	/* One write per line so lines from many processes never interleave. */
	ssize_t w = write(STDERR_FILENO, line.data, line.len);
	(void)w;
	buf_free(&line);
}
