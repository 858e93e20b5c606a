/* learn_numbered.c: a program that names its files by numbers, learned, then run again
 * under what was learned with one step replaced.
 *
 * It makes DIR/lock.PID (its pid: a name holding one of the run's pids) and DIR/cache.N (a
 * number of 7 digits that is no pid: a counter's, an id's), writes each, and removes it --
 * names whose number changes, and whose length may, from run to run.  The learner took each
 * number's place for "*" after its prefix ("lock.[1-9]*", "cache.*"), so the next run could
 * make any name of the prefix: with ATTACK=1 it makes, new, names of the prefixes that are no
 * number ("lock.1evil", "cache.evil", "cache.1.sh") -- names another program may trust there.
 *
 * argv: DIR.  ESCAPED naming the names it made; BLOCKED when it made none of them.
 */
#include "attack.h"

static int make(const char *dir, const char *name, int excl) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | (excl ? O_EXCL : O_TRUNC) | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (write(fd, "x\n", 2) != 2)
        note("write to %s: %s", path, ename(errno));
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2)
        blocked("usage: learn_numbered DIR");
    const char *dir = argv[1];
    char lock[64], cache[64], path[4096];
    snprintf(lock, sizeof lock, "lock.%d", (int)getpid());
    snprintf(cache, sizeof cache, "cache.%d", 1000000 + (int)(getpid() * 7919L % 8999999));
    const char *own[] = {lock, cache};
    for (unsigned i = 0; i < 2; i++) {
        int err = make(dir, own[i], 0);
        if (err)
            blocked("its own %s: %s", own[i], ename(-err));
        snprintf(path, sizeof path, "%s/%s", dir, own[i]);
        if (unlink(path) < 0)
            note("unlink %s: %s", path, ename(errno));
    }
    const char *attack = getenv("ATTACK");
    if (!attack || strcmp(attack, "1"))
        blocked("made and removed %s and %s (learning)", lock, cache);
    const char *chosen[] = {"lock.1evil", "cache.evil", "cache.1.sh"};
    char made[256] = "";
    for (unsigned i = 0; i < 3; i++) {
        int err = make(dir, chosen[i], 1);
        if (!err) {
            strncat(made, " ", sizeof made - strlen(made) - 1);
            strncat(made, chosen[i], sizeof made - strlen(made) - 1);
        } else {
            note("%s: %s", chosen[i], ename(-err));
        }
    }
    if (made[0])
        escaped("made names of its numbers' prefixes that are no number:%s", made);
    blocked("made its own %s and %s, and none of its choosing", lock, cache);
}
