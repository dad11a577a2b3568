// One part of an RNN state as state files store it (checkpoint.hpp's save_state / load_state): a
// dataset name, the view, and the axis of the view that holds the slots.
#pragma once

namespace rwkv {

template <class View>
struct StatePart {
  const char* name;
  View view;
  int slot_axis;
};

}  // namespace rwkv
