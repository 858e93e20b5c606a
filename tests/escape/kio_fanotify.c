/* kio_fanotify: get the secret opened *for* us.  A plain fanotify group receives, with each
 * event, a descriptor the kernel opens on the file another process just opened -- here an
 * outsider (the test) that reads the secret now and then.  The mark is on the secret's
 * directory, which the policy does not protect; no path to the secret is ever given.
 *
 *   kio_fanotify SECD [SECONDS]
 *
 * Class 5 (I/O the kernel does for the program).  Needs CAP_SYS_ADMIN (a root tracee).
 * With $ESC_WAIT_TRACER, the group is made first, then a tracer awaited (red team 9: a group
 * made before `systrace --attach`).
 */
#include "attack.h"

#include <poll.h>
#include <sys/fanotify.h>

int main(int argc, char **argv) {
    if (argc < 2)
        usage("kio_fanotify SECD [SECONDS]");
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    int g = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY);
    if (g < 0) {
        if ((errno == EPERM || errno == ENOSYS) && !tracer_pid())
            skipped("fanotify_init: %s (needs CAP_SYS_ADMIN and CONFIG_FANOTIFY)", ename(errno));
        blocked("fanotify_init: %s", ename(errno));
    }
    if (fanotify_mark(g, FAN_MARK_ADD, FAN_OPEN | FAN_EVENT_ON_CHILD, AT_FDCWD, argv[1]) < 0)
        blocked("fanotify_mark(SECD): %s", ename(errno));
    wait_for_tracer();  /* ($ESC_WAIT_TRACER: a group made before `systrace --attach`) */
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
