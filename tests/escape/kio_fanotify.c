/* kio_fanotify: get the secret opened *for* us.  A plain fanotify group receives, with each
 * event, a descriptor the kernel opens on the file another process just opened -- here an
 * outsider (the test) that reads the secret now and then.  The mark is on the secret's
 * directory, which the policy does not protect; no path to the secret is ever given.
 *
 *   kio_fanotify SECD [SECONDS]
 *   kio_fanotify SECD SECONDS race          a thread makes a group and drops it, in a loop,
 *                                           while systrace attaches (review 5, finding 9:
 *                                           one made between its thread's check and its
 *                                           seize); once traced, the group it holds is read
 *                                           (a line on stdin: the attach is over, untraced)
 *   kio_fanotify SECD SECONDS race-native   the same, read untraced after a while (control)
 *
 * Class 5 (I/O the kernel does for the program).  Needs CAP_SYS_ADMIN (a root tracee).
 * With $ESC_WAIT_TRACER, the group is made first, then a tracer awaited (red team 9: a group
 * made before `systrace --attach`).
 */
#include "attack.h"

#include <poll.h>
#include <sys/fanotify.h>

static int make_group(const char *secd) {
    int g = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY);
    if (g >= 0 && fanotify_mark(g, FAN_MARK_ADD, FAN_OPEN | FAN_EVENT_ON_CHILD, AT_FDCWD,
                                secd) < 0) {
        close(g);
        return -1;
    }
    return g;
}

/* Read events for SECONDS: the verdict. */
__attribute__((noreturn)) static void listen_for(int g, double seconds) {
    double until = now_s() + seconds;
    long events = 0;
    while (now_s() < until) {
        struct pollfd pfd = {.fd = g, .events = POLLIN};
        poll(&pfd, 1, 100);
        char buf[4096];
        ssize_t n = read(g, buf, sizeof buf);
        if (n <= 0)
            continue;
        for (struct fanotify_event_metadata *m = (void *)buf; FAN_EVENT_OK(m, n);
             m = FAN_EVENT_NEXT(m, n)) {
            events++;
            if (m->fd >= 0 && is_secret_fd(m->fd))
                escaped("fanotify handed us the secret (fd -> %s, opened by pid %d)",
                        fd_name(m->fd), m->pid);
            if (m->fd >= 0)
                close(m->fd);
        }
    }
    blocked("no descriptor of the secret came (%ld events)", events);
}

static const char *secd;
static volatile int held = -1, stop_making, kept;
static volatile long made;

/* Make a group, hold it 5 ms, drop it, wait 1 ms: with or without one when the tracer
 * looks.  Once traced (or told to stop), what it holds is kept, to be read. */
static void *making(void *unused) {
    (void)unused;
    for (;;) {
        held = make_group(secd);
        made += held >= 0;
        usleep(5000);
        if (stop_making || tracer_pid() > 0)
            break;
        if (held >= 0)
            close(held);
        held = -1;
        usleep(1000);
    }
    kept = 1;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage("kio_fanotify SECD [SECONDS [race|race-native]]");
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    secd = argv[1];
    if (argc > 3) {
        int native = strcmp(argv[3], "race-native") == 0;
        int probe = make_group(secd);
        if (probe < 0)
            skipped("fanotify: %s (needs CAP_SYS_ADMIN and CONFIG_FANOTIFY)", ename(errno));
        close(probe);
        pthread_t thread;
        if (pthread_create(&thread, NULL, making, NULL) != 0)
            skipped("pthread_create");
        printf("ready %d\n", getpid());
        fflush(stdout);
        double until = now_s() + (native ? 0.2 : 30);
        struct pollfd told = {.fd = 0, .events = POLLIN};
        while (now_s() < until && (native || (tracer_pid() <= 0 && poll(&told, 1, 1) == 0)))
            ;
        stop_making = 1;
        while (!kept)
            usleep(1000);
        note("traced by %d after %ld groups", tracer_pid(), made);
        if (!native && tracer_pid() <= 0)
            blocked("never traced (the attach was refused)");
        if (held < 0)
            blocked("no group made before the attach is held");
        listen_for(held, seconds);
    }
    int g = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY);
    if (g < 0) {
        if ((errno == EPERM || errno == ENOSYS) && !tracer_pid())
            skipped("fanotify_init: %s (needs CAP_SYS_ADMIN and CONFIG_FANOTIFY)", ename(errno));
        blocked("fanotify_init: %s", ename(errno));
    }
    if (fanotify_mark(g, FAN_MARK_ADD, FAN_OPEN | FAN_EVENT_ON_CHILD, AT_FDCWD, argv[1]) < 0)
        blocked("fanotify_mark(SECD): %s", ename(errno));
    wait_for_tracer();  /* ($ESC_WAIT_TRACER: a group made before `systrace --attach`) */
    listen_for(g, seconds);
}
