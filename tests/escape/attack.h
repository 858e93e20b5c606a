/* attack.h: shared helpers of the escape programs (the C files of tests/escape).
 *
 * Every attack program prints exactly one verdict line and exits 0:
 *
 *   ESCAPED: <what it got>      the attack obtained what its policy refuses
 *   BLOCKED: <why not>          every attempt failed or got something harmless
 *   SKIPPED: <why>              the kernel lacks what the attack needs
 *
 * Lines before the verdict are free-form notes ("note: ...").  The secret file holds
 * SECRET_MAGIC; a descriptor "is the secret" when its content holds the magic, or when its
 * inode is $ESC_SECRET_DEV:$ESC_SECRET_INO (set by the tests, so an attack that could not even
 * stat the secret can still recognise it).
 */
#ifndef ESCAPE_ATTACK_H
#define ESCAPE_ATTACK_H

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SECRET_MAGIC "S3CR3T-7f1d9a42-do-not-leak"
#define PAYLOAD_MAGIC "PAYLOAD-RAN-5e8c"

static inline const char *ename(int e) {
    const char *name = strerrorname_np(e);
    return name ? name : "E?";
}

static inline void verdict_line(const char *kind, const char *fmt, va_list ap) {
    printf("%s: ", kind);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
}

__attribute__((format(printf, 1, 2), noreturn)) static inline void escaped(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verdict_line("ESCAPED", fmt, ap);
    va_end(ap);
    exit(0);
}

__attribute__((format(printf, 1, 2), noreturn)) static inline void blocked(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verdict_line("BLOCKED", fmt, ap);
    va_end(ap);
    exit(0);
}

__attribute__((format(printf, 1, 2), noreturn)) static inline void skipped(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verdict_line("SKIPPED", fmt, ap);
    va_end(ap);
    exit(0);
}

__attribute__((format(printf, 1, 2))) static inline void note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verdict_line("note", fmt, ap);
    va_end(ap);
}

__attribute__((noreturn)) static inline void usage(const char *text) {
    fprintf(stderr, "usage: %s\n", text);
    exit(64);
}

static inline unsigned long long env_ull(const char *name) {
    const char *v = getenv(name);
    return v ? strtoull(v, NULL, 0) : 0;
}

/* Whether fd refers to the secret: same inode as $ESC_SECRET_DEV/INO, or holds the magic. */
static inline int is_secret_fd(int fd) {
    struct stat st;
    unsigned long long ino = env_ull("ESC_SECRET_INO"), dev = env_ull("ESC_SECRET_DEV");
    if (ino && fstat(fd, &st) == 0 && st.st_ino == ino && st.st_dev == dev)
        return 1;
    char buf[512];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) {
        buf[n] = 0;
        if (memmem(buf, (size_t)n, SECRET_MAGIC, strlen(SECRET_MAGIC)))
            return 1;
    }
    return 0;
}

/* What /proc/self/fd/N says, for the verdict line. */
static inline const char *fd_name(int fd) {
    static char out[4096];
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, sizeof out - 1);
    out[n < 0 ? 0 : n] = 0;
    return out;
}

/* Results of several attempts: ESCAPED at the first that got the secret, else one BLOCKED
 * line naming how each attempt failed. */
static char tally_text[8192];

static inline void tally(const char *label, int fd, int err) {
    size_t used = strlen(tally_text);
    if (fd >= 0) {
        if (is_secret_fd(fd))
            escaped("%s gave the secret (fd -> %s)", label, fd_name(fd));
        snprintf(tally_text + used, sizeof tally_text - used, "%s%s: opened %s (not the secret)",
                 used ? "; " : "", label, fd_name(fd));
        close(fd);
    } else {
        snprintf(tally_text + used, sizeof tally_text - used, "%s%s: %s", used ? "; " : "",
                 label, ename(err));
    }
}

/* open(path) and tally it. */
static inline void try_open_at(int dirfd, const char *label, const char *path, int flags) {
    int fd = openat(dirfd, path, flags);
    tally(label, fd, errno);
}

static inline void try_open(const char *label, const char *path) {
    try_open_at(AT_FDCWD, label, path, O_RDONLY);
}

__attribute__((noreturn)) static inline void tally_done(void) {
    blocked("%s", tally_text[0] ? tally_text : "nothing attempted");
}

/* What the opens of a race loop gave: refusals, the secret (with what the first one was), or
 * another file. */
struct race_tally {
    long got, other, refused;
    char where[4096];
};

static inline void race_count_open(struct race_tally *t, int fd) {
    if (fd < 0) {
        t->refused++;
        return;
    }
    if (is_secret_fd(fd)) {
        if (!t->got++)
            snprintf(t->where, sizeof t->where, "%s", fd_name(fd));
    } else {
        t->other++;
    }
    close(fd);
}

/* What the tasks of an attack gave, in memory they share (atomic counts): opens of the secret
 * that got it or were refused, then opens of the decoy that worked or failed. */
struct shared_tally {
    volatile long secret, refused, decoy_ok, decoy_failed;
};

