/* path_deep: work in a directory whose absolute name is longer than PATH_MAX (4096), which
 * /proc cannot say (readlink of /proc/PID/cwd fails with ENAMETOOLONG) and no absolute path
 * can reach -- but relative paths from it, or from a descriptor of it, work.
 *
 *   path_deep MODE SECRET WORK [TOP NAME DEPTH]
 *
 * The tree is TOP/NAME/NAME/... (DEPTH levels), made and entered one level at a time with
 * mkdir and chdir (each a short relative path).
 * MODE: secret_up   the tree under WORK (TOP = WORK), then from its bottom the secret by a
 *                   relative path climbing out of it: "../"x(DEPTH+1) + "<secd>/<secret>"
 *       secret_in   the tree the test made under TOP (its bottom holds a file secret.txt, the
 *                   one the policy names, by its long path): chdir down, then "secret.txt",
 *                   "./secret.txt", openat(fd of the bottom, "secret.txt"),
 *                   "/proc/self/cwd/secret.txt"
 *       ops         the tree under WORK; at each of the last levels (from a cwd just below
 *                   PATH_MAX, where a name pushes the absolute path over it, to far above):
 *                   create, write, stat, mkdir, rename, link, symlink, readlink, unlink,
 *                   rmdir, chdir, openat from a dirfd, a missing directory on the way; each
 *                   printed as "L<level> <op> -> OK|<errno>" for the tests to compare with
 *                   the native run
 * With $ESC_THREAD set a second thread is alive meanwhile.
 * Issue 11 classes 2 and 7 (a start directory /proc cannot name; long paths).
 */
#include "attack.h"

#include <libgen.h>

static void down(const char *name, int depth, int make) {
    for (int i = 0; i < depth; i++) {
        if (make && mkdir(name, 0755) < 0)
            blocked("mkdir level %d: %s", i, ename(errno));
        if (chdir(name) < 0)
            blocked("chdir level %d: %s", i, ename(errno));
    }
}

static void say(int level, const char *op, int rc) {
    printf("L%d %s -> %s\n", level, op, rc < 0 ? ename(errno) : "OK");
}

/* One round of ordinary work in the cwd, with names long enough to push a cwd just below
 * PATH_MAX over it. */
static void ops(int level) {
    char f[160], g[160], d[160], s[160], fx[170], buf[64];
    memset(f, 'f', 150), f[150] = 0;
    memset(g, 'g', 150), g[150] = 0;
    memset(d, 'd', 150), d[150] = 0;
    memset(s, 's', 150), s[150] = 0;
    snprintf(fx, sizeof fx, "%s/x", f);
    int fd = open(f, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    say(level, "open(O_CREAT)", fd);
    if (fd >= 0) {
        say(level, "write", write(fd, "data", 4) == 4 ? 0 : -1);
        close(fd);
    }
    struct stat st;
    say(level, "stat", stat(f, &st));
    say(level, "mkdir", mkdir(d, 0755));
    say(level, "rename", rename(f, g));
    say(level, "link", link(g, f));
    say(level, "symlink", symlink(g, s));
    ssize_t n = readlink(s, buf, sizeof buf);
    say(level, "readlink", n < 0 ? -1 : 0);
    fd = open(s, O_RDONLY);  /* through the symlink just made */
    say(level, "open(link)", fd);
    if (fd >= 0)
        close(fd);
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    say(level, "open(.)", dfd);
    fd = openat(dfd, g, O_RDONLY);
    say(level, "openat(dirfd)", fd);
    if (fd >= 0)
        close(fd);
    say(level, "fstatat(dirfd)", fstatat(dfd, d, &st, 0));
    say(level, "chdir+back", chdir(d) == 0 ? chdir("..") : -1);
    say(level, "stat(missing/x)", stat("missing/x", &st));
    say(level, "open(file/x)", open(fx, O_RDONLY));
    say(level, "unlink(link)", unlink(s));
    say(level, "unlink", unlink(f));
    say(level, "unlinkat(dirfd)", unlinkat(dfd, g, 0));
    say(level, "rmdir", rmdir(d));
    if (dfd >= 0)
        close(dfd);
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("path_deep MODE SECRET WORK [TOP NAME DEPTH]");
    const char *mode = argv[1], *secret = argv[2], *work = argv[3];
    char name[256], tmp[4096], secd[256], base[256];
    memset(name, 'n', 200), name[200] = 0;
    const char *top = argc > 4 ? argv[4] : work;
    const char *component = argc > 5 ? argv[5] : name;
    int depth = argc > 6 ? atoi(argv[6]) : 24;
    idle_thread_if_asked();
    if (chdir(top) < 0)
        blocked("chdir TOP: %s", ename(errno));
    if (!strcmp(mode, "secret_up")) {
        down(component, depth, 1);
        snprintf(tmp, sizeof tmp, "%s", secret);
        snprintf(base, sizeof base, "%s", basename(tmp));
        snprintf(tmp, sizeof tmp, "%s", secret);
        snprintf(secd, sizeof secd, "%s", basename(dirname(tmp)));
        char rel[4096] = "";
        for (int i = 0; i <= depth; i++)
            strcat(rel, "../");
        snprintf(tmp, sizeof tmp, "%s%s/%s", rel, secd, base);
        try_open("../ x DEPTH+1, then the secret, from a cwd deeper than PATH_MAX", tmp);
        int dfd = open(".", O_PATH | O_DIRECTORY);
        try_open_at(dfd, "the same from a dirfd deeper than PATH_MAX", tmp, O_RDONLY);
    } else if (!strcmp(mode, "secret_in")) {
        down(component, depth, 0);
        try_open("secret.txt in a cwd deeper than PATH_MAX", "secret.txt");
        try_open("./secret.txt", "./secret.txt");
        int dfd = open(".", O_PATH | O_DIRECTORY);
        try_open_at(dfd, "openat(fd of the deep directory, secret.txt)", "secret.txt", O_RDONLY);
        try_open("/proc/self/cwd/secret.txt", "/proc/self/cwd/secret.txt");
    } else if (!strcmp(mode, "ops")) {
        for (int level = 1; level <= depth; level++) {
            down(component, 1, 1);
            if (level >= depth - 6)
                ops(level);
        }
        blocked("done");
    } else {
        usage("MODE: secret_up secret_in ops");
    }
    tally_done();
}
