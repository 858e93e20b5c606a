/* child_clone3: clone3 under the tracer -- ordinary use, the kernel's errors, and a struct
 * rewritten between check and use.
 *
 *   child_clone3 ordinary            pthread_create and posix_spawn (glibc makes both with
 *                                    clone3: a thread, and a vfork-like child on its own
 *                                    stack), then a fork-like clone3 with each struct
 *                                    version (64, 80, 88 bytes) and with a longer struct whose
 *                                    tail is zero: one line per step, to compare with a native
 *                                    run
 *       child_clone3 errors          bad sizes, pointers and fields: one line per case with
 *                                    the errno (or "ok"), to compare with a native run
 *       child_clone3 untraced_race [ITERATIONS [SECONDS]]
 *                                    a sibling thread flips the struct's flags between 0 and
 *                                    CLONE_UNTRACED while we call clone3 with it: ESCAPED when
 *                                    a child runs untraced (TracerPid 0, or unable to read it)
 * Class 4 (children that slip away) and issue 11 class 8 (clone3 checked, not refused).
 */
#include "race.h"

#include <linux/sched.h>
#include <spawn.h>

extern char **environ;

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

static long clone3_call(void *args, size_t size) {
    return syscall(SYS_clone3, args, size);
}

/* clone3 with these bytes; a child exits 7 at once.  "ok exit 7" or the errno's name. */
static const char *try_clone3(void *args, size_t size) {
    static char out[64];
    long pid = clone3_call(args, size);
    if (pid < 0)
        return ename(errno);
    if (pid == 0)
        _exit(7);
    int status = 0;
    waitpid((pid_t)pid, &status, __WALL);
    snprintf(out, sizeof out, "ok exit %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return out;
}

static void *nothing(void *arg) {
    return arg;
}

static void ordinary(void) {
    pthread_t threads[4];
    int made = 0;
    for (int i = 0; i < 4; i++)
        made += pthread_create(&threads[i], NULL, nothing, NULL) == 0;
    for (int i = 0; i < made; i++)
        pthread_join(threads[i], NULL);
    printf("pthread_create: %d of 4\n", made);
    pid_t pid;
    char *argv[] = {"true", NULL};
    int err = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
    int status = -1;
    if (err == 0)
        waitpid(pid, &status, 0);
    printf("posix_spawn: %s, status %d\n", err ? ename(err) : "ok", status);
    static const size_t sizes[] = {CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER1,
                                   CLONE_ARGS_SIZE_VER2, 128, 4096};
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        memset(page, 0, 8192);
        struct clone_args *args = (struct clone_args *)page;
        args->exit_signal = SIGCHLD;
        printf("clone3 size %zu: %s\n", sizes[i], try_clone3(args, sizes[i]));
    }
    printf("done\n");
}

