/*
 * cpu_scan.c - the CPU fallback: the GPU kernel's own source, compiled by the
 * host C compiler into the extension module kernels._cpu.
 *
 * sha256d_scan.cu is included once per instruction set, each copy compiled
 * for its target and named by suffix: _avx512 (16 lanes), _avx2 (8 lanes) and
 * _portable (4 lanes of the compiler's generic vectors: SSE2 on x86-64, NEON
 * on Arm, scalar code elsewhere). cpu_shani.h adds the SHA-NI path. Which ones
 * this processor can run is read from CPUID at import; which one is fastest is
 * measured by the Python side (kernels/backend.py), not assumed.
 *
 * The scan runs without the GIL; Python threads split a range across cores.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define SPW_X86 1
#include <cpuid.h>
#else
#define SPW_X86 0
#endif

#define SPW_STR(x) #x
#if defined(__clang__)
#define SPW_TARGET_PUSH(isa) \
    _Pragma(SPW_STR(clang attribute push(__attribute__((target(isa))), apply_to = function)))
#define SPW_TARGET_POP _Pragma("clang attribute pop")
#else
#define SPW_TARGET_PUSH(isa) _Pragma("GCC push_options") _Pragma(SPW_STR(GCC target(isa)))
#define SPW_TARGET_POP _Pragma("GCC pop_options")
#endif

/* Candidates of one scan call, gathered without the GIL. */
typedef struct spw_results {
    uint32_t *nonce;
    size_t len, cap;
    int out_of_memory;
} spw_results;

static void spw_emit(spw_results *r, uint32_t nonce)
{
    if (r->len == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        uint32_t *grown = (uint32_t *)realloc(r->nonce, cap * sizeof(uint32_t));
        if (grown == NULL) {
            r->out_of_memory = 1;
            return;
        }
        r->nonce = grown;
        r->cap = cap;
    }
    r->nonce[r->len++] = nonce;
}

/*
 * One instantiation of the kernel: the vector scan over [start, start+count).
 * The lane group past the end of the range is computed and its extra lanes
 * dropped, so any count works and no nonce past the range is reported.
 */
#define SPW_DEFINE_VECTOR_SCAN                                                          \
    static inline __attribute__((always_inline)) void SPW_FN(spw_scan_impl)(            \
        const spw_job *job, uint32_t start, uint64_t count, spw_results *out,           \
        const int full)                                                                 \
    {                                                                                   \
        spw_word lane;                                                                  \
        uint64_t i;                                                                     \
        int l;                                                                          \
        for (l = 0; l < SPW_LANES; l++) lane[l] = (uint32_t)l;                          \
        for (i = 0; i < count; i += SPW_LANES) {                                        \
            spw_word nonce = SPW_SPLAT(start + (uint32_t)i) + lane;                     \
            spw_mask hit = SPW_FN(spw_sha256d_test)(job, nonce, full);                  \
            int32_t any = 0;                                                            \
            for (l = 0; l < SPW_LANES; l++) any |= hit[l];                              \
            if (!any) continue;                                                         \
            for (l = 0; l < SPW_LANES; l++) {                                           \
                if (hit[l] && i + (uint64_t)l < count) spw_emit(out, nonce[l]);         \
            }                                                                           \
        }                                                                               \
    }                                                                                   \
    static void SPW_FN(spw_scan)(const spw_job *job, uint32_t start, uint64_t count,     \
                                 int full, spw_results *out)                            \
    {                                                                                   \
        if (full) {                                                                     \
            SPW_FN(spw_scan_impl)(job, start, count, out, 1);                           \
        } else {                                                                        \
            SPW_FN(spw_scan_impl)(job, start, count, out, 0);                           \
        }                                                                               \
    }

/* _portable: 4 lanes, baseline instructions */
#define SPW_LANES 4
#define SPW_FN(name) name##_portable
#define spw_word spw_word_portable
#define spw_mask spw_mask_portable
#include "sha256d_scan.cu"
SPW_DEFINE_VECTOR_SCAN
#undef SPW_LANES
#undef SPW_FN
#undef spw_word
#undef spw_mask

