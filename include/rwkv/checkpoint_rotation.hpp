// Checkpoints during a run. The save path always holds the latest; with keep_last > 0 each save
// is first written as a numbered file beside it ("run/model.h5", step 100:
// "run/model-step000100.h5"), then published to the save path as an atomic copy, and only the
// newest keep_last numbered files stay. Every write is atomic (checkpoint.hpp), so a killed run
// leaves each file either old or new, never half-written.
#pragma once

#include <functional>
#include <string>

namespace rwkv {

std::string numbered_checkpoint_path(const std::string& save, long step);

// Deletes the numbered checkpoints of `save` beyond the newest `keep` (by step); other files of
// the directory stay.
void prune_numbered_checkpoints(const std::string& save, int keep);

// Saves the checkpoint of `step` by calling write(path) as the rules above say.
void save_rotated(const std::string& save, int keep_last, long step, const std::function<void(const std::string&)>& write);

}  // namespace rwkv
