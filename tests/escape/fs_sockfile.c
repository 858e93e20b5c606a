/* fs_sockfile.c: a file made in a protected directory by a call that is no file call (issue
 * 11, red team).
 *
 * bind() of a unix socket to a path makes a new file there -- what mknod(S_IFSOCK) makes, and
 * mknod is fswrite.  bind was a network call only (net-bind), which no fswrite rule looked
 * at: under `never fswrite DIR/**` a program could still add entries to DIR (occupying the
 * names a program there expects, filling it).
 *
 *   fs_sockfile DIR WORK
 *
 * Binds DIR/sock (absolute) and WORK/link/sock2, where WORK/link is a symlink to DIR (the
 * kernel follows it: only the last name is not followed).  ESCAPED when a socket file
 * appeared in DIR; the sockets are removed afterwards by the test.
 */
#include "attack.h"

#include <sys/socket.h>
#include <sys/un.h>

static const char *try_bind(const char *path, const char *dir, const char *name) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    int r = bind(s, (struct sockaddr *)&addr, sizeof addr);
    int err = errno;
    close(s);
    char made[4096];
    struct stat st;
    snprintf(made, sizeof made, "%s/%s", dir, name);
    if (lstat(made, &st) == 0 && S_ISSOCK(st.st_mode))
        escaped("bind(%s) made a socket file in the protected directory", path);
    return r == 0 ? "bound elsewhere" : ename(err);
}

int main(int argc, char **argv) {
    if (argc != 3)
        usage("fs_sockfile DIR WORK");
    const char *dir = argv[1], *work = argv[2];
    char path[4096], link[4096];
    snprintf(path, sizeof path, "%s/sock", dir);
    const char *first = try_bind(path, dir, "sock");
    snprintf(link, sizeof link, "%s/link", work);
    if (symlink(dir, link) < 0 && errno != EEXIST)
        blocked("cannot make %s: %s", link, ename(errno));
    snprintf(path, sizeof path, "%s/sock2", link);
    const char *second = try_bind(path, dir, "sock2");
    blocked("bind in the directory: %s; through a link to it: %s", first, second);
}
