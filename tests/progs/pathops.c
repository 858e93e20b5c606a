/* A file-operation interpreter for the differential path fuzzer
 * (tests/engine/test_differential_paths.py): runs the operations listed in a script and prints
 * one line per operation, "N OK [WHAT]" or "N ERR ERRNO", so the same script run natively and
 * under systrace can be compared line by line.
 *
 *   pathops SCRIPT [MODE [SECRET]]
 *
 * MODE "plain" (one task), "thread" (the operations run in a second thread, which shares the
 * process's cwd and descriptors), "child" (a forked child that shares nothing sits waiting
 * while the parent runs them: a tree of two tasks), or "probe" (the oracle, native only):
 * before each operation the probe asks the kernel whether any of its lookups reaches the
 * directory SECRET or anything in it -- the file it resolves to is SECRET or below it, or
 * the lookup changes when SECRET may not be searched (it walked through SECRET: "sec/..",
 * a symlink into it, a missing name in it), or a name it moves or removes holds SECRET --
 * and if so prints "N SKIP" and does not run it.  The traced run must fail exactly those.
 *
 * Each line of the script is tab-separated, OP then its fields; DIRFD is "-" (AT_FDCWD) or
 * a slot number; a slot S is descriptor 100+S (so "/proc/self/fd/10S" names it); numbers
 * are decimal (open flags, resolve flags, AT_ flags, modes as the kernel takes them):
 *   open P FLAGS SLOT           creat P SLOT              openat DIRFD P FLAGS SLOT
 *   openat2 DIRFD P FLAGS RESOLVE SLOT                    close SLOT
 *   stat P   lstat P   fstatat DIRFD P ATFLAGS            statx DIRFD P ATFLAGS
 *   readlink P   readlinkat DIRFD P                       getcwd
 *   mkdir P   mkdirat DIRFD P   symlink TARGET P   symlinkat TARGET DIRFD P
 *   chdir P   fchdir SLOT       rename P Q   renameat2 DIRFD P DIRFD Q FLAGS
 *   link P Q   linkat DIRFD P DIRFD Q ATFLAGS
 *   unlink P   rmdir P   unlinkat DIRFD P ATFLAGS
 *   access P MODE   faccessat2 DIRFD P MODE ATFLAGS   chmod P MODE   fchmodat DIRFD P MODE
 *   truncate P LEN   execve P   read SLOT   write SLOT   statfs P
 *   utimensat DIRFD P ATFLAGS   fchownat DIRFD P ATFLAGS (to -1, -1)
 *   mknodat DIRFD P (a regular file: a FIFO would block a later open or creat of it, natively
 *   as traced, and hang the run -- the name's lookup is the same whatever the node is)
 *   getxattr P   lgetxattr P   listxattr P   llistxattr P   setxattr P   lsetxattr P
 *   removexattr P  (of "user.t")   getxattrat DIRFD P ATFLAGS   setxattrat DIRFD P ATFLAGS
 *   execveat DIRFD P ATFLAGS   inotify P MASK (on one inotify descriptor)
 *   inotifyat SLOT P MASK      (the slot's descriptor as the inotify instance)
 *   sendfd SLOT (the slot's descriptor sent over a unix socket, received into the slot)
 *   ioctl SLOT REQUEST (its third argument a zeroed buffer: "OK" and its first int)
 *   sys NR (system call NR with no arguments but zeros: a call decided by its name alone)
 * An opened file is told by its type and the name /proc/self/fd gives it (this process's
 * /proc entries spelled /proc/SELF, an O_TMPFILE's inode number dropped): the runs use
 * fresh trees at the same place, whose inode numbers differ.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "openat2_retry.h"

#define SLOT_BASE 100
#define SECRET_FD 200
#define MAX_FIELDS 8

static int probing;
static const char *script_path;

/* This process's /proc names as /proc/SELF (the runs are other processes), an O_TMPFILE's
 * "#INODE" as "#". */
