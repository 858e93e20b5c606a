/* probe: perform the operations named on the command line, print one result line each.
 *
 * Each argument is OP:ARG[:ARG...]; the result line is "OP ARG -> ok" or "-> ERRNO_NAME".
 * Used by the engine tests to see exactly which calls a policy let through, with which errno.
 *
 *   open:P  openw:P  creat:P  stat:P  lstat:P  access:P  readlink:P  mkdir:P  rmdir:P
 *   unlink:P  chmod:P  fchmod:P (open P to write, O_CREAT, then fchmod it)  rename:A:B  renamenr:A:B (RENAME_NOREPLACE)  link:A:B  linkat:A:B  symlink:TARGET:LINK  chdir:P
 *   openat:DIR:NAME   (open DIR, then openat relative to it)
 *   connect:IP:PORT   connect6:IP6:PORT   unix:PATH
 *   exec:P[,ARG...]   (execv, only returns on failure)
 *   fork:OP...        (the rest of the arguments run in a child; the parent waits)
 *   thread:OP         (one operation in a new thread)
 *   exit:N  raise:SIG  sleep:SECONDS  pause  print:TEXT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case ELOOP: return "ELOOP";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EROFS: return "EROFS";
    case EFAULT: return "EFAULT";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EXDEV: return "EXDEV";
    case EBADF: return "EBADF";
    case ENETUNREACH: return "ENETUNREACH";
    default: return strerror(e);
    }
}

static void report(const char *op, int rc) {
    if (rc < 0)
        printf("%s -> %s\n", op, errname(errno));
    else
        printf("%s -> ok\n", op);
    fflush(stdout);
}

static int do_connect(int family, const char *host, int port) {
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int rc;
    if (family == AF_INET) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
        inet_pton(AF_INET, host, &a.sin_addr);
        rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
        inet_pton(AF_INET6, host, &a.sin6_addr);
        rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static int do_unix(const char *path) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static int run_one(char *spec);

static void *thread_main(void *arg) {
    run_one((char *)arg);
    return NULL;
}

static int run_one(char *spec) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", spec);
    char *op = buf, *a = strchr(buf, ':'), *b = NULL;
    if (a) { *a++ = 0; b = strchr(a, ':'); }
    char label[4200];
    snprintf(label, sizeof label, "%s %s", op, spec + strlen(op) + (a ? 1 : 0));
    int rc = 0;
    if (!strcmp(op, "open")) { rc = open(a, O_RDONLY); if (rc >= 0) close(rc); }
    else if (!strcmp(op, "openw")) { rc = open(a, O_WRONLY | O_CREAT, 0644); if (rc >= 0) close(rc); }
    else if (!strcmp(op, "creat")) { rc = creat(a, 0644); if (rc >= 0) close(rc); }
    else if (!strcmp(op, "opathx")) {  /* (O_PATH drops O_CREAT and O_EXCL: no EEXIST) */
        rc = open(a, O_PATH | O_CREAT | O_EXCL, 0644);
        if (rc >= 0) close(rc);
    }
    else if (!strcmp(op, "stat")) { struct stat st; rc = stat(a, &st); }
    else if (!strcmp(op, "lstat")) { struct stat st; rc = lstat(a, &st); }
    else if (!strcmp(op, "access")) rc = access(a, R_OK);
    else if (!strcmp(op, "readlink")) { char t[256]; rc = (int)readlink(a, t, sizeof t); }
    else if (!strcmp(op, "mkdir")) rc = mkdir(a, 0755);
    else if (!strcmp(op, "rmdir")) rc = rmdir(a);
    else if (!strcmp(op, "unlink")) rc = unlink(a);
    else if (!strcmp(op, "chmod")) rc = chmod(a, 0600);
    else if (!strcmp(op, "fchmod")) {
        rc = open(a, O_WRONLY | O_CREAT, 0644);
        if (rc >= 0) { int fd = rc; rc = fchmod(fd, 0600); close(fd); }
    }
    else if (!strcmp(op, "chdir")) rc = chdir(a);
    else if (!strcmp(op, "rename") && b) { *b++ = 0; rc = rename(a, b); }
    else if (!strcmp(op, "renamenr") && b) {
        *b++ = 0;
        rc = renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE);
    }
    else if (!strcmp(op, "link") && b) { *b++ = 0; rc = link(a, b); }
    else if (!strcmp(op, "linkat") && b) {  /* (following the old name's symlink) */
        *b++ = 0;
        rc = linkat(AT_FDCWD, a, AT_FDCWD, b, AT_SYMLINK_FOLLOW);
    }
    else if (!strcmp(op, "symlink") && b) { *b++ = 0; rc = symlink(a, b); }
    else if (!strcmp(op, "openat") && b) {
        *b++ = 0;
        int dir = open(a, O_RDONLY | O_DIRECTORY);
        rc = dir < 0 ? dir : openat(dir, b, O_RDONLY);
        if (rc >= 0) close(rc);
        if (dir >= 0) close(dir);
    }
    else if (!strcmp(op, "connect") && b) { *b++ = 0; rc = do_connect(AF_INET, a, atoi(b)); }
    else if (!strcmp(op, "connect6")) {
        char *port = strrchr(a, ':');
        *port++ = 0;
        rc = do_connect(AF_INET6, a, atoi(port));
    }
    else if (!strcmp(op, "unix")) rc = do_unix(a);
    else if (!strcmp(op, "exec")) {
        char *argv[64];
        int n = 0;
        char *p = a;
        while (p && n < 63) { argv[n++] = p; p = strchr(p, ','); if (p) *p++ = 0; }
        argv[n] = NULL;
        execv(argv[0], argv);
        rc = -1;
    }
    else if (!strcmp(op, "thread")) {
        pthread_t t;
        char *copy = strdup(spec + strlen("thread:"));
        pthread_create(&t, NULL, thread_main, copy);
        pthread_join(t, NULL);
        return 0;
    }
    else if (!strcmp(op, "exit")) { fflush(stdout); _exit(atoi(a)); }
    else if (!strcmp(op, "raise")) { fflush(stdout); raise(atoi(a)); }
    else if (!strcmp(op, "sleep")) { sleep((unsigned)atoi(a)); return 0; }
    else if (!strcmp(op, "pause")) { pause(); return 0; }
    else if (!strcmp(op, "print")) { printf("%s\n", a); fflush(stdout); return 0; }
    else { printf("%s -> unknown operation\n", op); return 0; }
    report(label, rc);
    return rc;
}

static volatile sig_atomic_t got;
static void on_usr1(int s) { (void)s; got = 1; }

int main(int argc, char **argv) {
    signal(SIGUSR1, on_usr1);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "fork")) {
            pid_t pid = fork();
            if (pid == 0) continue;           /* the child runs the rest */
            int status;
            waitpid(pid, &status, 0);
            printf("child -> %s %d\n", WIFEXITED(status) ? "exit" : "signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            return 0;
        }
        if (!strcmp(argv[i], "waitusr1")) {
            printf("ready\n");
            fflush(stdout);
            while (!got) pause();
            printf("got SIGUSR1\n");
            continue;
        }
        run_one(argv[i]);
    }
    return 0;
}
