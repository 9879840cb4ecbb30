/* Errors: the one error convention of kubec.
 *
 * A failing function returns a negative number and fills a caller-owned kc_err with a Kubernetes
 * reason (which fixes the HTTP code), a message, and optionally field causes (for 422 Invalid).
 * Building and returning is one line:
 *     if (n < 0) return kc_errf(err, KC_EINVALID, "spec.replicas: must be >= 0");
 * Whoever handles the error (request handler, controller runner) reports it once.
 * kc_err is a value type: KC_ERR_INIT, then kc_err_release() when done (frees the causes). */
#ifndef KC_LIB_ERR_H
#define KC_LIB_ERR_H
#include <jansson.h>
#include <stdarg.h>

typedef enum kc_reason {
    KC_OK = 0,
    KC_EBADREQUEST,     /* 400 BadRequest */
    KC_EUNAUTHORIZED,   /* 401 Unauthorized */
    KC_EFORBIDDEN,      /* 403 Forbidden */
    KC_ENOTFOUND,       /* 404 NotFound */
    KC_EMETHOD,         /* 405 MethodNotAllowed */
    KC_ENOTACCEPTABLE,  /* 406 NotAcceptable */
    KC_EALREADYEXISTS,  /* 409 AlreadyExists */
    KC_ECONFLICT,       /* 409 Conflict */
    KC_EGONE,           /* 410 Gone */
    KC_EEXPIRED,        /* 410 Expired */
    KC_ETOOLARGE,       /* 413 RequestEntityTooLarge */
    KC_EUNSUPPORTED,    /* 415 UnsupportedMediaType */
    KC_EINVALID,        /* 422 Invalid */
    KC_ETOOMANY,        /* 429 TooManyRequests */
    KC_ETIMEOUT,        /* 504 Timeout */
    KC_EINTERNAL,       /* 500 InternalError */
    KC_EUNAVAILABLE,    /* 503 ServiceUnavailable */
} kc_reason;

typedef struct kc_err {
    kc_reason reason;
    char msg[1024];
    json_t *causes; /* NULL or array of {"reason","message","field"}; owned */
} kc_err;

#define KC_ERR_INIT {KC_OK, {0}, NULL}

/* Sets reason and a printf-style message; returns -1 so callers can `return kc_errf(...)`. */
int kc_errf(kc_err *err, kc_reason reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefixes context to the message ("get x: <old message>"); keeps reason; returns -1. */
int kc_err_wrap(kc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a field cause (reason like "FieldValueInvalid", field path like "spec.containers[0].name"). */
void kc_err_cause(kc_err *err, const char *reason, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Number of causes collected so far. */
size_t kc_err_ncauses(const kc_err *err);
/* Frees the causes and resets to KC_OK. */
void kc_err_release(kc_err *err);

int kc_reason_code(kc_reason r);
const char *kc_reason_name(kc_reason r); /* "NotFound", ...; "" for KC_OK */

#endif
