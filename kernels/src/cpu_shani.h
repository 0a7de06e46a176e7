/*
 * cpu_shani.h - the CPU fallback's path for processors with the x86 SHA
 * extensions (SHA-NI: Intel since Goldmont/Ice Lake, AMD since Zen).
 *
 * SHA256RNDS2 does two rounds in one instruction, so this path does not run
 * the vector rounds of sha256d_scan.cu; it shares everything else with them:
 * the job (midstate, prehash inputs, target), the lane contract (a candidate
 * is a nonce whose limb 7 passes, or whose whole hash passes for `full`) and
 * the host re-check. Several nonces are interleaved because one SHA256RNDS2
 * waits on the previous one (latency 3-4 cycles, throughput 1-2 per cycle).
 *
 * State layout as the instructions want it: ABEF = {F, E, B, A} and
 * CDGH = {H, G, D, C} as 32-bit lanes 0..3; message groups hold W[t..t+3] in
 * lanes 0..3.
 *
 * Included by cpu_scan.c between target pragmas for "sha,sse4.1".
 */
#include <immintrin.h>

#ifndef SPW_SHANI_WAYS
#define SPW_SHANI_WAYS 3 /* nonces in flight per thread: measured best on Zen 3 */
#endif

/* K[4g..4g+3] as one vector. */
#define SPW_NI_K(g) _mm_loadu_si128((const __m128i *)&SHA256_K[4 * (g)])

/* Four rounds from message group `msg` (W + K already added), all ways. */
#define SPW_NI_4ROUNDS(s0, s1, msg)                                           \
    do {                                                                      \
        int j_;                                                               \
        for (j_ = 0; j_ < SPW_SHANI_WAYS; j_++) {                             \
            s1[j_] = _mm_sha256rnds2_epu32(s1[j_], s0[j_], msg[j_]);          \
        }                                                                     \
        for (j_ = 0; j_ < SPW_SHANI_WAYS; j_++) {                             \
            s0[j_] = _mm_sha256rnds2_epu32(s0[j_], s1[j_],                    \
                                           _mm_shuffle_epi32(msg[j_], 0x0e)); \
        }                                                                     \
    } while (0)

/* W[4g..4g+3] for g >= 4 into m[g & 3] (which held W[4g-16..4g-13]). */
#define SPW_NI_EXPAND(m, g)                                                   \
    do {                                                                      \
        int j_;                                                               \
        for (j_ = 0; j_ < SPW_SHANI_WAYS; j_++) {                             \
            __m128i x_ = _mm_sha256msg1_epu32(m[(g) & 3][j_], m[((g) + 1) & 3][j_]); \
            x_ = _mm_add_epi32(x_, _mm_alignr_epi8(m[((g) + 3) & 3][j_], m[((g) + 2) & 3][j_], 4)); \
            m[(g) & 3][j_] = _mm_sha256msg2_epu32(x_, m[((g) + 3) & 3][j_]); \
        }                                                                     \
    } while (0)

/* Group g >= 4: expand W[4g..4g+3], then its four rounds. Spelled out per g
 * (not a loop) so that m[][] stays in registers with every compiler. */
#define SPW_NI_GROUP(g)                                                       \
    do {                                                                      \
        SPW_NI_EXPAND(m, g);                                                  \
        SPW_NI_ADD_K(msg, m[(g) & 3], g);                                     \
        SPW_NI_4ROUNDS(s0, s1, msg);                                          \
    } while (0)

#define SPW_NI_ADD_K(out, m, g)                                               \
    do {                                                                      \
        int j_;                                                               \
        __m128i k_ = SPW_NI_K(g);                                             \
        for (j_ = 0; j_ < SPW_SHANI_WAYS; j_++) out[j_] = _mm_add_epi32(m[j_], k_); \
    } while (0)

/* {a, b, c, d, e, f, g, h} -> ABEF, CDGH */
static inline void spw_ni_pack(const uint32_t s[8], __m128i *abef, __m128i *cdgh)
{
    *abef = _mm_set_epi32((int)s[0], (int)s[1], (int)s[4], (int)s[5]);
    *cdgh = _mm_set_epi32((int)s[2], (int)s[3], (int)s[6], (int)s[7]);
}

