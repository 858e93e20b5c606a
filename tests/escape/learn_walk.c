/* learn_walk.c: a tree walker (grep -r, a linter, a backup tool) learned in one directory
 * and run again in another.
 *
 * It lists "." and reads every file below it.  Learned in a project directory, the walk is
 * generalized into one rule, fsread $CWD/** -- and $CWD is the directory of the run that
 * uses the policy, not of the one that learned it.  Run again from the home directory, it
 * reads ~/.ssh/id_rsa, a location learning says is never widened into.
 *
 * ESCAPED when a file read holds the secret; BLOCKED otherwise (with the number of files
 * read and the refusals met).
 */
#include "attack.h"

#include <dirent.h>

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

int main(void) {
    walk(".");
    blocked("read %d files, %d refused (last: %s)", files, refused,
            refused ? ename(last_errno) : "-");
}
