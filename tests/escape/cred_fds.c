/* cred_fds.c: a program run as another user (systrace -c UID:GID) reads what its starter had
 * open.
 *
 * Descriptors are inherited through fork and exec and survive setuid: a descriptor is an
 * access already granted, to whoever holds it.  Whatever the starter of systrace left open
 * beyond stdin, stdout and stderr -- a root shell script's `exec 3</etc/shadow`, a service
 * manager's or an editor's leaked descriptors, a pipe to a root process -- a program dropped
 * to nobody reads as root read it, though nobody may not open the file.  (sudo closes every
 * descriptor above 2 for this reason, unless told not to.)
 *
 *   cred_fds    read every open descriptor above 2: ESCAPED when one holds the secret.
 */
#include "attack.h"

#include <dirent.h>

int main(void) {
    printf("note: uid %d euid %d\n", (int)getuid(), (int)geteuid());
    int open_fds = 0;
    for (int fd = 3; fd < 1024; fd++) {
        if (fcntl(fd, F_GETFD) < 0)
            continue;
        open_fds++;
        char buf[512] = {0};
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        if (n > 0 && strstr(buf, SECRET_MAGIC))
            escaped("descriptor %d: %s", fd, buf);
    }
    blocked("%d descriptors above 2, none the secret", open_fds);
}
