/* ask_screen.c: the question drawn over by the program (red team 8).
 *
 * While a terminal prompt waits for a person, the rest of the tree runs and shares the
 * terminal.  A thread opens SECRET (asked: it is parked); the main thread waits until it is,
 * then -- again and again, so that it stays after the prompt's redraws -- clears the screen
 * and draws a question of its own, about DECOY.  The person reads "DECOY", answers
 * permit-now, and the secret's open runs.  Natively nothing asks: the secret is read (the
 * control).  Closed (gap #26): the whole tree is stopped while the prompt shows, so what it
 * drew before is above the real question, and keys typed to it are dropped.
 *
 *   ask_screen SECRET DECOY
 */
#include "attack.h"

static const char *secret;
static volatile int opened = -2, open_err;

static void *opener(void *unused) {
    (void)unused;
    int fd = open(secret, O_RDONLY);  /* asked: parked until answered */
    open_err = errno;
    opened = fd;
    return NULL;
}

static char state_of(pid_t tid) {
    char name[64], text[512];
    snprintf(name, sizeof name, "/proc/self/task/%d/stat", (int)tid);
    int fd = open(name, O_RDONLY);
    if (fd < 0) return '?';
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return '?';
    text[n] = 0;
    char *end = strrchr(text, ')');
    return end && end[1] == ' ' ? end[2] : '?';
}

static volatile pid_t opener_tid;

static void *opener_main(void *unused) {
    opener_tid = (pid_t)syscall(SYS_gettid);
    return opener(unused);
}

int main(int argc, char **argv) {
    if (argc != 3) usage("ask_screen SECRET DECOY");
    secret = argv[1];
    const char *decoy = argv[2];
    if (tracer_pid() <= 0) {
        opener(NULL);
    } else {
        pthread_t t;
        pthread_create(&t, NULL, opener_main, NULL);
        double until = now_s() + 20;
        /* (traced, the tree may be stopped before it sees the opener parked: then the
         * opener's call is answered first, and there is nothing left to draw over) */
        while ((!opener_tid || state_of(opener_tid) != 't') && opened == -2 &&
               now_s() < until)
            usleep(2000);
        char fake[4096];
        int n = snprintf(fake, sizeof fake,
                         "\033[H\033[2J"
                         "systrace: %s  (pid %d, parent %d) asks\r\n"
                         "  call   openat  path %s  flags O_RDONLY\r\n"
                         "  answer permit | deny | permit-now | deny-now | kill\r\n"
                         "systrace> ", "/usr/bin/cat", (int)getpid(), (int)getppid(), decoy);
        while (opened == -2 && now_s() < until) {
            if (write(1, fake, (size_t)n) < 0) break;
            usleep(50000);
        }
        pthread_join(t, NULL);
        printf("\r\n");
    }
    if (opened >= 0 && is_secret_fd(opened)) escaped("read the secret (fd -> %s)", fd_name(opened));
    blocked("secret: %s", opened >= 0 ? "not the secret" : ename(open_err));
}
