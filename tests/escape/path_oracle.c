/* path_oracle.c: the tracer's credentials as an oracle (issue 11, red team 3).
 *
 * The tracer resolves a path itself, with its own credentials (root), and a lookup that fails
 * gets that lookup's errno before the kernel is asked.  A program run as another user
 * (`-c UID:GID`, as docs/security.md advises for untrusted programs) probing DIR/NAME/x in a
 * directory it may not search got ENOTDIR when NAME is a file there, EACCES when it is not:
 * the kernel, which walks with the program's credentials, says EACCES either way.
 *
 * And in a tree of several tasks a path is handed to the kernel by its canonical name: a
 * symlink inside such a directory was followed (by the tracer, as root) to its target.
 *
 *   path_oracle DIR EXISTING MISSING   stat DIR/EXISTING/x and DIR/MISSING/x; ESCAPED when
 *                                      the answers differ (the program told them apart)
 *   path_oracle link DIR/LINK          with a second thread alive, open DIR/LINK (a symlink to
 *                                      a file the program may read); ESCAPED when it opens
 */
#include "attack.h"

static void *idle(void *arg) {
    (void)arg;
    pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "link") == 0) {
        pthread_t thread;
        pthread_create(&thread, NULL, idle, NULL);
        int fd = open(argv[2], O_RDONLY);
        if (fd >= 0)
            escaped("opened %s", argv[2]);
        blocked("open %s: %s", argv[2], ename(errno));
    }
    if (argc != 4)
        usage("path_oracle DIR EXISTING MISSING | link DIR/LINK");
    char one[4096], two[4096];
    struct stat st;
    snprintf(one, sizeof one, "%s/%s/x", argv[1], argv[2]);
    snprintf(two, sizeof two, "%s/%s/x", argv[1], argv[3]);
    int e1 = stat(one, &st) == 0 ? 0 : errno;
    int e2 = stat(two, &st) == 0 ? 0 : errno;
    note("%s: %s, %s: %s", argv[2], ename(e1), argv[3], ename(e2));
    if (e1 != e2)
        escaped("told %s (%s) from %s (%s) in %s", argv[2], ename(e1), argv[3], ename(e2),
                argv[1]);
    blocked("both %s", ename(e1));
}