/* Count what an open of the secret gave (FD, or -1), then open the decoy and count that. */
static inline void tally_secret_then_decoy(struct shared_tally *t, int fd, const char *decoy) {
    if (fd >= 0) {
        if (is_secret_fd(fd))
            __atomic_add_fetch(&t->secret, 1, __ATOMIC_SEQ_CST);
        close(fd);
    } else {
        __atomic_add_fetch(&t->refused, 1, __ATOMIC_SEQ_CST);
    }
    fd = open(decoy, O_RDONLY);
    if (fd >= 0) {
        __atomic_add_fetch(&t->decoy_ok, 1, __ATOMIC_SEQ_CST);
        close(fd);
    } else {
        __atomic_add_fetch(&t->decoy_failed, 1, __ATOMIC_SEQ_CST);
    }
}

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The state /proc/PID/stat gives process PID (its leader's: 'Z' for a zombie, whose threads
 * may live on), 0 when it is gone. */
static inline char process_state(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *end = strrchr(buf, ')');
    return end && end[1] == ' ' ? end[2] : 0;
}

/* Whether process PID has ended: gone, or a zombie -- a victim outside the tree, which its
 * own parent reaps (sig_outside.c, sig_owner.c). */
static inline int process_ended(pid_t pid) {
    char state = process_state(pid);
    return !state || state == 'Z';
}

/* process_ended within half a second: a signal sent is delivered by the time the call
 * returns to a sleeping victim, but it takes the scheduler a moment to end it. */
static inline int process_ends_soon(pid_t pid) {
    for (int i = 0; i < 50; i++) {
        if (process_ended(pid))
            return 1;
        usleep(10000);
    }
    return 0;
}

/* A unix stream socket, and ``sa`` filled with ``path`` (cut to sun_path's size): to bind or
 * connect there. */
static inline int unix_socket_at(const char *path, struct sockaddr_un *sa) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    snprintf(sa->sun_path, sizeof sa->sun_path, "%s", path);
    return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

/* The TracerPid a /proc status file names (0 when none, -1 when unreadable). */
static inline int tracer_in(const char *status) {
    FILE *f = fopen(status, "r");
    char line[256];
    int pid = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "TracerPid: %d", &pid) == 1)
            break;
    fclose(f);
    return pid;
}

/* The pid that traces us (0 when none), from /proc/self/status. */
static inline int tracer_pid(void) {
    return tracer_in("/proc/self/status");
}

/* Whether, with $ESC_TOLD_ON_STDIN set, stdin is readable (a line, or its end): the harness
 * (escape_lib.attached_run) closes it once systrace --attach has ended -- refused, it will
 * never trace us. */
static inline int told_on_stdin(void) {
    struct pollfd told = {.fd = 0, .events = POLLIN};
    return getenv("ESC_TOLD_ON_STDIN") && poll(&told, 1, 0) > 0;
}

/* With $ESC_WAIT_TRACER set, wait (at most 10 s) until a tracer has attached (systrace
 * --attach PID), or until told on stdin that the attach is over (a refused attach: not the
 * whole 10 s): the attack then runs against the tracer's no-filter path. */
static inline void wait_for_tracer(void) {
    if (!getenv("ESC_WAIT_TRACER"))
        return;
    printf("ready %d\n", getpid());
    fflush(stdout);
    double until = now_s() + 10;
    while (tracer_pid() <= 0 && now_s() < until && !told_on_stdin())
        usleep(10000);
    usleep(200000); /* let the attach settle on every thread */
}

static inline void *idle_loop(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

/* With $ESC_THREAD set, a second thread stays alive (asleep) for the rest of the run: the
 * traced tree is then several tasks, so the tracer holds every checked argument and runs the
 * calls it cannot hold with the tree frozen -- the multi-task variant of an attack. */
static inline void idle_thread_if_asked(void) {
    pthread_t thread;
    if (getenv("ESC_THREAD") && pthread_create(&thread, NULL, idle_loop, NULL) == 0)
        note("a second thread is alive");
}

/* Whether a file exists (for marker files written by payloads). */
static inline int exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Write a small file (markers).  Returns 0 or -errno. */
static inline int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n < 0 ? -errno : 0;
}

/* In a new user namespace (after unshare(CLONE_NEWUSER)): be root in it, mapped to ``uid`` and
 * ``gid`` -- who we were (setgroups denied first, as an unprivileged map needs).  A write that
 * fails is noted; the step that needs it then fails and says why. */
static inline void map_own_ids(uid_t uid, gid_t gid) {
    char text[64];
    int err;
    if ((err = write_file("/proc/self/setgroups", "deny")) < 0)
        note("/proc/self/setgroups: %s", ename(-err));
    snprintf(text, sizeof text, "0 %u 1", uid);
    if ((err = write_file("/proc/self/uid_map", text)) < 0)
        note("/proc/self/uid_map: %s", ename(-err));
    snprintf(text, sizeof text, "0 %u 1", gid);
    if ((err = write_file("/proc/self/gid_map", text)) < 0)
        note("/proc/self/gid_map: %s", ename(-err));
}

/* The top page of process ``pid``'s main stack (its /proc/PID/maps "[stack]" line), or 0:
 * where the attacks on the tracer and the approver read or write (red teams 45, 46). */
static inline unsigned long stack_of(pid_t pid) {
    char name[64], line[512];
    snprintf(name, sizeof name, "/proc/%d/maps", pid);
    FILE *f = fopen(name, "r");
    if (!f)
        return 0;
    unsigned long start = 0, end = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &start, &end) == 2)
            break;
    fclose(f);
    return end ? end - 4096 : 0;
}

#endif
