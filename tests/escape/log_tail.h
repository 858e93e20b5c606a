/* log_tail.h: what log_tail_open.c (red teams 55 and 56) and log_tail_send.c (red team 55)
 * share: the run's own --log (or a recorder's copy of it), grown by records of
 * permitted, logged opens (NATIVE=1: lines the program writes itself) until its size lands
 * where the attack wants it, and the start they make.  Included after attack.h. */
#ifndef LOG_TAIL_H
#define LOG_TAIL_H

#include <sys/mman.h>

#define MIN_PAD 8
#define MAX_PAD 97

static int native;
static int logw = -1;
/* set when the log is a copy a recorder makes asynchronously (log_tail_open.c's RECORDED=1: a typescript):
 * its size is read once it has stopped growing */
static int settles;

static off_t raw_size(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0)
        blocked("fstat of the log: %s", ename(errno));
    return st.st_size;
}

/* the log's size -- with settles, once the recorder has copied what was written (unchanged
 * 2 ms) */
static off_t log_size(int fd) {
    off_t size = raw_size(fd);
    for (int quiet = 0, n = 0; settles && !native && quiet < 2 && n < 200; n++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        off_t now = raw_size(fd);
        quiet = now == size ? quiet + 1 : 0;
        size = now;
    }
    return size;
}

/* what a record begins with: {"time": and the time's whole seconds */
static void record_start(char *out, size_t room) {
    snprintf(out, room, "{\"time\":%lld.", (long long)time(NULL));
}

/* One record more in the log: a permitted, logged open of a name that does not exist
 * (natively: a line of about that length written by the program itself). */
static void pad(unsigned len) {
    char name[128];
    memset(name, 'p', len);
    name[len] = 0;
    if (native) {
        char line[800], start[64];
        record_start(start, sizeof start);
        int k = snprintf(line, sizeof line, "%s123456,\"path\":\"%s\",\"flags\":0}}\n", start,
                         name);
        if (write(logw, line, k) != k)
            blocked("write of the log: %s", ename(errno));
        return;
    }
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        close(fd);
}

/* One pad toward a log NEED bytes longer (a record's length: C + A * the name's): the name's
 * length that lands it, a short one when NEED is less than the shortest record, the longest
 * when more (the page's end passed: the next page); after 40 pads without a try (MISSED),
 * lengths of their own, for a window the measure keeps missing. */
static void pad_toward(long need, long a, long c, unsigned n, unsigned *missed) {
    long len = MAX_PAD;
    if (need >= c + a * MIN_PAD && need <= c + a * MAX_PAD)
        len = (need - c) / a;
    else if (need < c + a * MIN_PAD)
        len = MIN_PAD + n % 7;
    if (++*missed > 40)
        len = MIN_PAD + (n * 37) % (MAX_PAD - MIN_PAD);
    pad((unsigned)len);
}

/* The start: LOG (argv[1]) open to read (natively, to append too), two anonymous pages of the
 * program's own, and a record's length measured by two pads. */
struct log_tail {
    int fd;       /* LOG, read */
    long page;
    char *area;   /* two pages */
    long a, c;    /* a record's length: c + a * (the name's length) */
};

static struct log_tail log_tail_start(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s LOG SECRET TRIES\n", argv[0]);
        exit(2);
    }
    struct log_tail t;
    native = getenv("NATIVE") != NULL;
    t.fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (t.fd < 0)
        blocked("open of the log: %s", ename(errno));
    if (native && (logw = open(argv[1], O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
        blocked("open of the log for writing: %s", ename(errno));
    t.page = sysconf(_SC_PAGESIZE);
    t.area = mmap(NULL, 2 * t.page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t.area == MAP_FAILED)
        blocked("mmap: %s", ename(errno));
    off_t before = log_size(t.fd);
    pad(10);
    off_t d1 = log_size(t.fd) - before;
    before = log_size(t.fd);
    pad(40);
    off_t d2 = log_size(t.fd) - before;
    /* (rounded: the two times' texts may differ by a few digits, trailing zeros dropped) */
    t.a = (d2 - d1 + 15) / 30 > 0 ? (d2 - d1 + 15) / 30 : 1;
    t.c = d1 - 10 * t.a;
    return t;
}

#endif
