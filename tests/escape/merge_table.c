/* merge_table.c: a learning run merged (-A --merge) into the user's policy, whose own rule
 * refuses a directory, makes the merged policy let the next run read there.
 *
 * `systrace -A -o P --merge` adds each learned table's rules to the table of the same name,
 * after the user's rules, so that "a rule you wrote keeps deciding" (docs/learning.md,
 * "Merging").  A program the run executed gets a learned table of its own, and a table the
 * user's policy lacked was created holding the learned rules alone: none of the user's.  In
 * the user's policy that program ran in its caller's table, where the user's `never` decided;
 * in the merged one it runs in its new table, where nothing refuses what it did while
 * learning -- unconfined.  This program runs `CAT DIR/secret.txt` (CAT: /bin/cat, or argv[2])
 * and reads what it printed through a pipe.
 *
 *   merge_table DIR [CAT]   : ESCAPED when the program it ran printed the secret
 */
#include "attack.h"

#include <sys/wait.h>

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3)
        usage("merge_table DIR [CAT]");
    const char *cat = argc == 3 ? argv[2] : "/bin/cat";
    char path[4096];
    snprintf(path, sizeof path, "%s/secret.txt", argv[1]);
    int pipefd[2];
    if (pipe(pipefd) < 0)
        blocked("pipe: %s", ename(errno));
    pid_t pid = fork();
    if (pid < 0)
        blocked("fork: %s", ename(errno));
    if (pid == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        close(pipefd[1]);
        execl(cat, cat, path, (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    char buf[512];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = read(pipefd[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)n;
    if (memmem(buf, got, SECRET_MAGIC, strlen(SECRET_MAGIC)))
        escaped("%s printed %s, which the user's own rule refuses", cat, path);
    int status = 0;
    waitpid(pid, &status, 0);
    blocked("%s did not print %s (status %d)", cat, path,
            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}
