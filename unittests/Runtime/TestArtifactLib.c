//===- TestArtifactLib.c - Hand-written stand-in for compiled code --------===//
//
// Entry points that follow the artifact calling convention (one array of
// memref descriptor pointers, arguments then results), so that the loader and
// the descriptor layout can be tested without running the compiler.
//
//===----------------------------------------------------------------------===//

#include <stdint.h>

typedef struct {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} MemRef2F32;

typedef struct {
  float *allocated;
  float *aligned;
  int64_t offset;
} MemRef0F32;

typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[3];
  int64_t strides[3];
} MemRef3Any;

typedef struct {
  int64_t *allocated;
  int64_t *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} MemRef1I64;

static float *at(const MemRef2F32 *m, int64_t i, int64_t j) {
  return m->aligned + m->offset + i * m->strides[0] + j * m->strides[1];
}

/// out = a + b for rank-2 f32 tensors of one shape.
void megalodon_entry_add(void **descriptors) {
  const MemRef2F32 *a = descriptors[0];
  const MemRef2F32 *b = descriptors[1];
  const MemRef2F32 *out = descriptors[2];
  for (int64_t i = 0; i < out->sizes[0]; ++i)
    for (int64_t j = 0; j < out->sizes[1]; ++j)
      *at(out, i, j) = *at(a, i, j) + *at(b, i, j);
}

/// A rank-0 result: the sum of every element of a rank-2 f32 tensor.
void megalodon_entry_sum(void **descriptors) {
  const MemRef2F32 *x = descriptors[0];
  const MemRef0F32 *out = descriptors[1];
  float total = 0;
  for (int64_t i = 0; i < x->sizes[0]; ++i)
    for (int64_t j = 0; j < x->sizes[1]; ++j)
      total += *at(x, i, j);
  out->aligned[out->offset] = total;
}

/// Copies the descriptor fields of its rank-3 argument into a [9] i64 result:
/// allocated == aligned, aligned % 64, offset, sizes, strides.
void megalodon_entry_inspect(void **descriptors) {
  const MemRef3Any *t = descriptors[0];
  const MemRef1I64 *out = descriptors[1];
  int64_t fields[9] = {t->allocated == t->aligned,
                       (int64_t)((uintptr_t)t->aligned % 64),
                       t->offset,
                       t->sizes[0],
                       t->sizes[1],
                       t->sizes[2],
                       t->strides[0],
                       t->strides[1],
                       t->strides[2]};
  for (int64_t i = 0; i < 9; ++i)
    out->aligned[out->offset + i * out->strides[0]] = fields[i];
}
