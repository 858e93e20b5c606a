/* show_args: print each argument after argv[0] as hex, one a line -- what the kernel gave a
 * #! interpreter (tests/engine/test_exec_image.py: the #! line's argument). */
#include <stdio.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        for (const unsigned char *c = (const unsigned char *)argv[i]; *c; c++) printf("%02x", *c);
        printf("\n");
    }
    return 0;
}
