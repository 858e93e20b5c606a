/* area_held: where the scratch area a run that seals mapped at an exec is used (close 25).
 * Static (its entry, where the premap's trap code runs, lies in its own image).
 *
 *   area_held open          a thread, then an open (held: its path copied into the area),
 *                           then "open=FD|-ERRNO" and the area's VmFlags in its smaps
 *   area_held vfork PROG..  vfork, the child execs PROG with an empty environment (short:
 *                           the native loop's stub can serve its exec), "child=STATUS" */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int go_on;
static void *wait_a_while(void *unused) {
    (void)unused;
    while (!__atomic_load_n(&go_on, __ATOMIC_ACQUIRE)) usleep(1000);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "vfork")) {
        char *none[] = {NULL};
        pid_t child = vfork();
        if (child == 0) {
            execve(argv[2], argv + 2, none);
            _exit(127);
        }
        int status = -1;
        waitpid(child, &status, 0);
        printf("child=%d\n", status);
        return 0;
    }
    pthread_t thread;
    pthread_create(&thread, NULL, wait_a_while, NULL);
    int fd = open("/etc/hostname", O_RDONLY);
    int err = errno;
    __atomic_store_n(&go_on, 1, __ATOMIC_RELEASE);
    pthread_join(thread, NULL);
    static char smaps[1 << 20];
    int s = open("/proc/self/smaps", O_RDONLY);
    ssize_t n = 0, got;
    while (s >= 0 && (got = read(s, smaps + n, sizeof smaps - 1 - n)) > 0) n += got;
    smaps[n] = 0;
    char *at = strstr(smaps, "\n100000000000-");
    char *flags = at ? strstr(at, "VmFlags:") : NULL;
    if (flags) *strchr(flags, '\n') = 0;
    printf("open=%d %s\n", fd >= 0 ? fd : -err, flags ? flags : "no area");
    return 0;
}