static void normalise(const char *in, char *out, size_t size) {
    char pid[32], tid[32];
    snprintf(pid, sizeof pid, "/proc/%d", (int)getpid());
    snprintf(tid, sizeof tid, "/task/%d", (int)gettid());
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 16 < size;) {
        size_t lp = strlen(pid), lt = strlen(tid);
        if (strncmp(in + i, pid, lp) == 0 && (in[i + lp] == 0 || in[i + lp] == '/')) {
            o += (size_t)snprintf(out + o, size - o, "/proc/SELF");
            i += lp;
        } else if (strncmp(in + i, tid, lt) == 0 && (in[i + lt] == 0 || in[i + lt] == '/')) {
            o += (size_t)snprintf(out + o, size - o, "/task/SELF");
            i += lt;
        } else if (in[i] == '/' && in[i + 1] == '#' && isdigit((unsigned char)in[i + 2])) {
            out[o++] = '/';
            out[o++] = '#';
            i += 2;
            while (isdigit((unsigned char)in[i]))
                i++;
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = 0;
}

static char type_of(mode_t mode) {
    return S_ISREG(mode) ? 'f' : S_ISDIR(mode) ? 'd' : S_ISLNK(mode) ? 'l' : 'o';
}

static void say_fd(int n, int fd) {
    char link[64], text[4096], norm[4200];
    struct stat st;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, text, sizeof text - 1);
    text[len < 0 ? 0 : len] = 0;
    normalise(text, norm, sizeof norm);
    int flags = fcntl(fd, F_GETFL);
    if (fstat(fd, &st) != 0)
        printf("%d OK ? %s\n", n, norm);
    else
        printf("%d OK %c %o acc=%d %s\n", n, type_of(st.st_mode), st.st_mode & 07777,
               flags < 0 ? -1 : flags & (O_ACCMODE | O_PATH), norm);
}

static void say_stat(int n, int ret, const struct stat *st) {
    if (ret < 0)
        printf("%d ERR %d\n", n, errno);
    else
        printf("%d OK %c %o size=%lld nlink=%lu\n", n, type_of(st->st_mode), st->st_mode & 07777,
               (long long)(S_ISDIR(st->st_mode) ? 0 : st->st_size),
               (unsigned long)(S_ISDIR(st->st_mode) ? 0 : st->st_nlink));
}

static void say(int n, long ret) {
    if (ret < 0)
        printf("%d ERR %d\n", n, errno);
    else
        printf("%d OK\n", n);
}

static int dirfd_of(const char *field) {
    return strcmp(field, "-") == 0 ? AT_FDCWD : SLOT_BASE + atoi(field);
}

static void keep(int n, int fd, int slot) {
    if (fd < 0) {
        printf("%d ERR %d\n", n, errno);
        return;
    }
    int target = SLOT_BASE + slot;
    if (fd != target) {
        dup2(fd, target);
        close(fd);
    }
    say_fd(n, target);
}

/* --- the probe (native runs only) ------------------------------------------------------ */

static int secret_name(char *out, size_t size) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", SECRET_FD);
    ssize_t len = readlink(link, out, size - 1);
    if (len < 0)
        return -1;
    out[len] = 0;
    return 0;
}

struct lookup {
    int dirfd;
    const char *path;   /* (a last name's: without its trailing slashes) */
    int follow;    /* the last name's symlink is followed */
    int moves;     /* the name is moved or removed: SECRET must not be below it */
    long resolve;  /* openat2's RESOLVE_ flags, -1: a plain openat */
};

static int probe_open(const struct lookup *l) {
    int flags = O_PATH | O_CLOEXEC | (l->follow ? 0 : O_NOFOLLOW);
    if (l->resolve >= 0) {
        struct open_how how = {.flags = (unsigned long long)flags,
                               .resolve = (unsigned long long)l->resolve};
        return (int)openat2_retrying(l->dirfd, l->path, &how);
    }
    return openat(l->dirfd, l->path, flags);
}

/* Whether the lookup reaches the secret: see the head comment. */
static int reaches_secret(const struct lookup *l) {
    char sec[4096], link[64], text[4096];
    if (secret_name(sec, sizeof sec) != 0)
        return 1;
    size_t ls = strlen(sec);
    int fd = probe_open(l);
    int first_errno = errno;
    if (fd >= 0) {
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t len = readlink(link, text, sizeof text - 1);
        close(fd);
        if (len < 0)
            return 1;
        text[len] = 0;
        size_t lt = strlen(text);
        if (strncmp(text, sec, ls) == 0 && (text[ls] == 0 || text[ls] == '/'))
            return 1;
        if (l->moves && strncmp(sec, text, lt) == 0 && (sec[lt] == '/' || lt == 1))
            return 1;
    }
    if (fchmod(SECRET_FD, 0) != 0)
        return 1;
    int again = probe_open(l);
    int second_errno = errno;
    if (again >= 0)
        close(again);
    if (fchmod(SECRET_FD, 0755) != 0) {
        perror("pathops: fchmod");
        exit(3);
    }
    return (fd >= 0) != (again >= 0) || (fd < 0 && first_errno != second_errno);
}

