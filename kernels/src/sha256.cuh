/*
 * sha256.cuh - SHA-256 (FIPS 180-4) rounds written once for every build.
 *
 * Words are big-endian 32-bit values as FIPS 180-4 defines them; the macros
 * work on any type with 32-bit lanes (uint32_t, or a host vector of them), so
 * the same text runs one nonce per CUDA thread or 4/8/16 nonces per host call.
 * Rounds never move the eight working variables: the caller passes them in
 * rotated order instead (SHA256_8ROUNDS), which leaves no copies to schedule.
 */
#ifndef SPILLWAY_SHA256_CUH
#define SPILLWAY_SHA256_CUH

#include "portable.h"

SPW_CONST_TABLE uint32_t SHA256_K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

/* Initial hash value H(0). */
#define SHA256_IV0 0x6a09e667u
#define SHA256_IV1 0xbb67ae85u
#define SHA256_IV2 0x3c6ef372u
#define SHA256_IV3 0xa54ff53au
#define SHA256_IV4 0x510e527fu
#define SHA256_IV5 0x9b05688cu
#define SHA256_IV6 0x1f83d9abu
#define SHA256_IV7 0x5be0cd19u

#define SHA256_BSIG0(x) (SPW_ROTR(x, 2) ^ SPW_ROTR(x, 13) ^ SPW_ROTR(x, 22))
#define SHA256_BSIG1(x) (SPW_ROTR(x, 6) ^ SPW_ROTR(x, 11) ^ SPW_ROTR(x, 25))
#define SHA256_SSIG0(x) (SPW_ROTR(x, 7) ^ SPW_ROTR(x, 18) ^ ((x) >> 3))
#define SHA256_SSIG1(x) (SPW_ROTR(x, 17) ^ SPW_ROTR(x, 19) ^ ((x) >> 10))
/* Forms with one operation fewer than the textbook ones (on the GPU each is a
 * single LOP3 either way; on the host they save vector operations). */
#define SHA256_CH(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define SHA256_MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))

/* One round with kw = K[t] + W[t]: the new e lands in d, the new a in h. */
#define SHA256_ROUND(a, b, c, d, e, f, g, h, kw)                              \
    do {                                                                      \
        SPW_AUTO t1_ = (h) + SHA256_BSIG1(e) + SHA256_CH(e, f, g) + (kw);     \
        (d) += t1_;                                                           \
        (h) = t1_ + SHA256_BSIG0(a) + SHA256_MAJ(a, b, c);                    \
    } while (0)

/* W[t] for t >= 16 in a 16-word ring: w[t & 15] still holds W[t - 16]. */
#define SHA256_EXPAND(w, t)                                                   \
    ((w)[(t) & 15] += SHA256_SSIG1((w)[((t) - 2) & 15]) + (w)[((t) - 7) & 15] + \
                      SHA256_SSIG0((w)[((t) - 15) & 15]))

/* Eight rounds t..t+7 with the names rotated back to where they started.
 * KW(t) yields K[t] + W[t] (with the schedule expanded as the caller needs). */
#define SHA256_8ROUNDS(a, b, c, d, e, f, g, h, t, KW)                         \
    do {                                                                      \
        SHA256_ROUND(a, b, c, d, e, f, g, h, KW((t) + 0));                    \
        SHA256_ROUND(h, a, b, c, d, e, f, g, KW((t) + 1));                    \
        SHA256_ROUND(g, h, a, b, c, d, e, f, KW((t) + 2));                    \
        SHA256_ROUND(f, g, h, a, b, c, d, e, KW((t) + 3));                    \
        SHA256_ROUND(e, f, g, h, a, b, c, d, KW((t) + 4));                    \
        SHA256_ROUND(d, e, f, g, h, a, b, c, KW((t) + 5));                    \
        SHA256_ROUND(c, d, e, f, g, h, a, b, KW((t) + 6));                    \
        SHA256_ROUND(b, c, d, e, f, g, h, a, KW((t) + 7));                    \
    } while (0)

/*
 * One compression of a 64-byte block (16 big-endian words) into state.
 * Scalar; used by the host precompute (midstate), never in the scan loop.
 */
SPW_DEVICE void sha256_transform(uint32_t state[8], const uint32_t block[16])
{
    uint32_t w[16];
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    int i;
    for (i = 0; i < 16; i++) w[i] = block[i];
#define SPW_KW_PLAIN(t) (SHA256_K[t] + w[(t) & 15])
#define SPW_KW_EXPAND(t) (SHA256_K[t] + SHA256_EXPAND(w, t))
    SHA256_8ROUNDS(a, b, c, d, e, f, g, h, 0, SPW_KW_PLAIN);
    SHA256_8ROUNDS(a, b, c, d, e, f, g, h, 8, SPW_KW_PLAIN);
    for (i = 16; i < 64; i += 8) {
        SHA256_8ROUNDS(a, b, c, d, e, f, g, h, i, SPW_KW_EXPAND);
    }
#undef SPW_KW_PLAIN
#undef SPW_KW_EXPAND
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

#endif /* SPILLWAY_SHA256_CUH */
