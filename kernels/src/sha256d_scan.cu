/*
 * sha256d_scan.cu - Bitcoin proof-of-work nonce search, one source for the
 * GPU (NVRTC through CuPy) and the CPU fallback (host C compiler, included by
 * cpu_scan.c once per instruction set). Keep it to the common subset of C and
 * CUDA C++.
 *
 * Input contract
 *   header     80 bytes: a 76-byte prefix, then the nonce as 4 little-endian
 *              bytes. SHA-256 reads big-endian words, so block 2 of the first
 *              hash is W[0..2] = header bytes 64..75, W[3] = bswap32(nonce),
 *              W[4] = 0x80000000 (the padding bit), W[5..14] = 0 and
 *              W[15] = 640 (the message length: 80 bytes = 640 bits).
 *   hash       SHA-256(SHA-256(header)); the second hash reads the first
 *              digest as W[0..7] with W[8] = 0x80000000, W[15] = 256 bits.
 *   target     the hash meets it when, read as a 256-bit little-endian
 *              integer, it is <= target. Limb 7 (the most significant 32
 *              bits) is bswap32 of the last digest word H7.
 *
 * Two scans
 *   early  computes the second hash only as far as H7 (rounds 61-63 and every
 *          word they alone need are dead code) and keeps the lanes whose limb 7
 *          is <= the target's: exact for limb 7, so the host re-checks all 256
 *          bits of the few that pass. Used when the target's limb 7 is small,
 *          as it is for every difficulty >= 1 (limb 7 = 0).
 *   full   computes the whole digest and compares all eight limbs, for easy
 *          targets (regtest's 207fffff, fractional pool difficulties) where
 *          the early filter would let most lanes through.
 */
#include "portable.h" /* lane types: again for every copy on the host */
#include "sha256.cuh"

#ifndef SPILLWAY_SHA256D_JOB
#define SPILLWAY_SHA256D_JOB

/* Everything a scan needs that does not depend on the nonce (33 words). */
typedef struct spw_job {
    uint32_t midstate[8];  /* state after header bytes 0..63 (block 1) */
    uint32_t block2[3];    /* W[0..2] of block 2: header bytes 64..75 */
    uint32_t prehash[8];   /* block-2 state after rounds 0-3, less W[3] in a and e */
    uint32_t preextend[6]; /* nonce-free parts of W[16..19], W[31], W[32] */
    uint32_t target[8];    /* target limbs, limb 7 most significant */
} spw_job;

#define SPW_PRE_W16 0
#define SPW_PRE_W17 1
#define SPW_PRE_W18 2 /* W[18] - ssig0(W[3]) */
#define SPW_PRE_W19 3 /* W[19] - W[3] */
#define SPW_PRE_W31 4 /* W[31] - ssig1(W[29]) - W[24] */
#define SPW_PRE_W32 5 /* W[32] - ssig1(W[30]) - W[25] */

/* Padding words of block 2 of the first hash (index = t), folded into K by the compiler. */
#define SPW_PAD1(t) ((t) == 4 ? 0x80000000u : (t) == 15 ? 640u : 0u)
/* Padding words of the second hash's only block. */
#define SPW_PAD2(t) ((t) == 8 ? 0x80000000u : (t) == 15 ? 256u : 0u)

#if !SPW_CUDA
static uint32_t spw_load_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/*
 * Host precompute, once per header:
 *   midstate   block 1 (header bytes 0..63) compressed from the IV
 *   prehash    rounds 0-2 of block 2 and round 3 without its W[3] term
 *   preextend  the message-schedule terms that do not involve W[3]
 */
