/* Red team 72's path-call interpreter (bench/fuzz72/fuzz72.py; not part of the CI suite).
 *
 *   ops72 SCRIPT [thread]
 *
 * "thread": the operations run in a second thread that has unshared its fs_struct
 * (CLONE_FS) and moved its cwd to "w": /proc/self/cwd is then the leader's (the tree),
 * /proc/thread-self/cwd and relative paths the thread's own; the leader waits in join.
 *
 * One operation a line, tab-separated; DIRFD "-" is AT_FDCWD, else a slot; slot S is fd 100+S.
 * Each operation prints "N OK [dev:ino] [extra]" or "N ERR ERRNO": the object it reached is
 * told by its device and inode number (the harness names them: the runs' trees differ).
 *   open DIRFD P FLAGS SLOT       openat2 DIRFD P FLAGS RESOLVE SLOT
 *   reopen SLOT FLAGS SLOT2       (open of /proc/self/fd/10S)
 *   read SLOT (content, escaped)  write SLOT      close SLOT
 *   stat DIRFD P ATFLAGS          readlink DIRFD P
 *   chdir P   fchdir SLOT         chroot P
 *   nsbind SRC DST [u]            (a bind mount in a new mount namespace, made once -- with "u"
 *                                 in a new user namespace too, root mapped to root)
 *   symlink TARGET DIRFD P        link DIRFD P DIRFD Q ATFLAGS
 *   rename DIRFD P DIRFD Q FLAGS  unlink DIRFD P ATFLAGS        mkdir DIRFD P
 *   handle DIRFD P FLAGS SLOT     (name_to_handle_at, then open_by_handle_at O_RDONLY)
 *   exec DIRFD P ATFLAGS          (a forked child execveat's P: its output, its status)
 *   trunc P                       (truncate to 0)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NF 8
static int fdof(const char *s) { return !strcmp(s, "-") ? AT_FDCWD : 100 + atoi(s); }

static void obj(int n, int fd) {
    struct stat st;
    if (fstat(fd, &st) == 0)
        printf("%d OK %lu:%lu\n", n, (unsigned long)st.st_dev, (unsigned long)st.st_ino);
    else
        printf("%d OK fstat-%d\n", n, errno);
}

static void place(int n, int fd, const char *slot) {
    if (fd < 0) { printf("%d ERR %d\n", n, errno); return; }
    int want = 100 + atoi(slot);
    if (fd != want) { dup2(fd, want); close(fd); }
    obj(n, want);
}

static void res(int n, long r) {
    if (r < 0) printf("%d ERR %d\n", n, errno); else printf("%d OK\n", n);
}

static void statres(int n, long r, struct stat *st) {
    if (r < 0) printf("%d ERR %d\n", n, errno);
    else printf("%d OK %lu:%lu\n", n, (unsigned long)st->st_dev, (unsigned long)st->st_ino);
}

static void *interpret(void *arg);

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 2 && !strcmp(argv[2], "thread")) {
        pthread_t t;
        if (pthread_create(&t, NULL, interpret, argv[1]) != 0) return 3;
        void *rv;
        pthread_join(t, &rv);
        return (int)(long)rv;
    }
    return (int)(long)interpret(argv[1]);
}

static void *interpret(void *arg) {
    const char *script = arg;
    FILE *f = fopen(script, "r");
    if (!f) return (void *)2L;
    if (pthread_self() && gettid() != getpid()) {
        if (unshare(CLONE_FS) < 0 || chdir("w") < 0) { printf("THREADSETUP %d\n", errno); }
    }
    char line[8192];
    int n = 0, nsdone = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *a[NF] = {0};
        int k = 0;
        for (char *p = line; p && k < NF; k++) { a[k] = strsep(&p, "\t"); }
        for (int i = k; i < NF; i++) a[i] = "";
        const char *op = a[0];
        errno = 0;
        struct stat st;
        if (!strcmp(op, "open")) {
            place(n, openat(fdof(a[1]), a[2], atoi(a[3]), 0644), a[4]);
        } else if (!strcmp(op, "openat2")) {
            struct open_how how = {.flags = (unsigned long long)atoi(a[3]),
                                   .mode = (atoi(a[3]) & (O_CREAT | O_TMPFILE)) ? 0644 : 0,
                                   .resolve = (unsigned long long)atoi(a[4])};
            place(n, (int)syscall(SYS_openat2, fdof(a[1]), a[2], &how, sizeof how), a[5]);
        } else if (!strcmp(op, "reopen")) {
            char p[64];
            snprintf(p, sizeof p, "/proc/self/fd/%d", fdof(a[1]));
            place(n, open(p, atoi(a[2]), 0644), a[3]);
        } else if (!strcmp(op, "read")) {
            char buf[96];
            ssize_t r = pread(fdof(a[1]), buf, sizeof buf - 1, 0);
            if (r < 0) { printf("%d ERR %d\n", n, errno); }
            else {
                printf("%d OK ", n);
                for (ssize_t i = 0; i < r; i++)
                    putchar(buf[i] >= 32 && buf[i] < 127 ? buf[i] : '.');
                putchar('\n');
            }
        } else if (!strcmp(op, "write")) {
            res(n, write(fdof(a[1]), "W72\n", 4));
        } else if (!strcmp(op, "close")) {
            res(n, close(fdof(a[1])));
        } else if (!strcmp(op, "stat")) {
            statres(n, fstatat(fdof(a[1]), a[2], &st, atoi(a[3])), &st);
        } else if (!strcmp(op, "readlink")) {
            char buf[4096];
            ssize_t r = readlinkat(fdof(a[1]), a[2], buf, sizeof buf - 1);
            if (r < 0) printf("%d ERR %d\n", n, errno);
            else { buf[r] = 0; printf("%d OK %s\n", n, buf); }
        } else if (!strcmp(op, "chdir")) {
            res(n, chdir(a[1]));
        } else if (!strcmp(op, "fchdir")) {
            res(n, fchdir(fdof(a[1])));
        } else if (!strcmp(op, "chroot")) {
            res(n, chroot(a[1]));
        } else if (!strcmp(op, "nsbind")) {
            long r = 0;
            if (!nsdone) {
                if (!strcmp(a[3], "u")) {
                    r = unshare(CLONE_NEWUSER | CLONE_NEWNS);
                    int fd;
                    if (r == 0 && (fd = open("/proc/self/setgroups", O_WRONLY)) >= 0) {
                        (void)!write(fd, "deny", 4); close(fd);
                    }
                    if (r == 0 && (fd = open("/proc/self/uid_map", O_WRONLY)) >= 0) {
                        if (write(fd, "0 0 1", 5) < 0) { r = -1; }
                        close(fd);
                    }
                    if (r == 0 && (fd = open("/proc/self/gid_map", O_WRONLY)) >= 0) {
                        if (write(fd, "0 0 1", 5) < 0) { r = -1; }
                        close(fd);
                    }
                } else {
                    r = unshare(CLONE_NEWNS);
                }
                if (r == 0) r = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
                nsdone = r == 0;
            }
            if (r == 0) r = mount(a[1], a[2], NULL, MS_BIND, NULL);
            res(n, r);
        } else if (!strcmp(op, "symlink")) {
            res(n, symlinkat(a[1], fdof(a[2]), a[3]));
        } else if (!strcmp(op, "link")) {
            res(n, linkat(fdof(a[1]), a[2], fdof(a[3]), a[4], atoi(a[5])));
        } else if (!strcmp(op, "rename")) {
            res(n, renameat2(fdof(a[1]), a[2], fdof(a[3]), a[4], (unsigned)atoi(a[5])));
        } else if (!strcmp(op, "unlink")) {
            res(n, unlinkat(fdof(a[1]), a[2], atoi(a[3])));
        } else if (!strcmp(op, "mkdir")) {
            res(n, mkdirat(fdof(a[1]), a[2], 0755));
        } else if (!strcmp(op, "trunc")) {
            res(n, truncate(a[1], 0));
        } else if (!strcmp(op, "handle")) {
            struct { struct file_handle h; unsigned char b[128]; } fh;
            fh.h.handle_bytes = 128;
            int mnt;
            if (name_to_handle_at(fdof(a[1]), a[2], &fh.h, &mnt, atoi(a[3])) < 0) {
                printf("%d ERR %d\n", n, errno);
            } else {
                int mfd = open("/", O_PATH);
                place(n, open_by_handle_at(mfd, &fh.h, O_RDONLY), a[4]);
                close(mfd);
            }
        } else if (!strcmp(op, "exec")) {
            int pfd[2];
            if (pipe(pfd) < 0) { printf("%d ERR %d\n", n, errno); n++; continue; }
            pid_t pid = fork();
            if (pid == 0) {
                dup2(pfd[1], 1);
                char *av[] = {"x", NULL}, *ev[] = {"PATH=/usr/bin:/bin", NULL};
                syscall(SYS_execveat, fdof(a[1]), a[2], av, ev, atoi(a[3]));
                printf("E%d", errno);
                fflush(stdout);
                _exit(126);
            }
            close(pfd[1]);
            char buf[96];
            ssize_t r, t = 0;
            while ((r = read(pfd[0], buf + t, sizeof buf - 1 - t)) > 0 && t < (ssize_t)sizeof buf - 1) t += r;
            buf[t] = 0;
            for (ssize_t i = 0; i < t; i++) if (buf[i] < 32 || buf[i] >= 127) buf[i] = '.';
            close(pfd[0]);
            int status = 0;
            waitpid(pid, &status, 0);
            printf("%d OK %s st=%d\n", n, buf, status);
        } else {
            printf("%d BADOP %s\n", n, op);
        }
        n++;
    }
    printf("DONE\n");
    return (void *)0L;
}
