/* restart_regs.c: a held call interrupted by a signal whose handler rewrites the registers the
 * kernel restarts it with (its ucontext), and what registers the program sees after a held
 * call.
 *
 *   restart_regs restart FIFO SECRET [thread]
 *       openat(AT_FDCWD, FIFO, O_RDONLY) by a raw syscall, which blocks (no writer); SIGALRM
 *       every 200 ms, SA_RESTART: the first handler points the restart's path register
 *       (REG_RSI) at SECRET -- natively the restarted call opens the secret.  Traced, the
 *       restart must stop again and be decided anew.  A note says what the handler saw:
 *       under a hold, the tracer's openat2 (437) on its copies in the scratch area.
 *   restart_regs regs FILE X [thread]
 *       whether rdi, rsi, rdx and r10 are what they were after an openat of FILE (the
 *       x86-64 syscall ABI clobbers only rax, rcx and r11); under a hold they are not.
 * thread: a second thread (idle, every signal blocked), so that calls are held. */
#include "attack.h"
#include <ucontext.h>
#include <sys/time.h>

static const char *secret_path;
static volatile int fired;
static volatile unsigned long long seen_rax, seen_rsi, seen_rdx, seen_r10, seen_rdi;

static void on_alarm(int sig, siginfo_t *si, void *ctx) {
    (void)sig; (void)si;
    ucontext_t *uc = ctx;
    fired++;
    if (fired == 1) {
        seen_rax = (unsigned long long)uc->uc_mcontext.gregs[REG_RAX];
        seen_rdi = (unsigned long long)uc->uc_mcontext.gregs[REG_RDI];
        seen_rsi = (unsigned long long)uc->uc_mcontext.gregs[REG_RSI];
        seen_rdx = (unsigned long long)uc->uc_mcontext.gregs[REG_RDX];
        seen_r10 = (unsigned long long)uc->uc_mcontext.gregs[REG_R10];
        uc->uc_mcontext.gregs[REG_RSI] = (greg_t)(uintptr_t)secret_path;
    } else if (fired > 20) {
        printf("BLOCKED: the call never came back from its restart (rax %llx)\n", seen_rax);
        fflush(stdout);
        _exit(0);
    }
}

static void *idle(void *arg) { (void)arg; for (;;) pause(); return NULL; }

int main(int argc, char **argv) {
    if (argc < 4) usage("restart_regs restart|regs FIFO|FILE SECRET [thread]");
    if (argc > 4) {
        pthread_t t;
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        pthread_create(&t, NULL, idle, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    secret_path = argv[3];
    if (!strcmp(argv[1], "restart")) {
        struct sigaction sa = {0};
        sa.sa_sigaction = on_alarm;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval it = {{0, 200000}, {0, 200000}};
        setitimer(ITIMER_REAL, &it, NULL);
        long fd;
        register long r10 __asm__("r10") = 0;
        __asm__ volatile("syscall" : "=a"(fd) : "0"((long)SYS_openat), "D"((long)AT_FDCWD),
                         "S"(argv[2]), "d"((long)O_RDONLY), "r"(r10) : "rcx", "r11", "memory");
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
        note("handler saw rax %llu rdi %llx rsi %llx rdx %llx r10 %llx, fired %d", seen_rax,
             seen_rdi, seen_rsi, seen_rdx, seen_r10, fired);
        tally("the restarted open", fd < 0 ? -1 : (int)fd, fd < 0 ? (int)-fd : 0);
        blocked("%s", tally_text);
    }
    if (!strcmp(argv[1], "regs")) {
        long fd;
        register long r10 __asm__("r10") = 0644;
        long rdi = AT_FDCWD, rsi = (long)argv[2], rdx = O_RDONLY;
        long rdi_out, rsi_out, rdx_out, r10_out;
        __asm__ volatile("syscall\n\tmov %%rdi, %1\n\tmov %%rsi, %2\n\tmov %%rdx, %3\n\tmov %%r10, %4"
                         : "=a"(fd), "=r"(rdi_out), "=r"(rsi_out), "=r"(rdx_out), "=r"(r10_out)
                         : "0"((long)SYS_openat), "D"(rdi), "S"(rsi), "d"(rdx), "r"(r10)
                         : "rcx", "r11", "memory");
        note("open %ld; rdi %lx->%lx rsi %lx->%lx rdx %lx->%lx r10 %lx->%lx", fd, rdi, rdi_out,
             rsi, rsi_out, rdx, rdx_out, (long)0644, r10_out);
        if (rdi != rdi_out || rsi != rsi_out || rdx != rdx_out || r10_out != 0644)
            blocked("registers changed by the call");
        blocked("registers kept");
    }
    usage("mode");
}
