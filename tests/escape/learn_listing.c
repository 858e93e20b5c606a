/* learn_listing.c: a program that lists a scratch directory of its own and reads what it put
 * there, learned, then run again under what was learned.
 *
 * While learning it makes NAME as mkdtemp(3) makes a directory (mode 0700), writes two files
 * into it, lists it and reads every entry, then removes it all: the learner widens the
 * directory's name into a "generated names" glob ("conf" and six letters and digits:
 * "conf*"), and the listing -- every entry read -- into "dir/[!.]*".  A path rule of the
 * generated name is learned fresh = true (it covers only what the run makes: gap #30); the
 * program chose the name, so its "prefix" may be that of an older directory it never
 * touched.  Run again under the learned policy (ATTACK=1) it does the same, then reads
 * TARGET, a file of such an older directory ("config/credentials").
 *
 * argv: NAME TARGET.  ESCAPED when TARGET was read; BLOCKED otherwise.
 */
#include "attack.h"

#include <dirent.h>

static void put(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, "scratch\n", 8) != 8 || close(fd) < 0)
        blocked("its scratch file %s: %s", path, ename(errno));
}

int main(int argc, char **argv) {
    if (argc != 3)
        blocked("usage: learn_listing NAME TARGET");
    if (mkdir(argv[1], 0700) < 0)
        blocked("its scratch directory %s: %s", argv[1], ename(errno));
    put(argv[1], "a");
    put(argv[1], "b");
    DIR *dir = opendir(argv[1]);
    if (!dir)
        blocked("list %s: %s", argv[1], ename(errno));
    char names[8][256];
    int n = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (e->d_name[0] == '.' || n == 8)
            continue;
        snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    }
    closedir(dir);
    for (int i = 0; i < n; i++) {
        char path[4096], buf[64];
        snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, buf, sizeof buf) < 0)
            blocked("read %s: %s", path, ename(errno));
        close(fd);
        if (unlink(path) < 0)
            note("unlink %s: %s", path, ename(errno));
    }
    if (rmdir(argv[1]) < 0)
        note("rmdir %s: %s", argv[1], ename(errno));
    const char *attack = getenv("ATTACK");
    if (!attack || strcmp(attack, "1"))
        blocked("probed %s (learning: %s left alone)", argv[1], argv[2]);
    int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        blocked("read %s: %s", argv[2], ename(errno));
    char buf[256];
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got < 0)
        blocked("read %s: %s", argv[2], ename(errno));
    buf[got] = 0;
    escaped("read %s, never read while learning: %s", argv[2], buf);
}
