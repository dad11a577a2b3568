// The one place that maps an architecture to its version. Programs reach Model<Version, Space,
// Scalar> through with_arch (from a checkpoint's 'arch' attribute or --arch), and code shared by
// every version instantiates itself for each through RWKV_FOR_EACH_VERSION. A new version adds its
// tag to both lists below, besides its own files (docs/DESIGN.md, "Adding a version").
#pragma once

#include <rwkv/tensor_spec.hpp>
#include <rwkv/v4/model.hpp>
#include <rwkv/v7/model.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace rwkv {

template <class... Versions>
struct VersionList {};
using KnownVersions = VersionList<v4, v7>;
// MACRO(Version, ...) for every version; the extra arguments pass through (e.g. SPACE, SCALAR).
#define RWKV_FOR_EACH_VERSION(MACRO, ...) MACRO(rwkv::v4, __VA_ARGS__) MACRO(rwkv::v7, __VA_ARGS__)

// --arch's default, and the version of files written before checkpoints named theirs.
inline constexpr const char* default_arch = v4::name;

namespace detail {
template <class... Versions>
std::string known_arch_names(VersionList<Versions...>) {
  std::string names;
  ((names += std::string(names.empty() ? "" : ", ") + Versions::flag + " (" + Versions::name + ")"), ...);
  return names;
}

template <class F, class Version, class... Rest>
decltype(auto) with_arch_among(const std::string& arch, F& f) {
  if (arch == Version::name || arch == Version::flag) return f(Version{});
  if constexpr (sizeof...(Rest) > 0) {
    return with_arch_among<F, Rest...>(arch, f);
  } else {
    throw std::invalid_argument("unknown architecture '" + arch + "'; this build knows " +
                                known_arch_names(KnownVersions{}));
  }
}

template <class F, class... Versions>
decltype(auto) with_arch_in(VersionList<Versions...>, const std::string& arch, F& f) {
  return with_arch_among<F, Versions...>(arch, f);
}
}  // namespace detail

// Calls f(Version{}) for the version named `arch` (its checkpoint name, e.g. "rwkv-4", or its
// --arch flag, e.g. "v4"); every version's call must return the same type. Throws
// std::invalid_argument naming the known versions for any other name.
template <class F>
decltype(auto) with_arch(const std::string& arch, F&& f) {
  return detail::with_arch_in(KnownVersions{}, arch, f);
}

// The checkpoint name of `arch` (a name or a flag); throws as with_arch.
inline std::string arch_name(const std::string& arch) {
  return with_arch(arch, [](auto version) { return std::string(decltype(version)::name); });
}

// Whether config.arch's version has heads and LoRAs (its Version::head_shapes); throws as with_arch.
inline bool has_head_shapes(const ModelConfig& config) {
  return with_arch(config.arch, [](auto version) { return decltype(version)::head_shapes; });
}

// The tensors of config.arch's version.
inline std::vector<TensorSpec> tensor_specs(const ModelConfig& config) {
  return with_arch(config.arch, [&](auto version) { return tensor_specs(version, config); });
}

}  // namespace rwkv