#if SPW_X86
/* _avx2: 8 lanes */
SPW_TARGET_PUSH("avx2")
#define SPW_LANES 8
#define SPW_FN(name) name##_avx2
#define spw_word spw_word_avx2
#define spw_mask spw_mask_avx2
#include "sha256d_scan.cu"
SPW_DEFINE_VECTOR_SCAN
#undef SPW_LANES
#undef SPW_FN
#undef spw_word
#undef spw_mask
SPW_TARGET_POP

/* _avx512: 16 lanes; AVX-512F has the rotate and three-input logic ops */
SPW_TARGET_PUSH("avx512f")
#define SPW_LANES 16
#define SPW_FN(name) name##_avx512
#define spw_word spw_word_avx512
#define spw_mask spw_mask_avx512
#include "sha256d_scan.cu"
SPW_DEFINE_VECTOR_SCAN
#undef SPW_LANES
#undef SPW_FN
#undef spw_word
#undef spw_mask
SPW_TARGET_POP

SPW_TARGET_PUSH("sha,sse4.1")
#include "cpu_shani.h"
SPW_TARGET_POP
#endif /* SPW_X86 */

/* ------------------------------------------------------------------------ */
/* which paths this processor runs                                          */

typedef void (*spw_scan_fn)(const spw_job *, uint32_t, uint64_t, int, spw_results *);

typedef struct spw_path {
    const char *name;
    spw_scan_fn scan;
    int supported;
} spw_path;

static spw_path spw_paths[] = {
#if SPW_X86
    {"sha-ni", spw_scan_shani, 0},
    {"avx512", spw_scan_avx512, 0},
    {"avx2", spw_scan_avx2, 0},
#endif
    {"portable", spw_scan_portable, 1},
};
#define SPW_NPATHS ((int)(sizeof(spw_paths) / sizeof(spw_paths[0])))

#if SPW_X86
static uint64_t spw_xgetbv0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static void spw_detect_paths(void)
{
    unsigned int a, b, c, d;
    unsigned int b7 = 0;
    int osxsave, avx_state = 0, avx512_state = 0, sse41;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    sse41 = (c >> 19) & 1;
    osxsave = (c >> 27) & 1;
    if (osxsave && ((c >> 28) & 1)) {
        uint64_t xcr0 = spw_xgetbv0();
        avx_state = (xcr0 & 0x6) == 0x6;          /* XMM and YMM state saved */
        avx512_state = (xcr0 & 0xe6) == 0xe6;     /* and opmask, ZMM_Hi256, Hi16_ZMM */
    }
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b7, c, d);
    }
    spw_paths[0].supported = ((b7 >> 29) & 1) && sse41;             /* SHA */
    spw_paths[1].supported = ((b7 >> 16) & 1) && avx512_state;      /* AVX512F */
    spw_paths[2].supported = ((b7 >> 5) & 1) && avx_state;          /* AVX2 */
}
#else
static void spw_detect_paths(void) {}
#endif

/* ------------------------------------------------------------------------ */
/* Python face                                                              */

static PyObject *py_prepare(PyObject *self, PyObject *args)
{
    const unsigned char *header, *target_le;
    Py_ssize_t header_len, target_len;
    uint32_t target[8];
    spw_job job;
    int i;
    (void)self;
    if (!PyArg_ParseTuple(args, "y#y#:prepare", &header, &header_len, &target_le, &target_len))
        return NULL;
    if (header_len != 76 && header_len != 80) {
        PyErr_Format(PyExc_ValueError, "header must be 76 or 80 bytes, got %zd", header_len);
        return NULL;
    }
    if (target_len != 32) {
        PyErr_Format(PyExc_ValueError, "target must be 32 little-endian bytes, got %zd", target_len);
        return NULL;
    }
    for (i = 0; i < 8; i++) {
        const unsigned char *p = target_le + 4 * i;
        target[i] = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                    ((uint32_t)p[3] << 24);
    }
    spw_job_prepare(&job, header, target);
    return PyBytes_FromStringAndSize((const char *)&job, sizeof(job));
}

