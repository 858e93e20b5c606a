/* kmsg_syslog.c: the kernel's log, read by syslog(2) -- SYSLOG_ACTION_READ_ALL, what dmesg(1)
 * calls -- instead of a read of /dev/kmsg (or /proc/kmsg): the same ring's text by a call that
 * names no path.  A rule refusing reads of /dev/kmsg does not see it.  (Red team 89.)
 *
 *   kmsg_syslog MARKER     ESCAPED when the log read holds MARKER (written to /dev/kmsg by
 *                          the test before the run)
 *
 * Unprivileged where kernel.dmesg_restrict is 0 (many distributions' default), else with
 * CAP_SYSLOG. */
#include "attack.h"

#define SYSLOG_ACTION_READ_ALL_ 3
#define SYSLOG_ACTION_SIZE_BUFFER_ 10

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MARKER\n", argv[0]);
        return 2;
    }
    long size = syscall(SYS_syslog, SYSLOG_ACTION_SIZE_BUFFER_, NULL, 0);
    if (size <= 0) size = 1 << 20;
    char *buf = malloc((size_t)size + 1);
    if (!buf) return 2;
    long n = syscall(SYS_syslog, SYSLOG_ACTION_READ_ALL_, buf, size);
    if (n < 0) {
        printf("BLOCKED: syslog(READ_ALL): %s\n", strerror(errno));
        return 0;
    }
    buf[n] = 0;
    if (strstr(buf, argv[1])) {
        printf("ESCAPED: syslog read the kernel log (%ld bytes) holding %s\n", n, argv[1]);
        return 0;
    }
    printf("BLOCKED: the log read (%ld bytes) lacks the marker\n", n);
    return 0;
}
