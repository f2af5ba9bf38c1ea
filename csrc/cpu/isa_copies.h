// Include the kernel header SB_ISA_KERNEL (a quoted file name) once per ISA path, each copy in its
// own namespace (isa_baseline, isa_avx2, isa_avx512, passed as SB_ISA_NS) and #pragma GCC target
// region; isa.h's active_isa() picks one at run time. The build itself targets baseline x86-64.
// No include guard on purpose: a translation unit includes this once per kernel.
#define SB_ISA_NS isa_baseline
#include SB_ISA_KERNEL
#undef SB_ISA_NS
#if SB_ISA_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define SB_ISA_NS isa_avx2
#include SB_ISA_KERNEL
#undef SB_ISA_NS
#pragma GCC pop_options
#pragma GCC push_options
// 512-bit vectors (GCC would otherwise prefer 256 on most AVX-512 parts).
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,prefer-vector-width=512")
#define SB_ISA_NS isa_avx512
#include SB_ISA_KERNEL
#undef SB_ISA_NS
#pragma GCC pop_options
#endif
#undef SB_ISA_KERNEL
