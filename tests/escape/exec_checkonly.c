/* exec_checkonly.c: an exec that only checks (red team 27).
 *
 * execveat(..., AT_EXECVE_CHECK) (Linux 6.14) does all of an exec's checks -- the file,
 * its permissions, an LSM's say -- and returns 0 without running it: the caller goes on in
 * its own image.  A tracer that took a permitted exec of a program with a table of its own
 * for the switch would give the caller that table.
 *
 *   exec_checkonly PROGRAM SECRET   check an exec of PROGRAM (whose table permits reading
 *                                   SECRET), then read SECRET itself
 *
 * Natively the check returns 0 and the read succeeds (the control; SKIPPED where the kernel
 * has no AT_EXECVE_CHECK: EINVAL).
 */
#include "attack.h"

#ifndef AT_EXECVE_CHECK
#define AT_EXECVE_CHECK 0x10000
#endif

extern char **environ;

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: exec_checkonly PROGRAM SECRET\n");
        return 2;
    }
    char *args[] = {argv[1], NULL};
    if (syscall(SYS_execveat, AT_FDCWD, argv[1], args, environ, AT_EXECVE_CHECK) != 0) {
        if (errno == EINVAL) skipped("no AT_EXECVE_CHECK (Linux < 6.14)");
        blocked("the exec check of %s: %s", argv[1], ename(errno));
    }
    note("the exec check of %s returned 0; still %s", argv[1], argv[0]);
    char buf[256] = {0};
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) blocked("open of the secret after the check: %s", ename(errno));
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n > 0 && strstr(buf, SECRET_MAGIC)) escaped("read the secret with the checked program's table");
    blocked("read %zd bytes, not the secret", n);
}
