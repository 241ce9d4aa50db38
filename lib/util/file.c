/* Whole-file reads with a size bound: the one implementation for configuration, migrations, ingest and tests. */
#include "lib/util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util/buf.h"
#include "lib/util/mem.h"

static int fail(struct file_error *e, enum file_fault fault, int errnum, int64_t size)
{
	*e = (struct file_error){fault, errnum, size};
	return -1;
}

int file_read(const char *path, int64_t max_bytes, unsigned flags, char **data, size_t *len, struct file_error *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | ((flags & FILE_NOFOLLOW) ? O_NOFOLLOW : 0));
	if (fd < 0)
		return fail(e, FILE_OPEN, errno, 0);
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int errnum = errno;
		close(fd);
		return fail(e, FILE_READ, errnum, 0);
	}
	if (!S_ISREG(st.st_mode) && (S_ISDIR(st.st_mode) || (flags & FILE_REGULAR))) {
		close(fd);
		return fail(e, S_ISDIR(st.st_mode) ? FILE_DIRECTORY : FILE_NOT_REGULAR, 0, 0);
	}
	int rc = file_read_fd(fd, &st, max_bytes, NULL, data, len, e);
	close(fd);
	return rc;
}

int file_read_fd(int fd, const struct stat *st, int64_t max_bytes, const int *stop, char **data, size_t *len,
                 struct file_error *e)
{
	/* The size from fstat refuses a large file before reading it; the count while reading catches one that
	 * grows meanwhile. */
	if (st->st_size > max_bytes)
		return fail(e, FILE_TOO_LARGE, 0, (int64_t)st->st_size);
	struct buf b = BUF_INIT;
	char chunk[65536];
	ssize_t r = 0;
	bool stopped = false;
	while (!(stopped = stop && __atomic_load_n(stop, __ATOMIC_RELAXED)) && (r = read(fd, chunk, sizeof chunk)) > 0 &&
	       (int64_t)b.len <= max_bytes)
		buf_append(&b, chunk, (size_t)r);
	int errnum = errno;
	if (stopped || r < 0 || (int64_t)b.len > max_bytes) {
		buf_free(&b);
		return stopped ? fail(e, FILE_STOPPED, 0, 0) : r < 0 ? fail(e, FILE_READ, errnum, 0) : fail(e, FILE_GREW, 0, 0);
	}
	*len = b.len;
	*data = buf_steal(&b);
	*e = (struct file_error){FILE_OK, 0, 0};
	return 0;
}

char *file_error_message(const char *path, int64_t max_bytes, const struct file_error *e)
{
	switch (e->fault) {
	case FILE_OPEN:
		return xasprintf("%s: cannot open: %s", path, strerror(e->errnum));
	case FILE_DIRECTORY:
		return xasprintf("%s: is a directory", path);
	case FILE_NOT_REGULAR:
		return xasprintf("%s: not a regular file", path);
	case FILE_TOO_LARGE:
		return xasprintf("%s: larger than %lld bytes", path, (long long)max_bytes);
	case FILE_GREW:
		return xasprintf("%s: grew past %lld bytes while being read", path, (long long)max_bytes);
	case FILE_READ:
		return xasprintf("%s: cannot read: %s", path, strerror(e->errnum));
	case FILE_STOPPED:
		return xasprintf("%s: the read was stopped", path);
	case FILE_OK:
	default:
		return xasprintf("%s: read", path);
	}
}
