/* path_search.c: telling which names a directory holds without the right to search it
 * (issue 11, the resolver's credentials).
 *
 * The kernel checks the calling task's search permission on every directory its lookup looks
 * in.  "DIR/name/.." ends on DIR's parent, but its lookup looks in DIR (for "name"): natively
 * EACCES for a task that may not search DIR, whether "name" is there or not.  A tracer that
 * resolves the path with its own (root's) credentials and hands the kernel the canonical
 * spelling (DIR's parent, whose lookup does not look in DIR) lets it succeed -- and answer
 * ENOENT for a name that is not there: an oracle for the names in DIR.  So do "DIR/.",
 * "DIR/..", and a symlink in DIR pointing out of it.
 *
 *   path_search DIR [UID GID [SETID_COPY]]
 *   path_search DIR userns
 *
 * With "userns" it does not drop its ids but moves into a user namespace of its own
 * (unshare(CLONE_NEWUSER), no id mapped): it keeps uid 0, but its capabilities hold only over
 * inodes whose owner is mapped into it, so a directory owned by another user with mode 0700 is
 * one it may not search -- then it forks, and the child probes (a tree of two tasks: the
 * calls are held, handed to the kernel by the tracer's spelling).  With "userns-map" the
 * child makes the namespace and looks through DIR once (unmapped: EACCES), then its parent,
 * outside, maps every id into it (uid_map, gid_map): its capabilities now hold over DIR, and
 * it probes as root would (the tracer must not keep what it read before the maps).
 *
 * DIR holds a directory "present" and a symlink "out" -> "..".  With UID GID the program
 * first looks through DIR as it is (root: the tracer reads its credentials, and may keep
 * them), then drops to UID/GID (setgroups, setgid, setuid: every thread) and probes.  Each
 * probe prints "probe OP SPELLING: OK|ERRNO".  ESCAPED when a probe succeeded or "present"
 * and "absent" were answered differently (a name's existence told); BLOCKED when every probe
 * failed alike.  With SETID_COPY (a set-user-ID-root copy of this program), after the drop it
 * looks through DIR once more as nobody (the tracer reads its credentials again: nobody's)
 * and then execs the copy, which probes as root: what the copy may see is root's, natively
 * and traced (the tracer must read its credentials again at exec).
 */
#include "attack.h"

#include <grp.h>
#include <sched.h>

static const char *const SPELLINGS[] = {"present/..", "absent/..", "present/.", "absent/.",
                                        ".", "..", "out", "out/.", "present", "absent"};
#define N_SPELLINGS (sizeof SPELLINGS / sizeof SPELLINGS[0])

static int answer(const char *op, const char *path) {
    struct stat st;
    int fd;
    if (strcmp(op, "stat") == 0)
        return stat(path, &st) == 0 ? 0 : errno;
    if (strcmp(op, "lstat") == 0)
        return lstat(path, &st) == 0 ? 0 : errno;
    fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return errno;
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || (argc == 3 && strncmp(argv[2], "userns", 6) != 0) || argc > 5)
        usage("path_search DIR [UID GID [SETID_COPY]] | DIR userns|userns-map");
    const char *dir = argv[1];
    char path[4096];
    if (argc == 3 && strcmp(argv[2], "userns-map") == 0) {
        int ready[2], mapped[2];
        char byte = 0;
        if (pipe(ready) != 0 || pipe(mapped) != 0)
            skipped("no pipe: %s", ename(errno));
        fflush(stdout);
        pid_t child = fork();
        if (child < 0)
            skipped("cannot fork: %s", ename(errno));
        if (child == 0) {
            if (unshare(CLONE_NEWUSER) != 0)
                skipped("cannot make a user namespace: %s", ename(errno));
            snprintf(path, sizeof path, "%s/present/..", dir);
            note("unmapped: %s", ename(answer("stat", path)));
            fflush(stdout);
            if (write(ready[1], &byte, 1) != 1 || read(mapped[0], &byte, 1) != 1)
                skipped("lost the parent");
        } else {
            static const char *const MAPS[] = {"uid_map", "gid_map"};
            if (read(ready[0], &byte, 1) != 1)
                return 1;  /* (the child said why) */
            for (int m = 0; m < 2; m++) {
                snprintf(path, sizeof path, "/proc/%d/%s", (int)child, MAPS[m]);
                if (write_file(path, "0 0 4294967295\n") != 0)
                    skipped("cannot write %s: %s", path, ename(errno));
            }
            if (write(mapped[1], &byte, 1) != 1)
                return 1;
            int status = 0;
            waitpid(child, &status, 0);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        }
    } else if (argc == 3) {
        snprintf(path, sizeof path, "%s/present/..", dir);
        note("as it was: %s", ename(answer("stat", path)));
        if (unshare(CLONE_NEWUSER) != 0)
            skipped("cannot make a user namespace: %s", ename(errno));
        fflush(stdout);
        pid_t child = fork();
        if (child < 0)
            skipped("cannot fork: %s", ename(errno));
        if (child > 0) {
            int status = 0;
            waitpid(child, &status, 0);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        }
    }
    idle_thread_if_asked();
    if (argc >= 4) {
        snprintf(path, sizeof path, "%s/present/..", dir);
        note("as it was: %s", ename(answer("stat", path)));
        gid_t gid = (gid_t)strtoul(argv[3], NULL, 10);
        if (setgroups(0, NULL) != 0 || setgid(gid) != 0
            || setuid((uid_t)strtoul(argv[2], NULL, 10)) != 0)
            skipped("cannot drop privileges: %s", ename(errno));
        if (argc == 5) {
            note("as nobody: %s", ename(answer("stat", path)));
            execl(argv[4], argv[4], dir, (char *)NULL);
            skipped("cannot exec %s: %s", argv[4], ename(errno));
        }
    }
    static const char *const OPS[] = {"stat", "lstat", "open"};
    int told = 0, passed = 0, first = -1, differ = 0;
    for (size_t o = 0; o < 3; o++) {
        int answers[N_SPELLINGS];
        for (size_t s = 0; s < N_SPELLINGS; s++) {
            snprintf(path, sizeof path, "%s/%s", dir, SPELLINGS[s]);
            answers[s] = answer(OPS[o], path);
            printf("probe %s %s: %s\n", OPS[o], SPELLINGS[s],
                   answers[s] ? ename(answers[s]) : "OK");
            passed += answers[s] == 0;
            if (first < 0)
                first = answers[s];
            differ += answers[s] != first;
        }
        /* present/.. against absent/.., present/. against absent/., present against absent */
        told += answers[0] != answers[1] || answers[2] != answers[3] || answers[8] != answers[9];
    }
    fflush(stdout);
    if (told || passed)
        escaped("%d probes passed through DIR; present and absent told apart in %d ways",
                passed, told);
    blocked("every probe failed alike (%s)%s", ename(first), differ ? ", not all alike" : "");
}
