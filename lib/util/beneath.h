/* Opening a path beneath a directory descriptor without following any symbolic link on the way, so that a
 * path checked once cannot be redirected outside the directory by a rename between the check and the open. */
#ifndef PGKB_BENEATH_H
#define PGKB_BENEATH_H

#include <stdbool.h>

/* Opens rel (relative, '/'-separated; empty or "." opens dirfd's directory again) beneath the directory dirfd
 * with flags (O_RDONLY and the like; O_NOFOLLOW, O_CLOEXEC and O_NONBLOCK are always added, so neither a FIFO
 * nor a device can block the caller). Every component must be a real name: "..", an absolute path and a
 * symbolic link anywhere on the way are refused. Returns the descriptor, or -1 with *err set to a heap message
 * naming the component and the reason (errno is set too: ELOOP for a symbolic link, EXDEV for "..", or the
 * error of the open). Uses openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where the kernel has it and an
 * openat walk, one component at a time, where it does not. */
int beneath_open(int dirfd, const char *rel, int flags, char **err);

/* Tests: false makes beneath_open use the openat walk even where openat2 exists. */
void beneath_use_openat2(bool on);

#endif
