/* learn_stash.c: a learning run that moves the user's directory aside and back.
 *
 * A rename of a directory moves everything inside it, so the next run's move is decided over
 * its tree (issue 11: the files gain no access by their new name), and the learner grants the
 * old name what the new name's rules grant below it (learn._linked_grants) -- by the pattern
 * of the rule that lets it be moved, and for a tree by that pattern's whole tree.  This
 * program, learning, renames the user's DIR to DIR.stash, writes and reads one file of its own
 * there (its only reads below either name), removes it and renames DIR.stash back: the run
 * read nothing of the user's.  The learned table granted reading and writing all below DIR -- the
 * secret below it, which the run never read.
 *
 *   learn_stash DIR            (no ATTACK): the moves; BLOCKED: moved and back
 *   ATTACK=1 learn_stash DIR   : read DIR/secret.txt; ESCAPED when it holds the secret
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc != 2)
        usage("learn_stash DIR");
    const char *dir = argv[1];
    char path[4096], stash[4096], own[4096];
    if (getenv("ATTACK")) {
        snprintf(path, sizeof path, "%s/secret.txt", dir);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            blocked("open %s: %s", path, ename(errno));
        if (is_secret_fd(fd))
            escaped("read %s, which the learning run never read", path);
        blocked("%s holds no secret", path);
    }
    snprintf(stash, sizeof stash, "%s.stash", dir);
    snprintf(own, sizeof own, "%s/own.txt", stash);
    if (rename(dir, stash) < 0)
        blocked("rename %s: %s", dir, ename(errno));
    int fd = open(own, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "mine\n", 5) != 5)
        blocked("write %s: %s", own, ename(errno));
    close(fd);
    char buf[16];
    fd = open(own, O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf) < 0)
        blocked("read %s: %s", own, ename(errno));
    close(fd);
    if (unlink(own) < 0)
        blocked("unlink %s: %s", own, ename(errno));
    if (rename(stash, dir) < 0)
        blocked("rename %s back: %s", stash, ename(errno));
    blocked("moved %s aside and back, read only a file of its own", dir);
}
