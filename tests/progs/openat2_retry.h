/* openat2_retry.h: openat2(2) as a test program makes it, tried again on the kernel's EAGAIN
 * of a scoped lookup.
 *
 * A scoped lookup (RESOLVE_BENEATH, RESOLVE_IN_ROOT) that meets ".." fails EAGAIN when any
 * rename or mount ran anywhere on the machine during its walk; openat2(2) says to try again,
 * and a parallel test suite renames all the time.  (RESOLVE_CACHED's EAGAIN is for good.) */
#ifndef OPENAT2_RETRY_H
#define OPENAT2_RETRY_H

#include <errno.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

static long openat2_retrying(int dirfd, const char *path, struct open_how *how) {
    long ret;
    int tries = 0;
    do
        ret = syscall(SYS_openat2, dirfd, path, how, sizeof *how);
    while (ret < 0 && errno == EAGAIN && !(how->resolve & RESOLVE_CACHED) &&
           (how->resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)) && ++tries < 1000);
    return ret;
}

#endif
