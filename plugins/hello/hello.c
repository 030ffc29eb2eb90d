/* hello: the sample native plugin. `pypm plugin run hello a b` prints a greeting and its
 * argv, and returns its argc (3 here), which becomes pypm's exit code. */
#include <stdio.h>

#include "pypm_plugin.h"

PYPM_EXPORT int pypm_plugin_abi_version(void) { return PYPM_PLUGIN_ABI_VERSION; }

PYPM_EXPORT int pypm_plugin_main(int argc, char **argv) {
    printf("Hello from the pypm plugin %s!\n", argv[0]);
    for (int i = 0; i < argc; i++) {
        printf("argv[%d] = %s\n", i, argv[i]);
    }
    fflush(stdout);
    return argc;
}