/* --- the operations ------------------------------------------------------------------ */

static int creates_dir(const char *path, int flags) {
    size_t len = strlen(path);
    if (!(flags & O_CREAT) || (flags & O_PATH) || len < 2 || path[len - 1] != '/')
        return 0;
    while (len > 0 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    size_t name = len - start;
    return len > 0 && !(name == 1 && path[start] == '.') &&
           !(name == 2 && path[start] == '.' && path[start + 1] == '.');
}

/* An open that creates its last name and follows it (O_CREAT without O_EXCL, O_NOFOLLOW,
 * O_PATH; not openat2's restricted lookups): the kernel follows a link there, and a link's
 * text that ends in "/" ends the lookup at that text's last name, which it does not look up
 * (open_last_lookups: EISDIR).  Looking the path up whole would walk past it; the lookups it
 * makes are instead the way to each link of the chain (its last name not followed) and, for
 * a text that ends in "/", that text as far as its parent and that name (as a call on the
 * last name itself is probed), each from the link's own directory -- opened into dirs
 * (closed by the caller); the chain's end, not a link, is looked up whole.  Returns how many
 * lookups it wrote (0: the plain lookup will do). */
#define CHAIN_LOOKS (40 + 2)
static char chain_text[CHAIN_LOOKS][4096];

static int creating_chain(int dirfd, const char *path, struct lookup *out, int *dirs,
                          int *ndirs) {
    int n = 0, cur = dirfd;
    const char *way = path;
    for (int hop = 0; hop <= 40 && n + 2 <= CHAIN_LOOKS; hop++) {
        int fd = openat(cur, way, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISLNK(st.st_mode)) {
            if (fd >= 0)
                close(fd);
            break;
        }
        out[n++] = (struct lookup){cur, way, 0, 0, -1};
        char link[64], name[4096];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t len = readlink(link, name, sizeof name - 1);
        char *text = chain_text[n];
        ssize_t tlen = readlinkat(fd, "", text, sizeof chain_text[n] - 1);
        close(fd);
        if (len <= 0 || tlen <= 0)
            return 0;
        name[len] = 0;
        text[tlen] = 0;
        char *cut = strrchr(name, '/');
        if (cut == NULL)
            return 0;
        if (cut == name)
            cut++;
        *cut = 0;
        int dir = open(name, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
            return 0;
        dirs[(*ndirs)++] = dir;
        cur = dir;
        way = text;
        if (text[tlen - 1] == '/' && creates_dir(text, O_CREAT)) {
            while (tlen > 1 && text[tlen - 1] == '/')
                text[--tlen] = 0;
            out[n++] = (struct lookup){cur, way, 0, 0, -1};
            return n;
        }
    }
    out[n++] = (struct lookup){cur, way, 1, 0, -1};
    return n;
}

static int run_line(int n, char **f, int nf) {
    const char *op = f[0];
    struct stat st;
    struct lookup looks[2 + CHAIN_LOOKS];
    int nlooks = 0;
    int dirs[CHAIN_LOOKS], ndirs = 0;  /* (creating_chain's) */
#define NEED(k)                                                                   \
    do {                                                                          \
        if (nf < (k) + 1) {                                                       \
            fprintf(stderr, "pathops: line %d: %s needs %d fields\n", n, op, k);  \
            return -1;                                                            \
        }                                                                         \
    } while (0)
#define LOOK(d, p, fol, mv, res) \
    (looks[nlooks++] = (struct lookup){(d), (p), (fol), (mv), (res)})
    /* a call on the last name itself (mkdir, unlink, rmdir, rename, symlink's and link's new
     * name): the kernel looks up the parent, then that name, following no symlink there even
     * with a trailing slash */
    char last[2][8192];
#define LAST_R(i, d, p, mv, res)                                                    \
    do {                                                                        \
        snprintf(last[i], sizeof last[i], "%s", (p));                           \
        size_t len_ = strlen(last[i]);                                          \
        while (len_ > 1 && last[i][len_ - 1] == '/')                            \
            last[i][--len_] = 0;                                                \
        LOOK((d), last[i], 0, (mv), (res));                                     \
    } while (0)
#define LAST(i, d, p, mv) LAST_R(i, d, p, mv, -1)
    /* an open that creates, of a name with a trailing slash: EISDIR once the parent is found
     * (open_last_lookups), the last name not looked at */
#define OPEN_LOOK(d, p, fl, res)                                                    \
    do {                                                                        \
        int chain_ = 0;                                                         \
        if (creates_dir((p), (fl))) {                                           \
            LAST_R(0, (d), (p), 0, (res));                                      \
            break;                                                              \
        }                                                                       \
        if (probing && (res) <= 0 && ((fl) & O_CREAT) &&                        \
            !((fl) & (O_EXCL | O_NOFOLLOW | O_PATH | O_DIRECTORY | __O_TMPFILE)))  \
            chain_ = creating_chain((d), (p), looks, dirs, &ndirs);             \
        if (chain_ > 0)                                                         \
            nlooks = chain_;                                                    \
        else                                                                    \
            LOOK((d), (p), !((fl) & O_NOFOLLOW) &&                              \
                 ((fl) & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL), 0, (res));  \
    } while (0)

    /* which lookups each operation makes, for the probe */
    if (!strcmp(op, "open")) {
        NEED(3);
        OPEN_LOOK(AT_FDCWD, f[1], atoi(f[2]), -1);
    } else if (!strcmp(op, "creat")) {
        NEED(2);
        OPEN_LOOK(AT_FDCWD, f[1], O_CREAT | O_WRONLY, -1);
    } else if (!strcmp(op, "openat")) {
        NEED(4);
        OPEN_LOOK(dirfd_of(f[1]), f[2], atoi(f[3]), -1);
    } else if (!strcmp(op, "openat2")) {
        NEED(5);
        OPEN_LOOK(dirfd_of(f[1]), f[2], atoi(f[3]), atol(f[4]));
    } else if (!strcmp(op, "stat") || !strcmp(op, "chdir") || !strcmp(op, "truncate") ||
               !strcmp(op, "execve") || !strcmp(op, "access") || !strcmp(op, "chmod")) {
        NEED(1);
        LOOK(AT_FDCWD, f[1], 1, 0, -1);
    } else if (!strcmp(op, "lstat") || !strcmp(op, "readlink")) {
        NEED(1);
        LOOK(AT_FDCWD, f[1], 0, 0, -1);
    } else if (!strcmp(op, "mkdir")) {
        NEED(1);
        LAST(0, AT_FDCWD, f[1], 0);
    } else if (!strcmp(op, "unlink") || !strcmp(op, "rmdir")) {
        NEED(1);
        LAST(0, AT_FDCWD, f[1], 1);
    } else if (!strcmp(op, "statfs")) {
        NEED(1);
        LOOK(AT_FDCWD, f[1], 1, 0, -1);
    } else if (!strcmp(op, "utimensat") || !strcmp(op, "fchownat")) {
        NEED(3);
        LOOK(dirfd_of(f[1]), f[2], !(atoi(f[3]) & AT_SYMLINK_NOFOLLOW), 0, -1);
    } else if (!strcmp(op, "mknodat")) {
        NEED(2);
        LAST(0, dirfd_of(f[1]), f[2], 0);
    } else if (!strcmp(op, "fstatat") || !strcmp(op, "statx")) {
        NEED(3);
        LOOK(dirfd_of(f[1]), f[2], !(atoi(f[3]) & AT_SYMLINK_NOFOLLOW), 0, -1);
    } else if (!strcmp(op, "faccessat2")) {
        NEED(4);
        LOOK(dirfd_of(f[1]), f[2], !(atoi(f[4]) & AT_SYMLINK_NOFOLLOW), 0, -1);
    } else if (!strcmp(op, "readlinkat")) {
        NEED(2);
        LOOK(dirfd_of(f[1]), f[2], 0, 0, -1);
    } else if (!strcmp(op, "mkdirat")) {
        NEED(2);
        LAST(0, dirfd_of(f[1]), f[2], 0);
    } else if (!strcmp(op, "fchmodat")) {
        NEED(3);
        LOOK(dirfd_of(f[1]), f[2], 1, 0, -1);
    } else if (!strcmp(op, "unlinkat")) {
        NEED(3);
        LAST(0, dirfd_of(f[1]), f[2], 1);
    } else if (!strcmp(op, "symlink")) {
        NEED(2);
        LAST(0, AT_FDCWD, f[2], 0);
    } else if (!strcmp(op, "symlinkat")) {
        NEED(3);
        LAST(0, dirfd_of(f[2]), f[3], 0);
    } else if (!strcmp(op, "rename")) {
        NEED(2);
        LAST(0, AT_FDCWD, f[1], 1);
        LAST(1, AT_FDCWD, f[2], 1);
    } else if (!strcmp(op, "link")) {
        NEED(2);
        LOOK(AT_FDCWD, f[1], 0, 1, -1);
        LAST(1, AT_FDCWD, f[2], 1);
    } else if (!strcmp(op, "renameat2")) {
        NEED(5);
        LAST(0, dirfd_of(f[1]), f[2], 1);
        LAST(1, dirfd_of(f[3]), f[4], 1);
    } else if (!strcmp(op, "linkat")) {
        NEED(5);
        LOOK(dirfd_of(f[1]), f[2], (atoi(f[5]) & AT_SYMLINK_FOLLOW) != 0, 1, -1);
        LAST(1, dirfd_of(f[3]), f[4], 1);
    } else if (!strcmp(op, "getxattr") || !strcmp(op, "listxattr") ||
               !strcmp(op, "setxattr") || !strcmp(op, "removexattr")) {
        NEED(1);
        LOOK(AT_FDCWD, f[1], 1, 0, -1);
    } else if (!strcmp(op, "lgetxattr") || !strcmp(op, "llistxattr") ||
               !strcmp(op, "lsetxattr")) {
        NEED(1);
        LOOK(AT_FDCWD, f[1], 0, 0, -1);
    } else if (!strcmp(op, "getxattrat") || !strcmp(op, "setxattrat") ||
               !strcmp(op, "execveat")) {
        NEED(3);
        LOOK(dirfd_of(f[1]), f[2], !(atoi(f[3]) & AT_SYMLINK_NOFOLLOW), 0, -1);
    } else if (!strcmp(op, "inotify")) {
        NEED(2);
        LOOK(AT_FDCWD, f[1], !(strtoul(f[2], NULL, 0) & IN_DONT_FOLLOW), 0, -1);
    } else if (!strcmp(op, "inotifyat")) {
        NEED(3);
        LOOK(AT_FDCWD, f[2], !(strtoul(f[3], NULL, 0) & IN_DONT_FOLLOW), 0, -1);
    }
    int skip = 0;
    if (probing)
        for (int i = 0; i < nlooks && !skip; i++)
            skip = reaches_secret(&looks[i]);
    for (int i = 0; i < ndirs; i++)
        close(dirs[i]);
    if (skip) {
        printf("%d SKIP\n", n);
        return 0;
    }

    errno = 0;
    if (!strcmp(op, "open")) {
        NEED(3);
        keep(n, (int)syscall(SYS_open, f[1], atoi(f[2]), 0644), atoi(f[3]));
    } else if (!strcmp(op, "creat")) {
        keep(n, (int)syscall(SYS_creat, f[1], 0644), atoi(f[2]));
    } else if (!strcmp(op, "openat")) {
        keep(n, openat(dirfd_of(f[1]), f[2], atoi(f[3]), 0644), atoi(f[4]));
    } else if (!strcmp(op, "openat2")) {
        int fl = atoi(f[3]);
        struct open_how how = {.flags = (unsigned long long)fl,
                               .mode = (fl & (O_CREAT | __O_TMPFILE)) ? 0644 : 0,
                               .resolve = (unsigned long long)atol(f[4])};
        keep(n, (int)openat2_retrying(dirfd_of(f[1]), f[2], &how), atoi(f[5]));
    } else if (!strcmp(op, "close")) {
        NEED(1);
        say(n, close(SLOT_BASE + atoi(f[1])));
    } else if (!strcmp(op, "stat")) {
        say_stat(n, (int)syscall(SYS_stat, f[1], &st), &st);
    } else if (!strcmp(op, "lstat")) {
        say_stat(n, (int)syscall(SYS_lstat, f[1], &st), &st);
    } else if (!strcmp(op, "fstatat")) {
        say_stat(n, (int)syscall(SYS_newfstatat, dirfd_of(f[1]), f[2], &st, atoi(f[3])), &st);
    } else if (!strcmp(op, "statx")) {
        struct statx sx;
        int ret = statx(dirfd_of(f[1]), f[2], atoi(f[3]), STATX_BASIC_STATS, &sx);
        if (ret == 0) {
            st.st_mode = sx.stx_mode;
            st.st_size = (off_t)sx.stx_size;
            st.st_nlink = sx.stx_nlink;
        }
        say_stat(n, ret, &st);
    } else if (!strcmp(op, "readlink") || !strcmp(op, "readlinkat")) {
        char text[4096], norm[4200];
        ssize_t len = !strcmp(op, "readlink")
                          ? syscall(SYS_readlink, f[1], text, sizeof text - 1)
                          : readlinkat(dirfd_of(f[1]), f[2], text, sizeof text - 1);
        if (len < 0) {
            printf("%d ERR %d\n", n, errno);
        } else {
            text[len] = 0;
            normalise(text, norm, sizeof norm);
            printf("%d OK %s\n", n, norm);
        }
    } else if (!strcmp(op, "getcwd")) {
        char text[4096], norm[4200];
        if (getcwd(text, sizeof text) == NULL) {
            printf("%d ERR %d\n", n, errno);
        } else {
            normalise(text, norm, sizeof norm);
            printf("%d OK %s\n", n, norm);
        }
    } else if (!strcmp(op, "mkdir")) {
        say(n, syscall(SYS_mkdir, f[1], 0755));
    } else if (!strcmp(op, "mkdirat")) {
        say(n, mkdirat(dirfd_of(f[1]), f[2], 0755));
    } else if (!strcmp(op, "symlink")) {
        say(n, syscall(SYS_symlink, f[1], f[2]));
    } else if (!strcmp(op, "symlinkat")) {
        say(n, symlinkat(f[1], dirfd_of(f[2]), f[3]));
    } else if (!strcmp(op, "chdir")) {
        say(n, syscall(SYS_chdir, f[1]));
    } else if (!strcmp(op, "fchdir")) {
        NEED(1);
        say(n, fchdir(SLOT_BASE + atoi(f[1])));
    } else if (!strcmp(op, "rename")) {
        say(n, syscall(SYS_rename, f[1], f[2]));
    } else if (!strcmp(op, "renameat2")) {
        say(n, syscall(SYS_renameat2, dirfd_of(f[1]), f[2], dirfd_of(f[3]), f[4], atoi(f[5])));
    } else if (!strcmp(op, "link")) {
        say(n, syscall(SYS_link, f[1], f[2]));
    } else if (!strcmp(op, "linkat")) {
        say(n, syscall(SYS_linkat, dirfd_of(f[1]), f[2], dirfd_of(f[3]), f[4], atoi(f[5])));
    } else if (!strcmp(op, "unlink")) {
        say(n, syscall(SYS_unlink, f[1]));
    } else if (!strcmp(op, "rmdir")) {
        say(n, syscall(SYS_rmdir, f[1]));
    } else if (!strcmp(op, "unlinkat")) {
        say(n, syscall(SYS_unlinkat, dirfd_of(f[1]), f[2], atoi(f[3])));
    } else if (!strcmp(op, "access")) {
        NEED(2);
        say(n, syscall(SYS_access, f[1], atoi(f[2])));
    } else if (!strcmp(op, "faccessat2")) {
        say(n, syscall(SYS_faccessat2, dirfd_of(f[1]), f[2], atoi(f[3]), atoi(f[4])));
    } else if (!strcmp(op, "chmod")) {
        NEED(2);
        say(n, syscall(SYS_chmod, f[1], atoi(f[2])));
    } else if (!strcmp(op, "fchmodat")) {
        say(n, syscall(SYS_fchmodat, dirfd_of(f[1]), f[2], atoi(f[3])));
    } else if (!strcmp(op, "truncate")) {
        NEED(2);
        say(n, syscall(SYS_truncate, f[1], atol(f[2])));
    } else if (!strcmp(op, "execve")) {
        char *argv[] = {(char *)"x", NULL}, *envp[] = {NULL};
        fflush(stdout);
        say(n, syscall(SYS_execve, f[1], argv, envp));
    } else if (!strcmp(op, "statfs")) {
        struct statfs sfs;
        long ret = syscall(SYS_statfs, f[1], &sfs);
        if (ret < 0)
            printf("%d ERR %d\n", n, errno);
        else
            printf("%d OK %lx\n", n, (unsigned long)sfs.f_type);
    } else if (!strcmp(op, "utimensat")) {
        /* a NULL times with AT_EMPTY_PATH is EINVAL: "now" given explicitly */
        struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
        say(n, syscall(SYS_utimensat, dirfd_of(f[1]), f[2], now, atoi(f[3])));
    } else if (!strcmp(op, "fchownat")) {
        say(n, syscall(SYS_fchownat, dirfd_of(f[1]), f[2], -1, -1, atoi(f[3])));
    } else if (!strcmp(op, "mknodat")) {
        say(n, syscall(SYS_mknodat, dirfd_of(f[1]), f[2], S_IFREG | 0644, 0));
    } else if (!strcmp(op, "read")) {
        NEED(1);
        char buf[64];
        ssize_t got = read(SLOT_BASE + atoi(f[1]), buf, sizeof buf - 1);
        if (got < 0) {
            printf("%d ERR %d\n", n, errno);
        } else {
            buf[got] = 0;
            for (ssize_t i = 0; i < got; i++)
                if (!isprint((unsigned char)buf[i]))
                    buf[i] = '.';
            printf("%d OK %s\n", n, buf);
        }
    } else if (!strcmp(op, "write")) {
        NEED(1);
        say(n, write(SLOT_BASE + atoi(f[1]), "w", 1));
    } else if (!strcmp(op, "getxattr") || !strcmp(op, "lgetxattr")) {
        char value[64];
        ssize_t got = (op[0] == 'l' ? lgetxattr : getxattr)(f[1], "user.t", value,
                                                                sizeof value);
        say(n, got < 0 ? -1 : got);
    } else if (!strcmp(op, "listxattr") || !strcmp(op, "llistxattr")) {
        char names[256];
        ssize_t got = (op[1] == 'l' ? llistxattr : listxattr)(f[1], names, sizeof names);
        say(n, got < 0 ? -1 : got);
    } else if (!strcmp(op, "setxattr") || !strcmp(op, "lsetxattr")) {
        say(n, (op[0] == 'l' ? lsetxattr : setxattr)(f[1], "user.t", "v", 1, 0));
    } else if (!strcmp(op, "removexattr")) {
        say(n, removexattr(f[1], "user.t"));
    } else if (!strcmp(op, "getxattrat") || !strcmp(op, "setxattrat")) {
        /* (6.13: struct xattr_args {value, size, flags}) */
        char value[64] = "v";
        struct { unsigned long long value; unsigned size, flags; } args = {
            (unsigned long long)(unsigned long)value, op[0] == 'g' ? sizeof value : 1, 0};
        long got = syscall(op[0] == 'g' ? 464 : 463, dirfd_of(f[1]), f[2], atoi(f[3]),
                           "user.t", &args, sizeof args);
        say(n, got < 0 ? -1 : got);
    } else if (!strcmp(op, "execveat")) {
        /* a tree's file is never a program: ENOEXEC, EACCES... -- the process goes on */
        char *argv[] = {(char *)"x", NULL};
        say(n, syscall(SYS_execveat, dirfd_of(f[1]), f[2], argv, environ, atoi(f[3])));
    } else if (!strcmp(op, "inotify")) {
        static int watcher = -1;
        if (watcher < 0)
            watcher = inotify_init1(IN_CLOEXEC);
        int wd = inotify_add_watch(watcher, f[1], (uint32_t)strtoul(f[2], NULL, 0));
        say(n, wd < 0 ? -1 : 0);
    } else if (!strcmp(op, "inotifyat")) {
        /* a slot's descriptor as the inotify instance (one that is none, an O_PATH one) */
        NEED(3);
        int wd = inotify_add_watch(SLOT_BASE + atoi(f[1]), f[2],
                                   (uint32_t)strtoul(f[3], NULL, 0));
        say(n, wd < 0 ? -1 : 0);
    } else if (!strcmp(op, "sendfd")) {
        /* the slot's descriptor passed over a unix socket and received into the slot again
         * (a descriptor another process could have sent) */
        NEED(1);
        int pair[2], slot = SLOT_BASE + atoi(f[1]);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
            say(n, -1);
            return 0;
        }
        char byte = 'x', space[CMSG_SPACE(sizeof(int))];
        struct iovec io = {&byte, 1};
        struct msghdr msg = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = space,
                             .msg_controllen = sizeof space};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &slot, sizeof(int));
        int fd = -1;
        if (sendmsg(pair[0], &msg, 0) == 1 && recvmsg(pair[1], &msg, 0) == 1 &&
            (c = CMSG_FIRSTHDR(&msg)) != NULL)
            memcpy(&fd, CMSG_DATA(c), sizeof(int));
        close(pair[0]);
        close(pair[1]);
        keep(n, fd, atoi(f[1]));
    } else if (!strcmp(op, "ioctl")) {
        NEED(2);
        int arg[64] = {0}; /* room for any state the asking requests write (a termios) */
        long got = syscall(SYS_ioctl, SLOT_BASE + atoi(f[1]), strtoul(f[2], NULL, 0), arg);
        if (got < 0)
            printf("%d ERR %d\n", n, errno);
        else
            printf("%d OK %d\n", n, arg[0]);
    } else if (!strcmp(op, "sys")) {
        NEED(1);
        say(n, syscall(atol(f[1]), 0, 0, 0) < 0 ? -1 : 0);
    } else {
        fprintf(stderr, "pathops: line %d: unknown operation %s\n", n, op);
        return -1;
    }
    return 0;
}

