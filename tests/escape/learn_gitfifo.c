/* learn_gitfifo.c: a FIFO where systrace reads a repository's git config.
 *
 * A write that a learned glob grants is checked against the names git runs later -- hooks,
 * also in a core.hooksPath the repository's config names -- so systrace reads the config
 * of the repository above the path (the nearest directory with a .git).  A FIFO there held
 * systrace in open() for ever: at the end of a learning run (no policy written), and in an
 * enforcing run, where anyone who may make a .git in a directory above (another user in
 * /tmp) hung every traced program writing a temporary file below it.
 *
 *   learn_gitfifo plant   make .git/config a FIFO here, then a temporary file (mkstemp)
 *   learn_gitfifo         only the temporary file (made and removed)
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "plant")) {
        if (mkdir(".git", 0755) < 0 && errno != EEXIST)
            blocked("mkdir .git: %s", ename(errno));
        if (mkfifo(".git/config", 0644) < 0 && errno != EEXIST)
            blocked("mkfifo .git/config: %s", ename(errno));
    }
    char name[] = "tmp.XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0)
        blocked("mkstemp: %s", ename(errno));
    if (write(fd, "x\n", 2) != 2)
        blocked("write %s: %s", name, ename(errno));
    close(fd);
    unlink(name);
    blocked("made and removed a temporary file");
}
