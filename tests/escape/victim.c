/* victim: a process outside the traced tree for the attacks on other processes' memory.
 * It maps a page holding "INTACT", keeps a read-write descriptor of its own /proc/self/mem
 * (as systrace's tracer does of its tracees'), prints "PID ADDRESS FD", then waits for
 * SIGUSR1 (at most 20 s) and prints what the page holds: "INTACT", or what was written. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(page, "INTACT");
    int memfd = open("/proc/self/mem", O_RDWR);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("%d %lx %d\n", getpid(), (unsigned long)page, memfd);
    fflush(stdout);
    struct timespec t = {.tv_sec = 20};
    sigtimedwait(&set, NULL, &t);
    printf("%s\n", page);
    return 0;
}
