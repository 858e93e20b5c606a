/* proc_map_files.c FILE UID: the program's own /proc/self/map_files link, as a task without
 * CAP_SYS_ADMIN (red team 77).  It maps FILE, optionally starts a thread (ESC_THREAD=1),
 * drops to UID, and opens /proc/self/map_files/START-END: the kernel lets a task of the
 * process search that directory whatever its mode (proc_fd_permission) and follow its links
 * only with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE (proc_map_files_get_link: EPERM). */
#include "attack.h"
#include <sys/mman.h>

static void *idle(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) usage("proc_map_files FILE UID");
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) skipped("open %s: %s", argv[1], ename(errno));
    char *at = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (at == MAP_FAILED) skipped("mmap: %s", ename(errno));
    close(fd);
    if (getenv("ESC_THREAD")) {
        pthread_t t;
        if (pthread_create(&t, NULL, idle, NULL)) skipped("no thread");
    }
    uid_t uid = (uid_t)atoi(argv[2]);
    if (uid && setresuid(uid, uid, uid)) skipped("setresuid: %s", ename(errno));
    char path[128];
    snprintf(path, sizeof path, "/proc/self/map_files/%lx-%lx", (unsigned long)at,
             (unsigned long)at + 4096);
    int got = open(path, O_RDONLY);
    if (got >= 0) escaped("opened its own map_files link (fd -> %s)", fd_name(got));
    blocked("map_files: %s", ename(errno));
}
