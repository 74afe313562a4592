/*
 * openssl-speed-style timing of Debian's GOST engine (libengine-gost-openssl) for the
 * README's comparison with qoltanba's GOST 34.10 (benches/gost.rs).
 * Build and run:  cc -O2 gost_engine_speed.c -lcrypto -o /tmp/gost_speed && /tmp/gost_speed
 * Each curve: a fresh key, then sign and verify a 64- or 32-byte digest in a loop.
 */
#include <openssl/engine.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run(ENGINE *e, const char *alg, const char *paramset, size_t dlen) {
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    EVP_PKEY *key = NULL;
    if (!kctx) {
        int id = OBJ_sn2nid(alg);
        kctx = EVP_PKEY_CTX_new_id(id, e);
    }
    if (!kctx || EVP_PKEY_keygen_init(kctx) <= 0 || EVP_PKEY_CTX_ctrl_str(kctx, "paramset", paramset) <= 0 ||
        EVP_PKEY_keygen(kctx, &key) <= 0) {
        fprintf(stderr, "%s: keygen failed\n", alg);
        return 1;
    }
    unsigned char digest[64], sig[128];
    memset(digest, 0x5a, sizeof digest);
    size_t siglen = sizeof sig;
    EVP_PKEY_CTX *sctx = EVP_PKEY_CTX_new(key, e);
    EVP_PKEY_sign_init(sctx);
    int n = 0;
    double start = now();
    while (now() - start < 2.0) {
        siglen = sizeof sig;
        if (EVP_PKEY_sign(sctx, sig, &siglen, digest, dlen) <= 0) { fprintf(stderr, "sign failed\n"); return 1; }
        n++;
    }
    double sign_ms = (now() - start) * 1000 / n;
    EVP_PKEY_CTX *vctx = EVP_PKEY_CTX_new(key, e);
    EVP_PKEY_verify_init(vctx);
    int m = 0;
    start = now();
    while (now() - start < 2.0) {
        if (EVP_PKEY_verify(vctx, sig, siglen, digest, dlen) != 1) { fprintf(stderr, "verify failed\n"); return 1; }
        m++;
    }
    double verify_ms = (now() - start) * 1000 / m;
    printf("%-14s %-3s sign %8.3f ms  verify %8.3f ms\n", alg, paramset, sign_ms, verify_ms);
    return 0;
}

int main(void) {
    ENGINE_load_builtin_engines();
    ENGINE *e = ENGINE_by_id("gost");
    if (!e || !ENGINE_init(e) || !ENGINE_set_default(e, ENGINE_METHOD_ALL)) {
        fprintf(stderr, "GOST engine not available (apt-get install libengine-gost-openssl)\n");
        return 1;
    }
    return run(e, "gost2012_512", "A", 64) | run(e, "gost2012_256", "A", 32) | run(e, "gost2001", "A", 32);
}
