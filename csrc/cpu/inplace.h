#pragma once
// A tensor an op updates in place, in any memory layout (channels_last, strided views): the
// kernel reads and writes a contiguous buffer (the tensor itself when it is contiguous) and
// commit() copies the buffer back otherwise.
#include <torch/types.h>

namespace shortcutbench {

class InPlace {
 public:
  explicit InPlace(const at::Tensor& t) : dst_(t), buf_(t.is_contiguous() ? t : t.contiguous()) {}
  const at::Tensor& buf() const { return buf_; }
  template <typename T>
  T* data() const { return buf_.data_ptr<T>(); }
  void commit() const {
    if (!buf_.is_same(dst_)) dst_.copy_(buf_);
  }

 private:
  at::Tensor dst_, buf_;
};

}  // namespace shortcutbench
