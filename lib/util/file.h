/* Reading a whole file into memory, bounded: configuration, migrations, ingested files and test fixtures. */
#ifndef PGKB_FILE_H
#define PGKB_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Refuse a symbolic link as the last path component (ingest: a link must not lead out of the ingest roots). */
#define FILE_NOFOLLOW 1u
/* Refuse anything but a regular file; without it only a directory is refused (a configuration may come from a
 * pipe: --config <(...)). */
#define FILE_REGULAR 2u

enum file_fault {
	FILE_OK = 0,
	FILE_OPEN,        /* cannot open (errnum) */
	FILE_DIRECTORY,   /* a directory */
	FILE_NOT_REGULAR, /* a device, pipe or socket, with FILE_REGULAR */
	FILE_TOO_LARGE,   /* size bytes, over max_bytes */
	FILE_GREW,        /* grew past max_bytes while it was read */
	FILE_READ,        /* a read failed (errnum) */
	FILE_STOPPED,     /* file_read_fd: *stop was set while it read */
};

struct file_error {
	enum file_fault fault;
	int errnum;   /* FILE_OPEN, FILE_READ */
	int64_t size; /* FILE_TOO_LARGE: its size */
};

/* Reads the regular file at path, at most max_bytes of it, into a heap buffer with a NUL after its *len bytes.
 * Returns 0, or -1 with *e saying why (*data untouched); callers word the message for their readers, or take
 * file_error_message's. A file that grows past max_bytes while it is read is refused, never truncated. */
int file_read(const char *path, int64_t max_bytes, unsigned flags, char **data, size_t *len, struct file_error *e);

struct stat;
/* The reading part of file_read, for a descriptor the caller opened and checked (st: its fstat): refuses a
 * file over max_bytes by its size, reads it, refuses one that grew past max_bytes. When stop is given, a
 * non-zero *stop (read atomically: another thread sets it) ends the read with FILE_STOPPED. Does not close fd. */
int file_read_fd(int fd, const struct stat *st, int64_t max_bytes, const int *stop, char **data, size_t *len,
                 struct file_error *e);

/* "PATH: cannot open: No such file or directory", "PATH: larger than N bytes", ... (heap). */
char *file_error_message(const char *path, int64_t max_bytes, const struct file_error *e);

#endif
