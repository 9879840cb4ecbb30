/* SQLite backend: the latest state of every key in one table, the store revision in another.
 * WAL journal with synchronous=FULL, so a committed transaction survives a crash or power loss;
 * the store batches every write of an event-loop turn into one transaction (group commit).
 * Old revisions are not kept here: the database is always compacted to the latest state. */
#include "store/store.h"
#include "lib/xalloc.h"
#include <sqlite3.h>
#include <stdio.h>

typedef struct sqlite_be {
    sqlite3 *db;
    sqlite3_stmt *put, *del, *setrev;
} sqlite_be;

static const char schema_sql[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS objects(res TEXT NOT NULL, key TEXT NOT NULL, rev INTEGER NOT NULL,"
    "  idx TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY(res, key)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);";

static int fail(kc_err *err, sqlite3 *db, const char *what)
{
    return kc_errf(err, KC_EINTERNAL, "sqlite: %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

static void be_close(void *p)
{
    sqlite_be *b = p;
    if (!b) return;
    sqlite3_finalize(b->put);
    sqlite3_finalize(b->del);
    sqlite3_finalize(b->setrev);
    sqlite3_close(b->db);
    free(b);
}

void *kc_sqlite_open(const char *path, kc_err *err)
{
    sqlite_be *b = xcalloc(1, sizeof *b);
    if (sqlite3_open(path, &b->db) != SQLITE_OK ||
        sqlite3_exec(b->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(b->db, "INSERT OR REPLACE INTO objects(res,key,rev,idx,value) VALUES(?,?,?,?,?)", -1,
                           &b->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(b->db, "DELETE FROM objects WHERE res=? AND key=?", -1, &b->del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(b->db, "INSERT OR REPLACE INTO meta(k,v) VALUES('rev',?)", -1, &b->setrev, NULL) !=
            SQLITE_OK) {
        fail(err, b->db, path);
        be_close(b);
        return NULL;
    }
    return b;
}

static int be_load(void *p, kc_backend_load_cb cb, void *ud, uint64_t *rev, kc_err *err)
{
    sqlite_be *b = p;
    sqlite3_stmt *st;
    *rev = 0;
    if (sqlite3_prepare_v2(b->db, "SELECT v FROM meta WHERE k='rev'", -1, &st, NULL) != SQLITE_OK)
        return fail(err, b->db, "load rev");
    if (sqlite3_step(st) == SQLITE_ROW) *rev = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(b->db, "SELECT res,key,rev,idx,value FROM objects", -1, &st, NULL) != SQLITE_OK)
        return fail(err, b->db, "load");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t r = (uint64_t)sqlite3_column_int64(st, 2);
        if (r > *rev) *rev = r;
        cb(ud, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1), r,
           (const char *)sqlite3_column_text(st, 3), sqlite3_column_blob(st, 4),
           (size_t)sqlite3_column_bytes(st, 4));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : fail(err, b->db, "load");
}

static int step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int write_one(sqlite_be *b, const kc_backend_write *w)
{
    sqlite3_stmt *st = w->del ? b->del : b->put;
    sqlite3_bind_text(st, 1, w->res, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, w->key, -1, SQLITE_STATIC);
    if (!w->del) {
        sqlite3_bind_int64(st, 3, (sqlite3_int64)w->rev);
        sqlite3_bind_text(st, 4, w->idx, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 5, w->val, (int)w->len, SQLITE_STATIC);
    }
    return step(st);
}

static int be_commit(void *p, const kc_backend_write *w, size_t n, uint64_t rev, kc_err *err)
{
    sqlite_be *b = p;
    if (sqlite3_exec(b->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) return fail(err, b->db, "begin");
    for (size_t i = 0; i < n; i++) {
        if (write_one(b, &w[i]) < 0) {
            fail(err, b->db, w[i].key);
            sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    sqlite3_bind_int64(b->setrev, 1, (sqlite3_int64)rev);
    if (step(b->setrev) < 0 || sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fail(err, b->db, "commit");
        sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

const kc_backend_ops kc_sqlite_ops = {be_load, be_commit, be_close};
