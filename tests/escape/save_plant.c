/* save_plant.c: the traced program aims the save of its learned policy (-A -o DIR/p.toml),
 * which systrace makes after the run, before it happens.
 *
 * The program runs as the user who starts systrace (the common case) or may write DIR (its
 * work directory, with -c): either way it may change what is at the names the save uses.
 *
 *   save_plant fifo PATH                  PATH (p.toml, .p.toml.lock) becomes a FIFO: a save
 *                                         that opens it waits for a writer for ever
 *   save_plant dir PATH                   PATH (p.toml.bak.5, a backup the save deletes)
 *                                         becomes a directory
 *   save_plant move DIR MOVED ELSEWHERE   DIR is renamed MOVED and a symlink to ELSEWHERE (a
 *                                         directory the user did not name) takes its place
 *
 * Prints "note: planted" when done -- the test looks at the files after the run.
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: save_plant fifo|dir PATH | move DIR MOVED ELSEWHERE\n");
        return 2;
    }
    if (strcmp(argv[1], "move") == 0) {
        if (argc != 5)
            return 2;
        if (rename(argv[2], argv[3]) < 0)
            blocked("rename %s: %s", argv[2], ename(errno));
        if (symlink(argv[4], argv[2]) < 0)
            blocked("symlink %s: %s", argv[2], ename(errno));
    } else {
        unlink(argv[2]);
        int rc = strcmp(argv[1], "fifo") == 0 ? mkfifo(argv[2], 0644) : mkdir(argv[2], 0755);
        if (rc < 0)
            blocked("%s %s: %s", argv[1], argv[2], ename(errno));
    }
    printf("note: planted\n");
    return 0;
}
