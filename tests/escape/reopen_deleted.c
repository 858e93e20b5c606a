/* reopen_deleted.c SECRET: read a file the table refuses to read by name, through its own
 * descriptor reopened after the file is removed (review 30).  The secret is opened for
 * writing only (what a `never fsread SECRET` rule leaves), unlinked, and /proc/self/fd/N
 * opened for reading: /proc names the file "SECRET (deleted)", a name the rule does not
 * match.  ESCAPED when the secret was read; BLOCKED with the failing step's errno.
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc != 2)
        blocked("usage: %s SECRET", argv[0]);
    int fd = open(argv[1], O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        blocked("open %s O_WRONLY: %s", argv[1], ename(errno));
    if (unlink(argv[1]) < 0)
        blocked("unlink %s: %s", argv[1], ename(errno));
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    int again = open(link, O_RDONLY | O_CLOEXEC);
    if (again < 0)
        blocked("open %s (%s, removed): %s", link, argv[1], ename(errno));
    if (is_secret_fd(again))
        escaped("read the removed secret through %s", link);
    blocked("open %s: not the secret", link);
}
