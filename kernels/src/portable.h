/*
 * portable.h - one kernel source, two compilers.
 *
 * The nonce-search kernel (sha256d_scan.cu) is written once, in the subset of
 * C that is also CUDA C++. This header maps its few platform words:
 *
 *   spw_word      one 32-bit SHA-256 word per nonce lane: uint32_t on the GPU
 *                 (one nonce per thread), a GCC/Clang vector of SPW_LANES
 *                 uint32_t on the host (SPW_LANES nonces per call)
 *   spw_mask      a lane mask: all ones where a condition holds
 *   SPW_SPLAT(x)  a scalar broadcast to every lane
 *   SPW_AUTO      a local whose type follows its initialiser (rounds are
 *                 written once for scalar precompute and vector scans)
 *   SPW_DEVICE    an always-inlined helper; SPW_CONST_TABLE a read-only table
 *
 * Under NVRTC there are no system headers, so fixed-width types are spelled
 * out here instead of coming from <stdint.h>.
 */
#ifndef SPILLWAY_PORTABLE_H
#define SPILLWAY_PORTABLE_H

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define SPW_CUDA 1
typedef unsigned int uint32_t;
#define SPW_DEVICE static __device__ __forceinline__
#define SPW_CONST_TABLE static __device__ const
#define SPW_AUTO auto
#else
#define SPW_CUDA 0
#include <stdint.h>
#define SPW_DEVICE static inline __attribute__((always_inline))
#define SPW_CONST_TABLE static const
#define SPW_AUTO __auto_type
#endif

#endif /* SPILLWAY_PORTABLE_H */

/*
 * The lane types are (re)defined on every inclusion after the guard: the CPU
 * build includes the kernel once per instruction set (16, 8 and 4 lanes) and
 * names each copy's types and functions, see cpu_scan.c.
 */
#if SPW_CUDA
#ifndef SPILLWAY_PORTABLE_LANES_CUDA
#define SPILLWAY_PORTABLE_LANES_CUDA
typedef uint32_t spw_word;
typedef uint32_t spw_mask;
#define SPW_FN(name) name
#define SPW_LANES 1
#define SPW_SPLAT(x) ((uint32_t)(x))
/* SHF.R.W: one funnel-shift instruction per rotate on every SM since 3.2. */
#define SPW_ROTR(x, n) __funnelshift_r((x), (x), (n))
#define SPW_BSWAP32(x) __byte_perm((x), 0u, 0x0123u)
#define SPW_MASK_LE(x, y) ((x) <= (y) ? 0xffffffffu : 0u)
#define SPW_MASK_LT(x, y) ((x) < (y) ? 0xffffffffu : 0u)
#define SPW_MASK_EQ(x, y) ((x) == (y) ? 0xffffffffu : 0u)
#endif
#else /* host */
/* The includer names this copy's types and functions: SPW_LANES, SPW_FN,
 * spw_word and spw_mask (see cpu_scan.c). */
#if !defined(SPW_LANES) || !defined(SPW_FN) || !defined(spw_word) || !defined(spw_mask)
#error "define SPW_LANES, SPW_FN, spw_word and spw_mask before including the kernel on the host"
#endif
typedef uint32_t spw_word __attribute__((vector_size(4 * SPW_LANES)));
typedef int32_t spw_mask __attribute__((vector_size(4 * SPW_LANES)));
#define SPW_SPLAT(x) (((spw_word){0}) + (uint32_t)(x))
/* Compilers turn this into one rotate where the instruction set has one. */
#define SPW_ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define SPW_BSWAP32(x) \
    ((((x) << 24)) | (((x) << 8) & 0x00ff0000u) | (((x) >> 8) & 0x0000ff00u) | ((x) >> 24))
/* Vector comparisons already yield all-ones lanes (as signed ints). */
#define SPW_MASK_LE(x, y) ((spw_mask)((x) <= (y)))
#define SPW_MASK_LT(x, y) ((spw_mask)((x) < (y)))
#define SPW_MASK_EQ(x, y) ((spw_mask)((x) == (y)))
#endif