static int run_script(void) {
    FILE *in = fopen(script_path, "r");
    if (in == NULL) {
        perror(script_path);
        return 2;
    }
    static char line[65536];
    int n = 0;
    while (fgets(line, sizeof line, in) != NULL) {
        n++;
        line[strcspn(line, "\n")] = 0;
        char *f[MAX_FIELDS + 1];
        int nf = 0;
        char *p = line;
        f[nf++] = p;
        while (nf <= MAX_FIELDS && (p = strchr(p, '\t')) != NULL) {
            *p++ = 0;
            f[nf++] = p;
        }
        for (int i = nf; i <= MAX_FIELDS; i++)
            f[i] = (char *)"";
        if (run_line(n, f, nf) != 0)
            return 2;
        fflush(stdout);
    }
    fclose(in);
    return 0;
}

static void *in_thread(void *unused) {
    (void)unused;
    return (void *)(long)run_script();
}

int main(int argc, char **argv) {
    const char *mode = argc > 2 ? argv[2] : "plain";
    if (argc < 2 || (strcmp(mode, "probe") == 0) != (argc == 4) || argc > 4) {
        fprintf(stderr, "usage: pathops SCRIPT [plain|thread|child|probe SECRET]\n");
        return 2;
    }
    script_path = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(mode, "probe")) {
        int fd = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || dup2(fd, SECRET_FD) != SECRET_FD) {
            perror(argv[3]);
            return 2;
        }
        close(fd);
        probing = 1;
    }
    if (!strcmp(mode, "thread")) {
        pthread_t thread;
        void *ret;
        if (pthread_create(&thread, NULL, in_thread, NULL) != 0)
            return 2;
        pthread_join(thread, &ret);
        return (int)(long)ret;
    }
    if (!strcmp(mode, "child")) {
        int gate[2];
        if (pipe(gate) != 0)
            return 2;
        pid_t child = fork();
        if (child == 0) {
            char c;
            close(gate[1]);
            while (read(gate[0], &c, 1) < 0 && errno == EINTR)
                ;
            _exit(0);
        }
        close(gate[0]);
        int ret = run_script();
        close(gate[1]);
        waitpid(child, NULL, 0);
        return ret;
    }
    return run_script();
}
