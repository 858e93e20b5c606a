/* root_loader.c: a dynamic loader of the tree's own (red team 24), for root_views.c's
 * "loader" attack: no libc (it runs where ld.so would, before anything is set up), x86-64
 * system calls only.  It reads secd/secret.txt from the working directory (the scene's root,
 * outside the jail) and says ESCAPED when it got the secret, with the rights of the table of
 * the program it was loaded for.  Built with -nostdlib -static -fno-stack-protector. */
#include <sys/syscall.h>

#define SECRET_MAGIC "S3CR3T-7f1d9a42-do-not-leak"

static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

static void say(const char *text) {
    long n = 0;
    while (text[n]) n++;
    sys3(SYS_write, 1, (long)text, n);
}

void _start(void) {
    char buf[128];
    say("note: the tree's loader runs\n");
    long fd = sys3(SYS_open, (long)"secd/secret.txt", 0, 0);
    long n = fd >= 0 ? sys3(SYS_read, fd, (long)buf, sizeof buf - 1) : -1;
    int found = 0;
    for (long i = 0; n > 0 && i + (long)sizeof SECRET_MAGIC - 1 <= n; i++) {
        long j = 0;
        while (j < (long)sizeof SECRET_MAGIC - 1 && buf[i + j] == SECRET_MAGIC[j]) j++;
        if (j == (long)sizeof SECRET_MAGIC - 1) found = 1;
    }
    say(found ? "ESCAPED: the tree's loader read the secret with the program's table\n"
              : "BLOCKED: the tree's loader could not read the secret\n");
    sys3(SYS_exit_group, 0, 0, 0);
    for (;;) {}
}
