// The RWKV-4 version tag: Model<v4, ExecSpace, Scalar> and the other v4 files specialize on it.
#pragma once

namespace rwkv {

struct v4 {
  static constexpr const char* name = "rwkv-4";  // the checkpoint attribute 'arch'
  static constexpr const char* flag = "v4";      // --arch
};

}  // namespace rwkv
