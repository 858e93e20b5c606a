/* path_proc: read the secret through /proc's magic links.
 *
 *   path_proc MODE SECRET WORK [PID FD]
 *
 * MODE: root         /proc/self/root/SECRET, /proc/<pid>/root/..., /proc/thread-self/root/...
 *       cwd          chdir(SECD), then /proc/self/cwd/secret.txt and /proc/<pid>/cwd/...
 *       fd_dir       an O_PATH fd N of SECD, then /proc/self/fd/N/secret.txt
 *       fd_root      an O_PATH fd N of "/", then /proc/self/fd/N/<SECRET without '/'>
 *       outsider_fd  /proc/PID/fd/FD: a descriptor of the secret held by a process outside
 *                    the traced tree (re-opening it needs no path at all)
 *       tracer_cwd   /proc/<TracerPid>/cwd/secret.txt (the test starts systrace in SECD)
 * Class 1 (path spellings).
 */
#include "attack.h"

#include <libgen.h>

int main(int argc, char **argv) {
    if (argc < 4)
        usage("path_proc MODE SECRET WORK [PID FD]");
    const char *mode = argv[1], *secret = argv[2];
    char secd[4096], tmp[4096], p[8192];
    snprintf(tmp, sizeof tmp, "%s", secret);
    snprintf(secd, sizeof secd, "%s", dirname(tmp));
    if (!strcmp(mode, "root")) {
        snprintf(p, sizeof p, "/proc/self/root%s", secret);
        try_open("/proc/self/root/SECRET", p);
        snprintf(p, sizeof p, "/proc/%d/root%s", getpid(), secret);
        try_open("/proc/PID/root/SECRET", p);
        snprintf(p, sizeof p, "/proc/thread-self/root%s", secret);
        try_open("/proc/thread-self/root/SECRET", p);
        snprintf(p, sizeof p, "/proc/self/root/proc/self/root%s", secret);
        try_open("/proc/self/root/proc/self/root/SECRET", p);
        snprintf(p, sizeof p, "/proc/self/task/%d/root%s", (int)gettid(), secret);
        try_open("/proc/self/task/TID/root/SECRET", p);
    } else if (!strcmp(mode, "cwd")) {
        if (chdir(secd) < 0)
            blocked("chdir: %s", ename(errno));
        try_open("/proc/self/cwd/secret.txt", "/proc/self/cwd/secret.txt");
        snprintf(p, sizeof p, "/proc/%d/cwd/secret.txt", getpid());
        try_open("/proc/PID/cwd/secret.txt", p);
        try_open("/proc/thread-self/cwd/secret.txt", "/proc/thread-self/cwd/secret.txt");
        int root = open("/", O_RDONLY | O_DIRECTORY);
        try_open_at(root, "openat(fd of /, proc/self/cwd/secret.txt)", "proc/self/cwd/secret.txt",
                    O_RDONLY);
    } else if (!strcmp(mode, "fd_dir")) {
        int dfd = open(secd, O_PATH | O_DIRECTORY);
        if (dfd < 0)
            blocked("open(SECD, O_PATH): %s", ename(errno));
        snprintf(p, sizeof p, "/proc/self/fd/%d/secret.txt", dfd);
        try_open("/proc/self/fd/N/secret.txt", p);
        char dname[256];
        snprintf(tmp, sizeof tmp, "%s", secd);
        snprintf(dname, sizeof dname, "%s", basename(tmp));
        snprintf(p, sizeof p, "/proc/%d/fd/%d/../%s/secret.txt", getpid(), dfd, dname);
        try_open("/proc/PID/fd/N/../secd/secret.txt", p);
        snprintf(p, sizeof p, "/dev/fd/%d/secret.txt", dfd);
        try_open("/dev/fd/N/secret.txt", p);
    } else if (!strcmp(mode, "fd_root")) {
        int dfd = open("/", O_PATH | O_DIRECTORY);
        snprintf(p, sizeof p, "/proc/self/fd/%d%s", dfd, secret);
        try_open("/proc/self/fd/N/SECRET", p);
    } else if (!strcmp(mode, "outsider_fd")) {
        if (argc < 6) usage("outsider_fd PID FD");
        snprintf(p, sizeof p, "/proc/%s/fd/%s", argv[4], argv[5]);
        try_open("/proc/OUTSIDER/fd/N", p);
        snprintf(p, sizeof p, "/proc/%s/task/%s/fd/%s", argv[4], argv[4], argv[5]);
        try_open("/proc/OUTSIDER/task/OUTSIDER/fd/N", p);
    } else if (!strcmp(mode, "tracer_cwd")) {
        int tp = tracer_pid();
        if (tp <= 0) /* the control run: our own cwd stands in for the tracer's */
            tp = getpid();
        snprintf(p, sizeof p, "/proc/%d/cwd/secret.txt", tp);
        try_open("/proc/TRACER/cwd/secret.txt", p);
    } else {
        usage("MODE: root cwd fd_dir fd_root outsider_fd tracer_cwd");
    }
    tally_done();
}
