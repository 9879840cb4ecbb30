/* String-keyed open-addressing hash map: FNV-1a hashes, linear probing, tombstones on delete,
 * grows at 70% load (live + tombstones). Owns only its slot array. */
#include "lib/map.h"
#include "lib/xalloc.h"
#include <stdint.h>
#include <string.h>

#define TOMB ((const char *)1)

struct kc_map_slot {
    const char *key; /* NULL empty, TOMB deleted */
    uint64_t hash;
    void *val;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct kc_map_slot *find(const kc_map *m, const char *key, uint64_t h)
{
    if (!m->cap) return NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct kc_map_slot *s = &m->slots[i];
        if (!s->key) return NULL;
        if (s->key != TOMB && s->hash == h && strcmp(s->key, key) == 0) return s;
    }
}

static void grow(kc_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    while (m->len * 2 > ncap) ncap *= 2;
    struct kc_map_slot *old = m->slots;
    size_t ocap = m->cap;
    m->slots = xcalloc(ncap, sizeof *m->slots);
    m->cap = ncap;
    m->tombs = 0;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].key || old[i].key == TOMB) continue;
        size_t j = old[i].hash & (ncap - 1);
        while (m->slots[j].key) j = (j + 1) & (ncap - 1);
        m->slots[j] = old[i];
    }
    free(old);
}

void *kc_map_get(const kc_map *m, const char *key)
{
    struct kc_map_slot *s = find(m, key, hash(key));
    return s ? s->val : NULL;
}

void *kc_map_put(kc_map *m, const char *key, void *val)
{
    uint64_t h = hash(key);
    struct kc_map_slot *s = find(m, key, h);
    if (s) {
        void *old = s->val;
        s->key = key;
        s->val = val;
        return old;
    }
    if ((m->len + m->tombs + 1) * 10 >= m->cap * 7) grow(m);
    size_t i = h & (m->cap - 1);
    while (m->slots[i].key && m->slots[i].key != TOMB) i = (i + 1) & (m->cap - 1);
    if (m->slots[i].key == TOMB) m->tombs--;
    m->slots[i] = (struct kc_map_slot){key, h, val};
    m->len++;
    return NULL;
}

void *kc_map_del(kc_map *m, const char *key)
{
    struct kc_map_slot *s = find(m, key, hash(key));
    if (!s) return NULL;
    void *old = s->val;
    s->key = TOMB;
    s->val = NULL;
    m->len--;
    m->tombs++;
    return old;
}

int kc_map_next(const kc_map *m, size_t *iter, const char **key, void **val)
{
    for (; *iter < m->cap; (*iter)++) {
        struct kc_map_slot *s = &m->slots[*iter];
        if (!s->key || s->key == TOMB) continue;
        if (key) *key = s->key;
        if (val) *val = s->val;
        (*iter)++;
        return 1;
    }
    return 0;
}

size_t kc_map_len(const kc_map *m)
{
    return m->len;
}

void kc_map_release(kc_map *m)
{
    free(m->slots);
    *m = (kc_map)KC_MAP_INIT;
}
