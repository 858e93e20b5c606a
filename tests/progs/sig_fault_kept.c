/* sig_fault_kept: a thread spins on a `jmp .` in the last two bytes of an executable page
 * whose next page cannot be run (PROT_READ): natively it spins for ever, but code written
 * there that is longer than two bytes (an injected call's) faults when it is fetched -- a
 * SIGSEGV the kernel forces.  The process has a SIGSEGV handler of its own.  Prints
 * "ready PID" once the thread is at its jmp; once stdin ends, prints "handler kept" when
 * its SIGSEGV action is still its handler ("handler lost" else: the kernel resets the
 * action of a forced signal the task blocks to SIG_DFL) and "spinner alive" when the
 * spinning thread still runs; ends 0. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void handler(int sig, siginfo_t *si, void *context) {
    (void)sig, (void)si, (void)context;
    _exit(3);  /* (natively never: the spinner never faults) */
}

static volatile unsigned char reached;

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) return 2;
    /* movabs $&reached, %rax; movb $1, (%rax); jmp . -- the jmp in the page's last two
     * bytes: once "reached" is set the thread is at it, for good */
    unsigned char *code = area + page - 15;
    unsigned long flag = (unsigned long)&reached;
    code[0] = 0x48, code[1] = 0xb8;
    memcpy(code + 2, &flag, 8);
    code[10] = 0xc6, code[11] = 0x00, code[12] = 0x01;
    code[13] = 0xeb, code[14] = 0xfe;
    if (mprotect(area, page, PROT_READ | PROT_EXEC) != 0) return 2;
    if (mprotect(area + page, page, PROT_READ) != 0) return 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    pthread_t thread;
    pthread_create(&thread, NULL, (void *(*)(void *))(void *)code, NULL);
    while (!reached) usleep(100);
    printf("ready %d\n", getpid());
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {}
    struct sigaction now;
    sigaction(SIGSEGV, NULL, &now);
    printf("handler %s\n", now.sa_sigaction == handler ? "kept" : "lost");
    printf("spinner %s\n", pthread_tryjoin_np(thread, NULL) != 0 ? "alive" : "gone");
    fflush(stdout);
    _exit(0);
}
