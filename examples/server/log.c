/* SPDX-License-Identifier: MIT */
/*
 * One line per event on stderr, where systemd's journal (or a terminal,
 * or a test) reads it.  Each line goes out in one write(2) of at most
 * LINE_MAX_BYTES, less than PIPE_BUF, so the lines of session threads and
 * of worker processes never interleave.  When
 * stderr is the journal's stream (its device and inode are the ones
 * $JOURNAL_STREAM names), a line starts with the sd-daemon prefix "<N>",
 * from which journald takes the entry's priority; elsewhere the prefix
 * would be noise, and the program's name stands there instead.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"

#define LINE_MAX_BYTES 512
_Static_assert(LINE_MAX_BYTES <= PIPE_BUF, "a log line is one atomic write");

/* Set before the first thread or worker exists; read-only after. */
static bool to_journal;
static bool show_debug;

void log_init(bool verbose)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	show_debug = verbose;
	to_journal = stream &&
		     sscanf(stream, "%llu:%llu", &dev, &ino) == 2 &&
		     fstat(STDERR_FILENO, &st) == 0 &&
		     (unsigned long long)st.st_dev == dev &&
		     (unsigned long long)st.st_ino == ino;
}

void log_line(int priority, const char *fmt, ...)
{
	char line[LINE_MAX_BYTES];
	size_t len;
	va_list ap;
	int n;

	if (priority == LOG_DEBUG && !show_debug)
		return;
	if (to_journal)
		n = snprintf(line, sizeof(line), "<%d>", priority);
	else
		n = snprintf(line, sizeof(line), "prime_server: ");
	len = n < 0 ? 0 : (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	va_end(ap);
	if (n > 0)
		len += (size_t)n;
	/* Room for the newline: a line too long is cut, never split. */
	if (len > sizeof(line) - 1)
		len = sizeof(line) - 1;
	line[len++] = '\n';

	for (size_t done = 0; done < len;) {
		ssize_t w = write(STDERR_FILENO, line + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere left to say it */
		done += (size_t)w;
	}
}
