/* main.c — the dpifctl binary: everything is in dpifctl_main() so that the
 * unit tests can run the whole program in-process. */
#include <stdio.h>

#include "cli/dpifctl.h"

int
main(int argc, char *argv[])
{
    return dpifctl_main(argc, argv, stdout, stderr);
}
