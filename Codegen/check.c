/* Compiles every header of Codegen/ once, so `swift build` catches errors in them.
   Generated code includes these headers; this file is never linked into generated code. */
#include "sinter_prelude.h"
#include "sinter_simd.h"
#include "sinter_gemm.h"
#include "sinter_gemm_packed.h"
#include "sinter_rng.h"
#include "sinter_winograd.h"
#include "sinter_check.h"
