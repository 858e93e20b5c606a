/* A process whose main thread has exited while a thread lives on and makes calls whose
 * meaning the tracer reads from memory and from /proc.  The leader is a zombie then (its tid
 * is still the process's pid), with no memory, no cwd and no descriptor table of its own in
 * /proc: a tracer that reads through the process's pid gets ESRCH or ENOENT where the calls
 * work natively.
 *
 *   leaderless PROGRAM DIR HOW THREADS
 *
 * PROGRAM: this program's absolute path (/proc/self/exe is gone with the leader's memory);
 * DIR: a directory holding the files "allowed" and "denied"; HOW the main thread ends:
 * "pthread_exit", or "exit" (the exit system call: it makes no other call on its way, while
 * pthread_exit loads the unwinder first -- opens the tracer holds, so that the tracer has
 * written the process's memory before the leader is gone), or "none": it waits in pause()
 * until the thread's exec ends it (a thread's exec with its leader alive); THREADS: 1 or 2 live on (a second
 * one is started once the leader is gone).  Once the leader is a zombie the thread prints "CALL -> RESULT" for each call ("ok" or the
 * errno's name): opens and stats of both files by absolute path, by a path relative to the
 * cwd and to a directory descriptor; connects to a listening port on 127.0.0.1 and on
 * 127.0.0.2 (where nothing listens); an exec of a missing file; then an exec of PROGRAM,
 * with HOW "exec'd": now the leader (de_thread), it opens both files again.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *program, *dir;
static int threads, leader_stat, leader_lives;
static int keep_alive[2];

static void say(const char *what, int ok)
{
    printf("%s -> %s\n", what, ok ? "ok" : strerrorname_np(errno));
    fflush(stdout);
}

static void fail(const char *what)
{
    fprintf(stderr, "leaderless: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void opened(const char *what, int fd)
{
    say(what, fd >= 0);
    if (fd >= 0)
        close(fd);
}

static int path_of(char *out, size_t size, const char *name)
{
    return snprintf(out, size, "%s/%s", dir, name);
}

/* until the leader is a zombie (its state in /proc/PID/task/PID/stat: 'Z'), read through a
 * descriptor the leader opened (an open now could be the first call the tracer holds) */
static void until_leader_gone(void)
{
    char text[512];
    for (;;) {
        ssize_t n = pread(leader_stat, text, sizeof text - 1, 0);
        if (n <= 0)
            fail("the leader's stat");
        text[n] = 0;
        char *state = strrchr(text, ')');
        if (state && (state[2] == 'Z' || state[2] == 'X'))
            return;
        sched_yield();
    }
}

static void connect_to(const char *what, const char *address, int port)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, address, &to.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    say(what, connect(s, (struct sockaddr *)&to, sizeof to) == 0);
    close(s);
}

static void *sleeper(void *unused)
{
    char c;
    (void)unused;
    while (read(keep_alive[0], &c, 1) < 0 && errno == EINTR) {}
    return NULL;
}

static void *worker(void *unused)
{
    char path[4096];
    struct stat st;
    (void)unused;
    if (!leader_lives)
        until_leader_gone();
    if (threads == 2) {
        pthread_t other;
        if (pipe(keep_alive) != 0 || pthread_create(&other, NULL, sleeper, NULL) != 0)
            fail("a second thread");
    }
    /* a listener on 127.0.0.1 (nothing listens on 127.0.0.2) */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in at = {.sin_family = AF_INET};
    socklen_t len = sizeof at;
    inet_pton(AF_INET, "127.0.0.1", &at.sin_addr);
    if (bind(listener, (struct sockaddr *)&at, sizeof at) != 0 || listen(listener, 4) != 0
            || getsockname(listener, (struct sockaddr *)&at, &len) != 0)
        fail("a listener");
    int port = ntohs(at.sin_port);

    path_of(path, sizeof path, "allowed");
    opened("open allowed", open(path, O_RDONLY));
    say("stat allowed", stat(path, &st) == 0);
    path_of(path, sizeof path, "denied");
    opened("open denied", open(path, O_RDONLY));
    say("stat denied", stat(path, &st) == 0);

    say("chdir", chdir(dir) == 0);
    opened("relative open allowed", open("allowed", O_RDONLY));
    opened("relative open denied", open("denied", O_RDONLY));
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    opened("openat allowed", openat(dirfd, "allowed", O_RDONLY));
    opened("openat denied", openat(dirfd, "denied", O_RDONLY));
    say("fstatat denied", fstatat(dirfd, "denied", &st, 0) == 0);
    close(dirfd);

    connect_to("connect 127.0.0.1", "127.0.0.1", port);
    connect_to("connect 127.0.0.2", "127.0.0.2", port);

    char *args[] = {(char *)program, (char *)program, (char *)dir, "exec'd", "1", NULL};
    path_of(path, sizeof path, "missing");
    execv(path, args);
    say("exec missing", 0);
    execv(program, args);
    say("exec", 0);
    exit(1);
}

int main(int argc, char **argv)
{
    char path[4096];
    if (argc != 5) {
        fprintf(stderr, "usage: leaderless PROGRAM DIR HOW THREADS\n");
        return 2;
    }
    program = argv[1];
    dir = argv[2];
    threads = atoi(argv[4]);
    if (strcmp(argv[3], "exec'd") == 0) {
        printf("exec -> ok\n");
        path_of(path, sizeof path, "allowed");
        opened("exec'd open allowed", open(path, O_RDONLY));
        path_of(path, sizeof path, "denied");
        opened("exec'd open denied", open(path, O_RDONLY));
        return 0;
    }
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)gettid());
    leader_stat = open(path, O_RDONLY);
    leader_lives = strcmp(argv[3], "none") == 0;
    pthread_t thread;
    if (leader_stat < 0 || pthread_create(&thread, NULL, worker, NULL) != 0)
        return 2;
    if (strcmp(argv[3], "exit") == 0)
        syscall(SYS_exit, 0);
    while (leader_lives)
        pause();
    pthread_exit(NULL);
}