/*
 * Scan [start, start + count) with SHA-NI, appending candidates to out.
 * count need not be a multiple of the ways: lanes past the end are dropped.
 */
static void spw_scan_shani(const spw_job *job, uint32_t start, uint64_t count, int full,
                           spw_results *out)
{
    uint32_t w0, w1, w2;
    __m128i mid_abef, mid_cdgh, pre_abef, iv_abef, iv_cdgh;
    __m128i kw_pad1[4], kw_pad2_hi[2];
    uint64_t i;
    int j;

    /* precompute: rounds 0-1 of block 2 do not involve the nonce */
    w0 = job->block2[0];
    w1 = job->block2[1];
    w2 = job->block2[2];
    spw_ni_pack(job->midstate, &mid_abef, &mid_cdgh);
    {
        __m128i msg = _mm_add_epi32(_mm_set_epi32(0, 0, (int)w1, (int)w0), SPW_NI_K(0));
        pre_abef = _mm_sha256rnds2_epu32(mid_cdgh, mid_abef, msg); /* after rounds 0-1 */
    }
    iv_abef = _mm_set_epi32((int)SHA256_IV0, (int)SHA256_IV1, (int)SHA256_IV4, (int)SHA256_IV5);
    iv_cdgh = _mm_set_epi32((int)SHA256_IV2, (int)SHA256_IV3, (int)SHA256_IV6, (int)SHA256_IV7);
    /* padding words plus K: constant message groups */
    kw_pad1[1] = _mm_add_epi32(_mm_set_epi32(0, 0, 0, (int)0x80000000u), SPW_NI_K(1));
    kw_pad1[2] = SPW_NI_K(2);
    kw_pad1[3] = _mm_add_epi32(_mm_set_epi32(640, 0, 0, 0), SPW_NI_K(3));
    kw_pad2_hi[0] = _mm_add_epi32(_mm_set_epi32(0, 0, 0, (int)0x80000000u), SPW_NI_K(2));
    kw_pad2_hi[1] = _mm_add_epi32(_mm_set_epi32(256, 0, 0, 0), SPW_NI_K(3));

    for (i = 0; i < count; i += SPW_SHANI_WAYS) {
        __m128i s0[SPW_SHANI_WAYS], s1[SPW_SHANI_WAYS], msg[SPW_SHANI_WAYS];
        __m128i m[4][SPW_SHANI_WAYS];
        uint32_t nonce[SPW_SHANI_WAYS];

        /* scan: first hash, block 2; rounds 0-1 came from the precompute */
        for (j = 0; j < SPW_SHANI_WAYS; j++) {
            nonce[j] = start + (uint32_t)i + (uint32_t)j;
            m[0][j] = _mm_set_epi32((int)__builtin_bswap32(nonce[j]), (int)w2, (int)w1, (int)w0);
            m[1][j] = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
            m[2][j] = _mm_setzero_si128();
            m[3][j] = _mm_set_epi32(640, 0, 0, 0);
            msg[j] = _mm_add_epi32(m[0][j], SPW_NI_K(0));
            s0[j] = _mm_sha256rnds2_epu32(mid_abef, pre_abef, _mm_shuffle_epi32(msg[j], 0x0e));
            s1[j] = pre_abef;
        }
        for (j = 0; j < SPW_SHANI_WAYS; j++) msg[j] = kw_pad1[1];
        SPW_NI_4ROUNDS(s0, s1, msg);
        for (j = 0; j < SPW_SHANI_WAYS; j++) msg[j] = kw_pad1[2];
        SPW_NI_4ROUNDS(s0, s1, msg);
        for (j = 0; j < SPW_SHANI_WAYS; j++) msg[j] = kw_pad1[3];
        SPW_NI_4ROUNDS(s0, s1, msg);
        SPW_NI_GROUP(4); SPW_NI_GROUP(5); SPW_NI_GROUP(6); SPW_NI_GROUP(7);
        SPW_NI_GROUP(8); SPW_NI_GROUP(9); SPW_NI_GROUP(10); SPW_NI_GROUP(11);
        SPW_NI_GROUP(12); SPW_NI_GROUP(13); SPW_NI_GROUP(14); SPW_NI_GROUP(15);

        /* scan: second hash; its message is the first digest */
        for (j = 0; j < SPW_SHANI_WAYS; j++) {
            __m128i abef = _mm_add_epi32(s0[j], mid_abef);
            __m128i cdgh = _mm_add_epi32(s1[j], mid_cdgh);
            m[0][j] = _mm_shuffle_epi32(_mm_unpackhi_epi64(cdgh, abef), 0x1b); /* a b c d */
            m[1][j] = _mm_shuffle_epi32(_mm_unpacklo_epi64(cdgh, abef), 0x1b); /* e f g h */
            m[2][j] = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
            m[3][j] = _mm_set_epi32(256, 0, 0, 0);
            s0[j] = iv_abef;
            s1[j] = iv_cdgh;
        }
        SPW_NI_ADD_K(msg, m[0], 0);
        SPW_NI_4ROUNDS(s0, s1, msg);
        SPW_NI_ADD_K(msg, m[1], 1);
        SPW_NI_4ROUNDS(s0, s1, msg);
        for (j = 0; j < SPW_SHANI_WAYS; j++) msg[j] = kw_pad2_hi[0];
        SPW_NI_4ROUNDS(s0, s1, msg);
        for (j = 0; j < SPW_SHANI_WAYS; j++) msg[j] = kw_pad2_hi[1];
        SPW_NI_4ROUNDS(s0, s1, msg);
        SPW_NI_GROUP(4); SPW_NI_GROUP(5); SPW_NI_GROUP(6); SPW_NI_GROUP(7);
        SPW_NI_GROUP(8); SPW_NI_GROUP(9); SPW_NI_GROUP(10); SPW_NI_GROUP(11);
        SPW_NI_GROUP(12); SPW_NI_GROUP(13); SPW_NI_GROUP(14);
        /* rounds 60-61; f after round 61 is the final h, so 62-63 wait for `full` */
        SPW_NI_EXPAND(m, 15);
        SPW_NI_ADD_K(msg, m[3], 15);
        for (j = 0; j < SPW_SHANI_WAYS; j++) {
            s1[j] = _mm_sha256rnds2_epu32(s1[j], s0[j], msg[j]);
        }
        for (j = 0; j < SPW_SHANI_WAYS; j++) {
            uint32_t limb7 = __builtin_bswap32((uint32_t)_mm_cvtsi128_si32(s1[j]) + SHA256_IV7);
            if (limb7 > job->target[7] || i + (uint64_t)j >= count) continue;
            if (full) {
                uint32_t hw[8], limb;
                int k, verdict = 0; /* -1: below, 0: equal so far, 1: above */
                __m128i abef = _mm_add_epi32(
                    _mm_sha256rnds2_epu32(s0[j], s1[j], _mm_shuffle_epi32(msg[j], 0x0e)), iv_abef);
                __m128i cdgh = _mm_add_epi32(s1[j], iv_cdgh);
                hw[0] = (uint32_t)_mm_extract_epi32(abef, 3);
                hw[1] = (uint32_t)_mm_extract_epi32(abef, 2);
                hw[4] = (uint32_t)_mm_extract_epi32(abef, 1);
                hw[5] = (uint32_t)_mm_extract_epi32(abef, 0);
                hw[2] = (uint32_t)_mm_extract_epi32(cdgh, 3);
                hw[3] = (uint32_t)_mm_extract_epi32(cdgh, 2);
                hw[6] = (uint32_t)_mm_extract_epi32(cdgh, 1);
                hw[7] = (uint32_t)_mm_extract_epi32(cdgh, 0);
                for (k = 7; k >= 0 && verdict == 0; k--) {
                    limb = __builtin_bswap32(hw[k]);
                    verdict = limb < job->target[k] ? -1 : limb > job->target[k] ? 1 : 0;
                }
                if (verdict > 0) continue;
            }
            spw_emit(out, nonce[j]);
        }
    }
}

#undef SPW_NI_K
#undef SPW_NI_4ROUNDS
#undef SPW_NI_EXPAND
#undef SPW_NI_ADD_K
#undef SPW_NI_GROUP
