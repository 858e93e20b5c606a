/* pkey_image: paths in the program's own execute-only segment.
 *
 *   pkey_image THREADS
 *
 * Run from a copy whose text segment is made execute-only (the test clears PF_R of its
 * PT_LOAD): on a CPU with protection keys the kernel's ELF loader maps it with exactly
 * PROT_EXEC, which gets the execute-only key -- without any call a seccomp filter sees.  The
 * kernel's copy of a path stored in that segment then faults (EFAULT), while a tracer reading
 * it from outside reads it.  One line "LABEL: RESULT" per call (ok, or the errno's name), then
 * "DONE".  THREADS=1 keeps a second thread alive meanwhile (a tracer then holds arguments).
 *
 * Class 6 (memory is read differently from the kernel): protection keys, from an exec.
 */
#include "attack.h"

/* "/dev/null", in .text (the segment that becomes execute-only) */
extern const char path_in_text[] __attribute__((visibility("hidden")));
__asm__(".pushsection .text\n"
        "path_in_text: .asciz \"/dev/null\"\n"
        ".popsection\n");

static void result(const char *label, long rc, int err) {
    printf("%s: %s\n", label, rc < 0 ? ename(err) : "ok");
    fflush(stdout);
}

static void *idle(void *arg) {
    char c;
    (void)read(*(int *)arg, &c, 1); /* until main is done */
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage("pkey_image THREADS");
    int threads = atoi(argv[1]);
    int hold[2];
    pthread_t thread;
    if (threads && (pipe(hold) != 0 || pthread_create(&thread, NULL, idle, &hold[0]) != 0))
        skipped("second thread failed");
    struct stat st;
    char *args[] = {"x", NULL};
    long r = syscall(SYS_open, path_in_text, O_RDONLY);
    int err = errno;
    if (r >= 0)
        close((int)r);
    result("text/open", r, err);
    r = syscall(SYS_stat, path_in_text, &st);
    result("text/stat", r, errno);
    r = syscall(SYS_execve, path_in_text, args, environ); /* a device: it cannot succeed */
    result("text/execve", r, errno);
    if (threads) {
        close(hold[1]);
        pthread_join(thread, NULL);
    }
    printf("DONE\n");
    return 0;
}
