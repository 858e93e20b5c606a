/* learn_roundtrip.c: a learning run that reads one file of a tree and moves the tree aside
 * and back.
 *
 * Red team 81 left the learner granting an older directory moved over its whole tree the
 * accesses the run used on older files below either of its names (learn._older_uses): one
 * read is enough.  The engine compares a directory's move by shapes, not by place
 * (Table._linked_decision), so the exact rule of that one file becomes DIR.old/(all) after the
 * move back, and DIR/(all) after the move aside, in the next pass of learn._linked_grants.  This
 * program, learning, reads DIR/data/a.txt (a file the user would grant it) and renames DIR to
 * DIR.old and back: it reads nothing else.  The learned table grants reading all below DIR --
 * DIR/secret/secret.txt, which the run never read, nor listed, nor named.
 *
 *   learn_roundtrip DIR            (no ATTACK): the read and the moves; BLOCKED: moved and back
 *   learn_roundtrip DIR listed     : every file of DIR/data read, found by listing it (a glob)
 *   ATTACK=1 learn_roundtrip DIR   : read DIR/secret/secret.txt; ESCAPED when it holds the secret
 */
#include "attack.h"
#include <dirent.h>

/* Read every file of DIR/data, found by listing it: the learner generalizes the reads to a
 * glob of DIR/data (every entry seen), not one exact rule. */
static void read_listed(const char *dir) {
    char data[4096], path[8192], buf[64];
    snprintf(data, sizeof data, "%s/data", dir);
    DIR *listing = opendir(data);
    if (!listing)
        blocked("opendir %s: %s", data, ename(errno));
    struct dirent *entry;
    while ((entry = readdir(listing)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", data, entry->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0 || read(fd, buf, sizeof buf) < 0)
            blocked("read %s: %s", path, ename(errno));
        close(fd);
    }
    closedir(listing);
}

int main(int argc, char **argv) {
    if (argc != 2 && !(argc == 3 && strcmp(argv[2], "listed") == 0))
        usage("learn_roundtrip DIR [listed]");
    const char *dir = argv[1];
    char path[4096], old[4096], buf[64];
    if (getenv("ATTACK")) {
        snprintf(path, sizeof path, "%s/secret/secret.txt", dir);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            blocked("open %s: %s", path, ename(errno));
        if (is_secret_fd(fd))
            escaped("read %s, which the learning run never read", path);
        blocked("%s holds no secret", path);
    }
    snprintf(path, sizeof path, "%s/data/a.txt", dir);
    if (argc == 3) {
        read_listed(dir);
    } else {
        int fd = open(path, O_RDONLY);
        if (fd < 0 || read(fd, buf, sizeof buf) < 0)
            blocked("read %s: %s", path, ename(errno));
        close(fd);
    }
    snprintf(old, sizeof old, "%s.old", dir);
    if (rename(dir, old) < 0)
        blocked("rename %s: %s", dir, ename(errno));
    if (rename(old, dir) < 0)
        blocked("rename %s back: %s", old, ename(errno));
    blocked("read %s, moved %s aside and back", path, dir);
}
