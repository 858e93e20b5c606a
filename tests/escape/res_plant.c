/* res_plant.c: a traced program plants another server under this build's socket name (red
 * team 24).
 *
 *   res_plant DIR NAME   rename the first socket in DIR (the user's resident directory,
 *                        which the program, running as the user, may write) that is not NAME
 *                        to NAME: the socket of a resident server of another copy of
 *                        systrace (another checkout, another venv's install -- other code,
 *                        perhaps older), which the user's next run then finds where its own
 *                        build's server would be.
 *
 * ESCAPED when a foreign socket now has this build's name (the test then checks what the
 * user's next run met there); BLOCKED when none could be put there.
 */
#include "attack.h"

#include <dirent.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: res_plant DIR NAME\n");
        return 2;
    }
    DIR *dir = opendir(argv[1]);
    if (!dir) blocked("opendir %s: %s", argv[1], ename(errno));
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        size_t len = strlen(entry->d_name);
        if (len < 5 || strcmp(entry->d_name + len - 5, ".sock") != 0) continue;
        if (strcmp(entry->d_name, argv[2]) == 0) continue;
        if (renameat(dirfd(dir), entry->d_name, dirfd(dir), argv[2]) < 0) {
            note("rename %s: %s", entry->d_name, ename(errno));
            continue;
        }
        escaped("%s now answers as %s", entry->d_name, argv[2]);
    }
    blocked("no foreign socket could be renamed");
}