static void errors(void) {
    long page_size = sysconf(_SC_PAGESIZE);
    /* two pages: the second is unmapped, so a struct can run off the first */
    char *page = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    munmap(page + page_size, page_size);
    char *unmapped = page + page_size;
    struct clone_args *args = (struct clone_args *)page;
#define RESET() (memset(page, 0, page_size), args->exit_signal = SIGCHLD)
#define CASE(label, ptr, size) printf("%s: %s\n", label, try_clone3(ptr, size))
    RESET();
    CASE("size 0", args, 0);
    CASE("size 63", args, 63);
    CASE("size 4097", args, 4097);
    CASE("size 2^40", args, 1ULL << 40);
    CASE("size 96, zero tail", args, 96);
    page[100] = 1;
    CASE("size 128, a nonzero byte at 100", args, 128);
    RESET();
    CASE("NULL", NULL, 64);
    CASE("unmapped", unmapped, 64);
    CASE("2^63", (void *)(1ULL << 63), 64);
    CASE("-16", (void *)-16LL, 64);
    struct clone_args *at_end = (struct clone_args *)(unmapped - 64);
    memset(at_end, 0, 64);
    at_end->exit_signal = SIGCHLD;
    CASE("64 bytes at a page's end", at_end, 64);
    CASE("88 bytes running off a page", at_end, 88);
    /* 96 bytes before the unmapped page: the head fits, the tail's first 8 bytes are
     * readable, the rest is not (the kernel checks the tail first, up to a nonzero byte) */
    struct clone_args *near_end = (struct clone_args *)(unmapped - 96);
    memset(near_end, 0, 96);
    near_end->exit_signal = SIGCHLD;
    CASE("128 bytes, the tail running off the page", near_end, 128);
    unmapped[-4] = 1;
    CASE("128 bytes, a nonzero tail byte before the unmapped page", near_end, 128);
    RESET();
    args->exit_signal = 65;
    CASE("exit_signal 65", args, 88);
    args->exit_signal = 1ULL << 32 | SIGCHLD;
    CASE("exit_signal 2^32+SIGCHLD", args, 88);
    RESET();
    args->set_tid_size = 1;
    CASE("set_tid_size without set_tid", args, 88);
    args->set_tid_size = 33;
    args->set_tid = (uintptr_t)page + 1024;
    CASE("set_tid_size 33", args, 88);
    args->set_tid_size = 0;
    CASE("set_tid without set_tid_size", args, 88);
    args->set_tid_size = 1;
    args->set_tid = (uintptr_t)unmapped;
    CASE("set_tid unmapped", args, 88);
    args->set_tid_size = 1;
    args->set_tid = (uintptr_t)unmapped;
    args->flags = 1ULL << 40;
    CASE("set_tid unmapped and an unknown flag", args, 88);
    RESET();
    args->flags = CLONE_DETACHED;
    CASE("CLONE_DETACHED", args, 88);
    args->flags = 0x01;
    CASE("a signal bit in the flags", args, 88);
    args->flags = 1ULL << 40;
    CASE("an unknown flag", args, 88);
    args->flags = CLONE_VM | CLONE_SIGHAND | CLONE_CLEAR_SIGHAND;
    CASE("CLONE_SIGHAND|CLONE_CLEAR_SIGHAND", args, 88);
    args->flags = CLONE_PARENT;
    CASE("CLONE_PARENT with an exit signal", args, 88);
    args->flags = CLONE_INTO_CGROUP;
    args->cgroup = 3;
    CASE("CLONE_INTO_CGROUP in a version-1 struct", args, 80);
    args->cgroup = 1ULL << 31;
    CASE("CLONE_INTO_CGROUP, cgroup 2^31", args, 88);
    RESET();
    args->stack = (uintptr_t)page;
    CASE("a stack without a size", args, 88);
    args->stack = 0;
    args->stack_size = 4096;
    CASE("a stack size without a stack", args, 88);
    RESET();
    CASE("all good", args, 88);
    printf("done\n");
}

/* --- the race ------------------------------------------------------------------------------ */
static struct clone_args *shared_args;
static volatile int stop;
static volatile long flips;

static void *flip_flags(void *arg) {
    (void)arg;
    volatile __u64 *flags = &shared_args->flags;
    while (!stop) {
        /* each value stays a while: the reader sees both */
        *flags = 0;
        for (volatile int i = 0; i < 200; i++)
            ;
        *flags = CLONE_UNTRACED;
        for (volatile int i = 0; i < 200; i++)
            ;
        flips++;
    }
    return NULL;
}

static void untraced_race(struct budget *budget) {
    shared_args = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    shared_args->exit_signal = SIGCHLD;
    pthread_t th;
    pthread_create(&th, NULL, flip_flags, NULL);
    wait_for_peer(&flips);
    int p[2];
    if (pipe(p) < 0)
        blocked("pipe: %s", ename(errno));
    long made = 0, refused = 0, untraced = 0;
    budget->start = now_s();
    while (budget_left(budget)) {
        long pid = clone3_call(shared_args, sizeof *shared_args);
        if (pid == 0) {
            int tp = tracer_pid();
            if (write(p[1], &tp, sizeof tp) != sizeof tp)
                _exit(1);
            _exit(0);
        }
        if (pid < 0) {
            refused++;
            continue;
        }
        made++;
        /* an untraced child reads TracerPid 0 -- or nothing at all (-1), when it still holds
         * the tracer's filter: without a tracer, every call the filter sends to it fails */
        int tp = -1;
        if (read(p[0], &tp, sizeof tp) == sizeof tp && tp <= 0)
            untraced++;
        waitpid((pid_t)pid, NULL, __WALL);
    }
    stop = 1;
    pthread_join(th, NULL);
    note("%ld tries: %ld children, %ld untraced, %ld refused; %ld flips", budget->done - 1,
         made, untraced, refused, flips);
    if (untraced)
        escaped("%ld children ran untraced (TracerPid 0)", untraced);
    if (!made)
        blocked("no child was made (%ld refused)", refused);
    blocked("%ld children, every one traced", made);
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage("child_clone3 ordinary|errors|untraced_race [ITERATIONS [SECONDS]]");
    setvbuf(stdout, NULL, _IOLBF, 0);
    idle_thread_if_asked();
    if (!strcmp(argv[1], "ordinary")) {
        ordinary();
    } else if (!strcmp(argv[1], "errors")) {
        errors();
    } else if (!strcmp(argv[1], "untraced_race")) {
        struct budget budget;
        budget_args(&budget, argc, argv, 2);
        untraced_race(&budget);
    } else {
        usage("MODE: ordinary errors untraced_race");
    }
    return 0;
}
