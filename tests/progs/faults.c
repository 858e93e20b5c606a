/* faults: make the calls fault injection tests tamper with, and say what the program saw.
 *
 * Output is fully buffered and written once, at the end: the program's own output is then
 * one write(2) after the ones it is asked to make, so a rule on "write" counts them first.
 *
 *   writes FILE N      N one-byte writes to FILE: "write I -> ok|ERRNO"
 *   unlink FILE        "unlink -> ok|ERRNO", then whether FILE is still there
 *   open FILE          one open(FILE), timed: "open -> ok|ERRNO", "elapsed_ms MS"
 *   opens FILE N       N opens of FILE: "open I -> ok|ERRNO"
 *   signal             SIGUSR1 handled; one getppid(): "handler -> ran|not run"
 *   connects PORT N    N connects to 127.0.0.1:PORT: "connect I -> ok|ERRNO"
 *   fork OP...         run the rest in a child and in the parent, one after the other
 *   race A B MS        open(A) while a thread rewrites the path to B after MS ms: what was
 *                      read ("read -> TEXT"), and whether the rewrite came before the open
 *                      returned ("rewritten -> yes|no")
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char out[65536];

static const char *errname(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case ENOSPC: return "ENOSPC";
    case EIO: return "EIO";
    case EINTR: return "EINTR";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENETUNREACH: return "ENETUNREACH";
    case EAGAIN: return "EAGAIN";
    default: return strerror(e);
    }
}

static const char *result(long rc, int err) { return rc < 0 ? errname(err) : "ok"; }

static volatile sig_atomic_t handled;
static void on_usr1(int sig) { (void)sig; handled = 1; }

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char race_path[4096];
static const char *race_other;
static int race_ms;
static volatile int rewritten;

static void *rewrite(void *arg) {
    (void)arg;
    struct timespec ts = {race_ms / 1000, (race_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    strcpy(race_path, race_other);
    rewritten = 1;
    return NULL;
}

static int run(int argc, char **argv) {
    const char *op = argv[0];
    if (!strcmp(op, "writes") && argc >= 3) {
        int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) { printf("open -> %s\n", errname(errno)); return 1; }
        int n = atoi(argv[2]);
        for (int i = 1; i <= n; i++) {
            long rc = write(fd, "x", 1);
            printf("write %d -> %s\n", i, result(rc, errno));
        }
        close(fd);
        return 3;
    }
    if (!strcmp(op, "unlink") && argc >= 2) {
        long rc = unlink(argv[1]);
        printf("unlink -> %s\n", result(rc, errno));
        printf("still there -> %s\n", access(argv[1], F_OK) == 0 ? "yes" : "no");
        return 2;
    }
    if (!strcmp(op, "open") && argc >= 2) {
        double start = now_ms();
        int fd = open(argv[1], O_RDONLY);
        int err = errno;
        double elapsed = now_ms() - start;
        printf("open -> %s\n", result(fd, err));
        printf("elapsed_ms %.1f\n", elapsed);
        if (fd >= 0) close(fd);
        return 2;
    }
    if (!strcmp(op, "opens") && argc >= 3) {
        int n = atoi(argv[2]);
        for (int i = 1; i <= n; i++) {
            int fd = open(argv[1], O_RDONLY);
            printf("open %d -> %s\n", i, result(fd, errno));
            if (fd >= 0) close(fd);
        }
        return 3;
    }
    if (!strcmp(op, "signal")) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sigaction(SIGUSR1, &sa, NULL);
        syscall(SYS_getppid);
        printf("handler -> %s\n", handled ? "ran" : "not run");
        return 1;
    }
    if (!strcmp(op, "connects") && argc >= 3) {
        int n = atoi(argv[2]);
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        sin.sin_port = htons((unsigned short)atoi(argv[1]));
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        for (int i = 1; i <= n; i++) {
            int s = socket(AF_INET, SOCK_STREAM, 0);
            long rc = connect(s, (struct sockaddr *)&sin, sizeof sin);
            printf("connect %d -> %s\n", i, result(rc, errno));
            close(s);
        }
        return 3;
    }
    if (!strcmp(op, "race") && argc >= 4) {
        strcpy(race_path, argv[1]);
        race_other = argv[2];
        race_ms = atoi(argv[3]);
        pthread_t thread;
        pthread_create(&thread, NULL, rewrite, NULL);
        int fd = open(race_path, O_RDONLY);
        int done = rewritten;
        char buf[64] = "";
        if (fd >= 0) {
            long n = read(fd, buf, sizeof buf - 1);
            buf[n > 0 ? n : 0] = 0;
            close(fd);
            printf("read -> %s\n", buf);
        } else {
            printf("read -> %s\n", errname(errno));
        }
        printf("rewritten -> %s\n", done ? "yes" : "no");
        pthread_join(thread, NULL);
        return 4;
    }
    if (!strcmp(op, "fork") && argc >= 2) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            printf("[child]\n");
            run(argc - 1, argv + 1);
            fflush(stdout);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
        printf("[parent]\n");
        run(argc - 1, argv + 1);
        return argc;
    }
    printf("unknown operation %s\n", op);
    return argc;
}

int main(int argc, char **argv) {
    setvbuf(stdout, out, _IOFBF, sizeof out);
    if (argc > 1) run(argc - 1, argv + 1);
    fflush(stdout);
    return 0;
}
