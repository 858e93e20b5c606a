/* hello: an ordinary program, linked by the tests with a chosen ELF interpreter
 * (-Wl,--dynamic-linker=PATH) for the PT_INTERP attack of child_interp. */
#include <stdio.h>

int main(void) {
    puts("note: hello ran");
    return 0;
}
