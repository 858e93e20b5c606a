/* looper: every 50 ms try to open FILE and print "ok" or the errno name, until STOPFILE
 * exists, then exit 7.  A long-running process for --attach tests.
 *
 *   looper FILE STOPFILE [leaderless [exec]]
 *
 * "leaderless": the loop runs in a thread and the main thread exits first (the exit system
 * call: the process's pid is a zombie's while the thread lives); the thread's first try
 * comes once the leader is a zombie.  "exec": once STOPFILE is there the thread execs
 * `cat FILE` (de_thread gives it the zombie leader's pid) instead of exiting 7. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char **args;
static int leader_stat = -1;  /* the leader's /proc stat, in leaderless mode */
static int exec_at_end;

static void *loop(void *unused) {
    const struct timespec pause = {0, 50 * 1000 * 1000};
    (void)unused;
    for (char text[512]; leader_stat >= 0;) {  /* until the leader is a zombie */
        ssize_t n = pread(leader_stat, text, sizeof text - 1, 0);
        if (n <= 0) exit(2);
        text[n] = 0;
        char *state = strrchr(text, ')');
        if (state && (state[2] == 'Z' || state[2] == 'X')) break;
        sched_yield();
    }
    while (access(args[2], F_OK) != 0) {
        int fd = open(args[1], O_RDONLY);
        if (fd >= 0) { puts("ok"); close(fd); }
        else puts(errno == EACCES ? "EACCES" : strerror(errno));
        fflush(stdout);
        nanosleep(&pause, NULL);
    }
    if (exec_at_end) {
        execl("/bin/cat", "cat", args[1], (char *)NULL);
        exit(3);
    }
    exit(7);
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    args = argv;
    if (argc > 3 && strcmp(argv[3], "leaderless") == 0) {
        char name[64];
        snprintf(name, sizeof name, "/proc/self/task/%d/stat", (int)getpid());
        leader_stat = open(name, O_RDONLY);
        exec_at_end = argc > 4 && strcmp(argv[4], "exec") == 0;
        pthread_t thread;
        if (leader_stat < 0 || pthread_create(&thread, NULL, loop, NULL) != 0) return 2;
        syscall(SYS_exit, 0);
    }
    loop(NULL);
}