static void spw_job_prepare(spw_job *job, const unsigned char header[76], const uint32_t target[8])
{
    uint32_t block[16];
    uint32_t w0, w1, w2, w16, w17, t1;
    uint32_t a, b, c, d, e, f, g, h;
    int i;

    /* midstate */
    for (i = 0; i < 8; i++) job->midstate[i] = 0;
    job->midstate[0] = SHA256_IV0; job->midstate[1] = SHA256_IV1;
    job->midstate[2] = SHA256_IV2; job->midstate[3] = SHA256_IV3;
    job->midstate[4] = SHA256_IV4; job->midstate[5] = SHA256_IV5;
    job->midstate[6] = SHA256_IV6; job->midstate[7] = SHA256_IV7;
    for (i = 0; i < 16; i++) block[i] = spw_load_be32(header + 4 * i);
    sha256_transform(job->midstate, block);

    /* prehash: rounds 0-2, then round 3 with W[3] = 0 */
    w0 = spw_load_be32(header + 64);
    w1 = spw_load_be32(header + 68);
    w2 = spw_load_be32(header + 72);
    job->block2[0] = w0; job->block2[1] = w1; job->block2[2] = w2;
    a = job->midstate[0]; b = job->midstate[1]; c = job->midstate[2]; d = job->midstate[3];
    e = job->midstate[4]; f = job->midstate[5]; g = job->midstate[6]; h = job->midstate[7];
    SHA256_ROUND(a, b, c, d, e, f, g, h, SHA256_K[0] + w0);
    SHA256_ROUND(h, a, b, c, d, e, f, g, SHA256_K[1] + w1);
    SHA256_ROUND(g, h, a, b, c, d, e, f, SHA256_K[2] + w2);
    /* round 3 names: a=f b=g c=h d=a e=b f=c g=d h=e */
    t1 = e + SHA256_BSIG1(b) + SHA256_CH(b, c, d) + SHA256_K[3];
    job->prehash[0] = t1 + SHA256_BSIG0(f) + SHA256_MAJ(f, g, h); /* new a, less W[3] */
    job->prehash[1] = f; job->prehash[2] = g; job->prehash[3] = h;
    job->prehash[4] = a + t1;                                      /* new e, less W[3] */
    job->prehash[5] = b; job->prehash[6] = c; job->prehash[7] = d;

    /* preextend: W[t] = ssig1(W[t-2]) + W[t-7] + ssig0(W[t-15]) + W[t-16] */
    w16 = SHA256_SSIG0(w1) + w0;                     /* W[14] = W[9] = 0 */
    w17 = SHA256_SSIG1(640u) + SHA256_SSIG0(w2) + w1; /* W[10] = 0 */
    job->preextend[SPW_PRE_W16] = w16;
    job->preextend[SPW_PRE_W17] = w17;
    job->preextend[SPW_PRE_W18] = SHA256_SSIG1(w16) + w2;                    /* W[11] = 0 */
    job->preextend[SPW_PRE_W19] = SHA256_SSIG1(w17) + SHA256_SSIG0(0x80000000u); /* W[12] = 0 */
    job->preextend[SPW_PRE_W31] = SHA256_SSIG0(w16) + 640u;
    job->preextend[SPW_PRE_W32] = SHA256_SSIG0(w17) + w16;

    for (i = 0; i < 8; i++) job->target[i] = target[i];
}
#endif /* !SPW_CUDA */
#endif /* SPILLWAY_SHA256D_JOB */

/* Four rounds t..t+3; the names come back rotated by four. */
#define SHA256_4ROUNDS(a, b, c, d, e, f, g, h, t, KW)                         \
    do {                                                                      \
        SHA256_ROUND(a, b, c, d, e, f, g, h, KW((t) + 0));                    \
        SHA256_ROUND(h, a, b, c, d, e, f, g, KW((t) + 1));                    \
        SHA256_ROUND(g, h, a, b, c, d, e, f, KW((t) + 2));                    \
        SHA256_ROUND(f, g, h, a, b, c, d, e, KW((t) + 3));                    \
    } while (0)

/*
 * Double SHA-256 of one lane group (SPW_LANES nonces), then the target test.
 * Returns all-ones in each lane whose hash may meet the target: exactly for
 * `full`, as a limb-7 filter otherwise. `full` is a constant at every call
 * site, so each scan is compiled without the other's code.
 */
