/* interp: a payload with no libc at all, so the kernel can load it as the ELF interpreter
 * (PT_INTERP) of another program, or run it as a script's "#!" interpreter.  It appends
 * PAYLOAD_MAGIC to $ESC_MARKER and exits.  Built -nostdlib -static-pie. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>

#define PAYLOAD_MAGIC "PAYLOAD-RAN-5e8c (as an interpreter)\n"

static long sys3(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

static int starts(const char *s, const char *prefix) {
    while (*prefix)
        if (*s++ != *prefix++)
            return 0;
    return 1;
}

__attribute__((used)) void start_c(long *sp) {
    long argc = sp[0];
    char **envp = (char **)(sp + 1 + argc + 1);
    for (; *envp; envp++) {
        if (starts(*envp, "ESC_MARKER=")) {
            long fd = sys3(SYS_open, (long)(*envp + 11), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                const char *m = PAYLOAD_MAGIC;
                long n = 0;
                while (m[n])
                    n++;
                sys3(SYS_write, fd, (long)m, n);
            }
        }
    }
    sys3(SYS_exit_group, 0, 0, 0);
}

__asm__(".globl _start\n_start:\n mov %rsp, %rdi\n and $-16, %rsp\n call start_c\n hlt\n");
