/* Runs the path lookups listed in a file and prints what the kernel answered, one line per
 * case: "N OK DEV:INO" (the file reached) or "N ERR ERRNO".  The same list run natively and
 * under systrace must print the same lines (tests/engine/test_resolve_parity.py).
 *
 * Each line of the file is tab-separated:  OP  DIRFD  PATH  RESOLVE  FLAGS
 *   OP      openat2 | statfs | stat | lstat | open
 *   DIRFD   "-" for AT_FDCWD, else a path opened O_PATH (its descriptor is the dirfd)
 *   RESOLVE openat2's resolve flags (decimal), FLAGS its open flags (decimal; O_PATH added
 *           when none of O_RDONLY/O_WRONLY/O_RDWR access is asked: "0" opens O_PATH)
 *
 *   lookups CASES [thread]
 *
 * "thread": the cases run in a second thread, which shares the process's cwd and
 * descriptors (the tracer then holds its calls to spellings no other task can redirect).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "openat2_retry.h"

/* A file of /proc is told by its name, the program's own pid and tid spelled SELF: the
 * native and the traced run are other processes, whose /proc entries are other inodes. */
static int proc_name(int n, int fd) {
    struct statfs sfs;
    char link[64], text[4096], own[64];
    if (fstatfs(fd, &sfs) != 0 || sfs.f_type != PROC_SUPER_MAGIC)
        return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, text, sizeof text - 1);
    if (len < 0)
        return 0;
    text[len] = 0;
    snprintf(own, sizeof own, "/proc/%d", (int)getpid());
    size_t at = strlen(own);
    if (strncmp(text, own, at) == 0 && (text[at] == 0 || text[at] == '/')) {
        const char *rest = text + at;
        char task[64];
        snprintf(task, sizeof task, "/task/%d", (int)gettid());
        if (strncmp(rest, task, strlen(task)) == 0)
            printf("%d OK proc:/proc/SELF/task/SELF%s\n", n, rest + strlen(task));
        else
            printf("%d OK proc:/proc/SELF%s\n", n, rest);
    } else {
        printf("%d OK proc:%s\n", n, text);
    }
    return 1;
}

static void report(int n, int fd_or_ret, int err, int fd) {
    struct stat st;
    if (fd_or_ret < 0) {
        printf("%d ERR %d\n", n, err);
    } else if (fd >= 0 && proc_name(n, fd)) {
        return;
    } else if (fd >= 0 && fstat(fd, &st) == 0) {
        printf("%d OK %lu:%lu\n", n, (unsigned long)st.st_dev, (unsigned long)st.st_ino);
    } else {
        printf("%d OK\n", n);
    }
}

static int run_cases(const char *file);

static void *in_thread(void *file) {
    return (void *)(long)run_cases(file);
}

int main(int argc, char **argv) {
    if (argc != 2 && !(argc == 3 && strcmp(argv[2], "thread") == 0)) {
        fprintf(stderr, "usage: lookups CASES [thread]\n");
        return 2;
    }
    if (argc == 2)
        return run_cases(argv[1]);
    pthread_t thread;
    void *status;
    if (pthread_create(&thread, NULL, in_thread, argv[1]) != 0 || pthread_join(thread, &status))
        return 2;
    return (int)(long)status;
}

static int run_cases(const char *file) {
    FILE *in = fopen(file, "r");
    if (!in) {
        perror(file);
        return 2;
    }
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, in)) {
        line[strcspn(line, "\n")] = 0;
        char *op = strtok(line, "\t"), *dir = strtok(NULL, "\t"), *path = strtok(NULL, "\t");
        char *res = strtok(NULL, "\t"), *fl = strtok(NULL, "\t");
        if (!op || !dir || !path || !res || !fl) {
            fprintf(stderr, "bad line %d\n", n);
            return 2;
        }
        n++;
        int dirfd = AT_FDCWD;
        if (strcmp(dir, "-") != 0) {
            dirfd = open(dir, O_PATH | O_CLOEXEC);
            if (dirfd < 0) {
                printf("%d DIRFD %d\n", n, errno);
                continue;
            }
        }
        int flags = atoi(fl);
        int ret, fd = -1;
        errno = 0;
        if (strcmp(op, "openat2") == 0) {
            struct open_how how = {.flags = (unsigned)(flags ? flags : O_PATH) | O_CLOEXEC,
                                   .resolve = strtoull(res, NULL, 10)};
            ret = fd = (int)openat2_retrying(dirfd, path, &how);
        } else if (strcmp(op, "open") == 0) {
            ret = fd = openat(dirfd, path, (flags ? flags : O_PATH) | O_CLOEXEC);
        } else if (strcmp(op, "statfs") == 0) {
            struct statfs sfs;
            ret = statfs(path, &sfs);
        } else if (strcmp(op, "stat") == 0 || strcmp(op, "lstat") == 0) {
            struct stat st;
            ret = fstatat(dirfd, path, &st, op[0] == 'l' ? AT_SYMLINK_NOFOLLOW : 0);
            if (ret == 0) {
                printf("%d OK %lu:%lu\n", n, (unsigned long)st.st_dev, (unsigned long)st.st_ino);
                if (dirfd >= 0)
                    close(dirfd);
                continue;
            }
        } else {
            fprintf(stderr, "unknown op %s\n", op);
            return 2;
        }
        report(n, ret, errno, fd);
        if (fd >= 0)
            close(fd);
        if (dirfd >= 0)
            close(dirfd);
    }
    fflush(stdout);
    return 0;
}