SPW_DEVICE spw_mask SPW_FN(spw_sha256d_test)(const spw_job *job, spw_word nonce, const int full)
{
    spw_word w[16];
    spw_word a, b, c, d, e, f, g, h;
    spw_word w3 = SPW_BSWAP32(nonce);
    spw_word h1[8];

    /* scan: block 2 of the first hash, from round 4 */
    a = SPW_SPLAT(job->prehash[0]) + w3;
    b = SPW_SPLAT(job->prehash[1]);
    c = SPW_SPLAT(job->prehash[2]);
    d = SPW_SPLAT(job->prehash[3]);
    e = SPW_SPLAT(job->prehash[4]) + w3;
    f = SPW_SPLAT(job->prehash[5]);
    g = SPW_SPLAT(job->prehash[6]);
    h = SPW_SPLAT(job->prehash[7]);
    /* rounds 4-15 read only padding words: K[t] + W[t] is one constant;
     * after four rounds the names are rotated by four (e holds a) */
#define SPW_KW_PAD1(t) (SHA256_K[t] + SPW_PAD1(t))
    SHA256_4ROUNDS(a, b, c, d, e, f, g, h, 4, SPW_KW_PAD1);
    SHA256_8ROUNDS(e, f, g, h, a, b, c, d, 8, SPW_KW_PAD1);
#undef SPW_KW_PAD1
    /* W[16..19] from the preextend; slots 4..15 still hold the padding */
    w[0] = SPW_SPLAT(job->preextend[SPW_PRE_W16]);
    w[1] = SPW_SPLAT(job->preextend[SPW_PRE_W17]);
    w[2] = SPW_SPLAT(job->preextend[SPW_PRE_W18]) + SHA256_SSIG0(w3);
    w[3] = SPW_SPLAT(job->preextend[SPW_PRE_W19]) + w3;
#define SPW_FILL(t) (w[t] = SPW_SPLAT(SPW_PAD1(t)))
    SPW_FILL(4); SPW_FILL(5); SPW_FILL(6); SPW_FILL(7); SPW_FILL(8); SPW_FILL(9);
    SPW_FILL(10); SPW_FILL(11); SPW_FILL(12); SPW_FILL(13); SPW_FILL(14); SPW_FILL(15);
#undef SPW_FILL
#define SPW_W1(t)                                                                        \
    ((t) < 20    ? w[(t) & 15]                                                           \
     : (t) == 31 ? (w[15] = SPW_SPLAT(job->preextend[SPW_PRE_W31]) + SHA256_SSIG1(w[13]) + w[8]) \
     : (t) == 32 ? (w[0] = SPW_SPLAT(job->preextend[SPW_PRE_W32]) + SHA256_SSIG1(w[14]) + w[9])  \
                 : SHA256_EXPAND(w, t))
#define SPW_KW1(t) (SHA256_K[t] + SPW_W1(t))
    SHA256_4ROUNDS(e, f, g, h, a, b, c, d, 16, SPW_KW1);
    SHA256_8ROUNDS(a, b, c, d, e, f, g, h, 20, SPW_KW1);
    SHA256_8ROUNDS(a, b, c, d, e, f, g, h, 28, SPW_KW1);
    SHA256_8ROUNDS(a, b, c, d, e, f, g, h, 36, SPW_KW1);
    SHA256_8ROUNDS(a, b, c, d, e, f, g, h, 44, SPW_KW1);
    SHA256_8ROUNDS(a, b, c, d, e, f, g, h, 52, SPW_KW1);
    SHA256_4ROUNDS(a, b, c, d, e, f, g, h, 60, SPW_KW1);
#undef SPW_KW1
#undef SPW_W1
    /* 60 rounds since round 4 leave the names rotated by four: e holds a */
    h1[0] = e + job->midstate[0]; h1[1] = f + job->midstate[1];
    h1[2] = g + job->midstate[2]; h1[3] = h + job->midstate[3];
    h1[4] = a + job->midstate[4]; h1[5] = b + job->midstate[5];
    h1[6] = c + job->midstate[6]; h1[7] = d + job->midstate[7];

    /* scan: the second hash, from the IV; rounds 0-7 fold the IV into constants */
    w[0] = h1[0]; w[1] = h1[1]; w[2] = h1[2]; w[3] = h1[3];
    w[4] = h1[4]; w[5] = h1[5]; w[6] = h1[6]; w[7] = h1[7];
#define SPW_FILL(t) (w[t] = SPW_SPLAT(SPW_PAD2(t)))
    SPW_FILL(8); SPW_FILL(9); SPW_FILL(10); SPW_FILL(11);
    SPW_FILL(12); SPW_FILL(13); SPW_FILL(14); SPW_FILL(15);
#undef SPW_FILL
    a = SPW_SPLAT(SHA256_IV0); b = SPW_SPLAT(SHA256_IV1);
    c = SPW_SPLAT(SHA256_IV2); d = SPW_SPLAT(SHA256_IV3);
    e = SPW_SPLAT(SHA256_IV4); f = SPW_SPLAT(SHA256_IV5);
    g = SPW_SPLAT(SHA256_IV6); h = SPW_SPLAT(SHA256_IV7);
#define SPW_KW2(t) (SHA256_K[t] + ((t) < 16 ? w[t] : SHA256_EXPAND(w, t)))
    SHA256_8ROUNDS(a, b, c, d, e, f, g, h, 0, SPW_KW2);
    SHA256_8ROUNDS(a, b, c, d, e, f, g, h, 8, SPW_KW2);
    SHA256_8ROUNDS(a, b, c, d, e, f, g, h, 16, SPW_KW2);
    SHA256_8ROUNDS(a, b, c, d, e, f, g, h, 24, SPW_KW2);
    SHA256_8ROUNDS(a, b, c, d, e, f, g, h, 32, SPW_KW2);
    SHA256_8ROUNDS(a, b, c, d, e, f, g, h, 40, SPW_KW2);
    SHA256_8ROUNDS(a, b, c, d, e, f, g, h, 48, SPW_KW2);
    SHA256_4ROUNDS(a, b, c, d, e, f, g, h, 56, SPW_KW2);
    /* round 60 leaves the final e in h: after rounds 61-63 it is the final h */
    SHA256_ROUND(e, f, g, h, a, b, c, d, SPW_KW2(60));
    if (!full) {
        /* early: H7 = IV7 + h_64 = IV7 + e_61; limb 7 = bswap32(H7) */
        spw_word limb7 = SPW_BSWAP32(h + SHA256_IV7);
        return SPW_MASK_LE(limb7, job->target[7]);
    } else {
        spw_word limb;
        spw_mask lt, eq;
        SHA256_ROUND(d, e, f, g, h, a, b, c, SPW_KW2(61));
        SHA256_ROUND(c, d, e, f, g, h, a, b, SPW_KW2(62));
        SHA256_ROUND(b, c, d, e, f, g, h, a, SPW_KW2(63));
        /* full: compare limbs from the most significant; limb i = bswap32(H[i]) */
#define SPW_LIMB(i, state, iv)                                                \
    limb = SPW_BSWAP32((state) + (iv));                                       \
    lt = lt | (eq & SPW_MASK_LT(limb, job->target[i]));                       \
    eq = eq & SPW_MASK_EQ(limb, job->target[i])
        lt = SPW_MASK_LT(SPW_SPLAT(1), SPW_SPLAT(0)); /* all lanes false */
        eq = SPW_MASK_EQ(SPW_SPLAT(0), SPW_SPLAT(0)); /* all lanes true */
        SPW_LIMB(7, h, SHA256_IV7);
        SPW_LIMB(6, g, SHA256_IV6);
        SPW_LIMB(5, f, SHA256_IV5);
        SPW_LIMB(4, e, SHA256_IV4);
        SPW_LIMB(3, d, SHA256_IV3);
        SPW_LIMB(2, c, SHA256_IV2);
        SPW_LIMB(1, b, SHA256_IV1);
        SPW_LIMB(0, a, SHA256_IV0);
#undef SPW_LIMB
        return lt | eq;
    }
#undef SPW_KW2
}

#if SPW_CUDA
/* The job of the current launch; the host writes it before each launch. */
__constant__ spw_job spw_job_c;

/*
 * results[0] counts candidates (it may pass `capacity`: the host then scans
 * the range again with room for all); results[1 + i] holds their nonces.
 * Each thread walks the range with a grid-sized stride, several nonces each.
 */
#define SPW_SCAN_KERNEL(name, full)                                                       \
    extern "C" __global__ void name(uint32_t nonce_start, uint32_t count, uint32_t *results, \
                                    uint32_t capacity)                                    \
    {                                                                                     \
        uint32_t stride = gridDim.x * blockDim.x;                                         \
        uint32_t i;                                                                       \
        for (i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {        \
            uint32_t nonce = nonce_start + i;                                             \
            if (spw_sha256d_test(&spw_job_c, nonce, full)) {                              \
                uint32_t slot = atomicAdd(results, 1u);                                   \
                if (slot < capacity) results[1 + slot] = nonce;                           \
            }                                                                             \
        }                                                                                 \
    }
SPW_SCAN_KERNEL(sha256d_scan_early, 0)
SPW_SCAN_KERNEL(sha256d_scan_full, 1)
#undef SPW_SCAN_KERNEL
#endif
