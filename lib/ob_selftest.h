/*  ob_selftest.h — included by every file that holds a module's self-test
    (x_test()), after its other includes: it forces assert() on even in a
    build with -DNDEBUG, so a self-test checks everything in every build
    (czmq's czmq_classes.h does the same). Asserts in self-tests have no
    side effects: `int rc = f (); assert (rc == 0);`.                       */
#ifdef NDEBUG
#undef NDEBUG
#endif
#include <assert.h>
