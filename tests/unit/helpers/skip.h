/*
 * skip.h — cmocka's skip() with a reason printed first, so that a run as a
 * non-root user says what was not tested.
 */
#ifndef DPIF_TEST_SKIP_H
#define DPIF_TEST_SKIP_H 1

#define skip_msg(...)                                                     \
    do {                                                                  \
        print_message("[  SKIP    ] " __VA_ARGS__);                       \
        print_message("\n");                                              \
        skip();                                                           \
    } while (0)

#endif /* skip.h */
