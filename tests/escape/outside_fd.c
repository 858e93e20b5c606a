/* outside_fd.c SPELLING...: open each SPELLING -- /proc/PID/fd/N, /proc/PID/cwd/NAME or
 * /proc/PID/root/PATH of a process outside the traced tree that lives in a mount namespace of
 * its own, where a bind mount shows the refused directory under a permitted name -- and read
 * what it gives.  Such a process is no accomplice: a container, or a service whose unit gives
 * it private mounts (PrivateTmp=, BindPaths=), holding a file it uses.  Its /proc texts are
 * paths of *its* namespace: here they name the decoy, whose directory the bind covers there
 * only; the kernel's jump through the magic link reaches the secret.  ESCAPED at the first
 * spelling that gives the secret.  Red team 30 (docs/security.md): class 1, magic links --
 * descriptors from outside the tree.
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc < 2)
        usage("outside_fd SPELLING...");
    for (int i = 1; i < argc; i++)
        try_open(argv[i], argv[i]);
    tally_done();
}
