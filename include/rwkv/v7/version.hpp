// The RWKV-7 version tag: Model<v7, ExecSpace, Scalar> and the other v7 files specialize on it.
#pragma once

namespace rwkv {

struct v7 {
  static constexpr const char* name = "rwkv-7";  // the checkpoint attribute 'arch'
  static constexpr const char* flag = "v7";      // --arch
};

}  // namespace rwkv
