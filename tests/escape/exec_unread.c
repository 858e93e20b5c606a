/* exec_unread: a program the tracer may not read, whose ELF interpreter a rule refuses.
 *
 *   exec_unread PROGRAM
 *
 * The kernel execs a file with execute permission alone (it reads the file itself), so a
 * mode-0111 program runs for a user who may not read it -- and so may not a tracer running as
 * that user.  To find the ELF interpreter (PT_INTERP) the kernel will load, the tracer reads
 * the file; one it could not open counted as a file with no interpreter, and PROGRAM, whose
 * PT_INTERP names a payload in a directory the policy refuses to exec, ran that payload
 * before its own first instruction.  (The process is then not dumpable: the tracer cannot
 * read its memory, and every call a rule looks at fails -- but the payload's code runs, and
 * its exit status, which no rule looks at, says so.)  ESCAPED when the child exits with the
 * payload's status.
 * Class 4 (children that slip away) / class 5 (work the kernel does for the program).
 *
 * Built twice: as the attack, and with -DPAYLOAD -nostdlib -static-pie as the payload, an
 * ELF interpreter with no libc that exits with PAYLOAD_STATUS.
 */
#define PAYLOAD_STATUS 94

#ifdef PAYLOAD
#include <sys/syscall.h>

__attribute__((used)) void start_c(void) {
    __asm__ volatile("syscall" ::"a"(SYS_exit_group), "D"(PAYLOAD_STATUS) : "rcx", "r11", "memory");
    for (;;) {
    }
}

__asm__(".globl _start\n_start:\n and $-16, %rsp\n call start_c\n hlt\n");
#else
#include "attack.h"

int main(int argc, char **argv) {
    if (argc < 2)
        usage("exec_unread PROGRAM");
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[1], argv + 1);
        _exit(100 + (errno & 0x1f));
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == PAYLOAD_STATUS)
        escaped("the refused interpreter ran (exit status %d)", PAYLOAD_STATUS);
    if (WIFEXITED(status) && WEXITSTATUS(status) >= 100)
        blocked("exec: %s", ename(WEXITSTATUS(status) - 100));
    blocked("the refused interpreter did not run (child status %#x)", status);
}
#endif