static PyObject *py_scan(PyObject *self, PyObject *args)
{
    const char *job_bytes, *path_name;
    Py_ssize_t job_len;
    unsigned long long start, count;
    int full, i;
    spw_job job;
    spw_scan_fn scan = NULL;
    spw_results results = {NULL, 0, 0, 0};
    PyObject *list;
    size_t k;
    (void)self;
    if (!PyArg_ParseTuple(args, "y#KKsp:scan", &job_bytes, &job_len, &start, &count, &path_name,
                          &full))
        return NULL;
    if (job_len != (Py_ssize_t)sizeof(spw_job)) {
        PyErr_Format(PyExc_ValueError, "job must be %zu bytes from prepare(), got %zd",
                     sizeof(spw_job), job_len);
        return NULL;
    }
    if (start > 0xffffffffull || count > 0x100000000ull - start) {
        PyErr_SetString(PyExc_ValueError, "nonce range must lie within 0..2**32-1");
        return NULL;
    }
    for (i = 0; i < SPW_NPATHS; i++) {
        if (strcmp(spw_paths[i].name, path_name) == 0) {
            if (!spw_paths[i].supported) {
                PyErr_Format(PyExc_ValueError, "path %s is not supported by this processor",
                             path_name);
                return NULL;
            }
            scan = spw_paths[i].scan;
        }
    }
    if (scan == NULL) {
        PyErr_Format(PyExc_ValueError, "unknown path %s", path_name);
        return NULL;
    }
    memcpy(&job, job_bytes, sizeof(job));
    Py_BEGIN_ALLOW_THREADS
    scan(&job, (uint32_t)start, (uint64_t)count, full, &results);
    Py_END_ALLOW_THREADS
    if (results.out_of_memory) {
        free(results.nonce);
        return PyErr_NoMemory();
    }
    list = PyList_New((Py_ssize_t)results.len);
    if (list != NULL) {
        for (k = 0; k < results.len; k++) {
            PyObject *n = PyLong_FromUnsignedLong(results.nonce[k]);
            if (n == NULL) {
                Py_CLEAR(list);
                break;
            }
            PyList_SET_ITEM(list, (Py_ssize_t)k, n);
        }
    }
    free(results.nonce);
    return list;
}

static PyObject *py_paths(PyObject *self, PyObject *unused)
{
    PyObject *list = PyList_New(0);
    int i;
    (void)self;
    (void)unused;
    if (list == NULL) return NULL;
    for (i = 0; i < SPW_NPATHS; i++) {
        if (!spw_paths[i].supported) continue;
        PyObject *name = PyUnicode_FromString(spw_paths[i].name);
        if (name == NULL || PyList_Append(list, name) < 0) {
            Py_XDECREF(name);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(name);
    }
    return list;
}

static PyMethodDef spw_methods[] = {
    {"prepare", py_prepare, METH_VARARGS,
     "prepare(header, target_le) -> job bytes: midstate, prehash, preextend, target."},
    {"scan", py_scan, METH_VARARGS,
     "scan(job, start, count, path, full) -> candidate nonces (re-check them on the host)."},
    {"paths", py_paths, METH_NOARGS, "paths() -> the scan paths this processor runs."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef spw_module = {
    PyModuleDef_HEAD_INIT, "kernels._cpu",
    "CPU build of the SHA-256d nonce-search kernel.", -1, spw_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cpu(void)
{
    PyObject *m;
    spw_detect_paths();
    m = PyModule_Create(&spw_module);
    if (m == NULL) return NULL;
    if (PyModule_AddIntConstant(m, "JOB_BYTES", (long)sizeof(spw_job)) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
