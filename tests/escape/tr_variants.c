/* tr_variants: grow the tracer without bound through the native loop's learned variants.
 *
 *   tr_variants FILE COUNT
 *
 * The native stop loop (systrace_py/_cloop.c) tells a call's variants apart by one register
 * (an open's flags) and learns each new one from Python.  The kernel reads that register as
 * an int and open ignores flag bits it does not know, so a program can make every call a new
 * "variant": the high half of the register, and unknown or harmless low bits.  Before the
 * fix, each one was kept (a copy of every rule prefix it checks) and scanned at every stop:
 * the tracer's memory grew with the number of calls and its time with their square.
 *
 * Opens FILE read-only COUNT times, each with another flags register; prints how many opens
 * worked and, when traced, how much the tracer's resident memory grew (VmRSS of TracerPid):
 * ESCAPED when it grew by more than 0.1 KiB a call, BLOCKED otherwise (review 38, 10,000
 * calls: ~310 KiB on the native loop, ~145 KiB on Python's; with the fix taken back out of
 * _cloop.c -- keys of 64 bits, no MAX_VARIANTS -- 2,444 KiB, 0.24 KiB a call, which the
 * 0.4 KiB a call before did not catch: the loop kept ~0.95 KiB a call when the fix was
 * made); natively (no tracer) it only reports the opens (the control: every open works).
 * Class 6 (attacks on the tracer: resource exhaustion through the native loop).
 */
#include "attack.h"

static long rss_kib(int pid) {
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* harmless flag bits of a read-only open (open ignores unknown ones: bits 24..30) */
static long flags_of(long i) {
    static const int harmless[] = {O_NONBLOCK, O_NOCTTY, O_CLOEXEC, O_LARGEFILE};
    long flags = O_RDONLY;
    for (int b = 0; b < 4; b++)
        if (i & (1L << b))
            flags |= harmless[b];
    flags |= ((i >> 4) & 0x7f) << 24;
    return flags | ((i + 1) << 32);
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("tr_variants FILE COUNT");
    long count = atol(argv[2]);
    int tracer = tracer_pid();
    long before = tracer > 0 ? rss_kib(tracer) : -1;
    long ok = 0;
    for (long i = 0; i < count; i++) {
        long fd = syscall(SYS_openat, AT_FDCWD, argv[1], flags_of(i));
        if (fd >= 0) {
            ok++;
            close((int)fd);
        }
    }
    printf("opened %ld of %ld\n", ok, count);
    if (tracer <= 0)
        note("not traced");
    else {
        long after = rss_kib(tracer);
        note("tracer %d: VmRSS %ld KiB before, %ld KiB after", tracer, before, after);
        if (before > 0 && after - before > count / 10)
            escaped("the tracer grew by %ld KiB over %ld calls", after - before, count);
        blocked("the tracer grew by %ld KiB over %ld calls", after - before, count);
    }
    return 0;
}
