/* ask_colours.c: the question drawn in invisible colours (red team 10).
 *
 * The prompt resets the character attributes before it draws (SGR 0: prompt.KNOWN_STATE),
 * which leaves text in the terminal's *default* colours -- and a program may redefine those:
 * OSC 10 (default foreground) and OSC 11 (default background), here both the same dark grey,
 * so every character drawn in the default colours is invisible; OSC 4 likewise redefines the
 * palette the prompt's own colours come from (its "(!)" of a dangerous scope is ansired).  A
 * program that drew its own question in explicit colours first (ask_screen.c) then has the
 * person read that one, with the real question present but unseen.  Then it opens ASKED
 * (the policy asks) and prints how the open ended.  Closed: KNOWN_STATE also resets the
 * default colours and the palette (OSC 110, 111, 104).
 *
 *   ask_colours ASKED
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: ask_colours ASKED\n");
        return 2;
    }
    static const char spoil[] = "\033]10;#101010\007\033]11;#101010\007\033]4;1;#101010\007";
    if (write(0, spoil, sizeof spoil - 1) < 0) return 1;  /* (fd 0: the terminal) */
    int fd = open(argv[1], O_RDONLY);
    int err = errno;
    printf("open -> %s\n", fd >= 0 ? "ok" : strerror(err));
    return 0;
}
