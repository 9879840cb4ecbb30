/* STUB: to be implemented (see gc.h). */
#include "controllers/gc.h"

void *kc_gc_start(kc_client *c)
{
    kc_client_free(c);
    return NULL;
}

void kc_gc_stop(void *ctl)
{
    (void)ctl;
}
