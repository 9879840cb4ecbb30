/* String-keyed hash map (open addressing, linear probing) from borrowed keys to void pointers.
 * Keys are borrowed: the caller keeps them alive while they are in the map (typically the key
 * lives inside the value). Not thread-safe. */
#ifndef KC_LIB_MAP_H
#define KC_LIB_MAP_H
#include <stddef.h>

typedef struct kc_map {
    size_t cap, len, tombs;
    struct kc_map_slot *slots;
} kc_map;

#define KC_MAP_INIT {0, 0, 0, NULL}

void *kc_map_get(const kc_map *m, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *kc_map_put(kc_map *m, const char *key, void *val);
/* Removes; returns the removed value or NULL. */
void *kc_map_del(kc_map *m, const char *key);
/* Iteration: `for (size_t i = 0; kc_map_next(m, &i, &k, &v);)` */
int kc_map_next(const kc_map *m, size_t *iter, const char **key, void **val);
void kc_map_release(kc_map *m);
size_t kc_map_len(const kc_map *m);

#endif
