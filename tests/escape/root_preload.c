/* root_preload.c: a library of the tree's own (red team 24), named by JAIL/etc/ld.so.preload
 * for root_views.c's "preload" attack: the system's loader, bound into the jail, reads that
 * file in the task's root and loads this first.  Its constructor reads secd/secret.txt from
 * the working directory (outside the jail) and says ESCAPED when it got the secret, with the
 * rights of the table of the program it was loaded into.  Built with -shared -fPIC. */
#include "attack.h"

__attribute__((constructor)) static void first(void) {
    int fd = open("secd/secret.txt", O_RDONLY | O_CLOEXEC);
    char buf[128] = {0};
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (n > 0 && strstr(buf, SECRET_MAGIC)) escaped("the tree's library read the secret");
    blocked("the tree's library could not read the secret: %s", fd < 0 ? ename(errno) : "-");
}
