/* exec_pycwd.c: a Python entering its own table imports the caller's module from its cwd
 * (red team 53; exec-time table switches).
 *
 * Python run with -m MODULE (or -c CODE, or its program on stdin) puts its working directory
 * first on sys.path: the module -m names, and every module imported after, is looked up
 * there before the installed ones.  An exec into a Python's table (a per-program table, or
 * an argv rule that lets the caller run `python3 -m json.tool` only) is a change of
 * privilege; the engine checked the caller's variables (PYTHONPATH...), HOME's user site and
 * the script's spelling -- not the directory the caller runs it in, which it may write.
 *
 *   exec_pycwd PYTHON MODULE [-P]   plant MODULE (a package: MODULE/__init__.py) in the cwd,
 *                                   its code reading $ESC_TARGET and printing the verdict,
 *                                   then exec PYTHON [-P] -m MODULE.tool /dev/null (json.tool:
 *                                   a standard module; with -P, the installed one runs)
 *
 * ESCAPED is printed by the planted module when it read the secret; BLOCKED by it when the
 * read was refused, or here when the exec was.
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc != 3 && !(argc == 4 && strcmp(argv[3], "-P") == 0))
        usage("exec_pycwd PYTHON MODULE [-P]");
    char path[512], module[256];
    if (mkdir(argv[2], 0755) < 0 && errno != EEXIST)
        blocked("mkdir %s: %s", argv[2], ename(errno));
    snprintf(path, sizeof path, "%s/__init__.py", argv[2]);
    FILE *f = fopen(path, "w");
    if (!f)
        blocked("planting %s: %s", path, ename(errno));
    fprintf(f, "import os\n"
               "try:\n"
               "    got = open(os.environ['ESC_TARGET']).read().strip()\n"
               "    print('ESCAPED: the planted %s read ' + got, flush=True)\n"
               "except OSError as exc:\n"
               "    print('BLOCKED: the planted %s ran, its read refused: ' + str(exc),"
               " flush=True)\n"
               "os._exit(0)\n", argv[2], argv[2]);
    fclose(f);
    snprintf(module, sizeof module, "%s.tool", argv[2]);
    if (argc == 4)
        execl(argv[1], argv[1], "-P", "-m", module, "/dev/null", (char *)NULL);
    else
        execl(argv[1], argv[1], "-m", module, "/dev/null", (char *)NULL);
    blocked("exec %s -m %s: %s", argv[1], module, ename(errno));
}
