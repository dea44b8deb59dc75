// Identifier rules for composition scripts.
#pragma once

#include <string>
#include <string_view>

#include "cos/limits.hpp"

namespace composer {

/// Maximum length of system, component and interface names (bytes): what
/// the info page holds (cos/limits.hpp).
inline constexpr size_t max_name_length = cos_limits::kMaxNameBytes;
/// Parameter keys: CompInfo::Param::key.
inline constexpr size_t max_param_key_length = cos_limits::kMaxParamKeyBytes;
/// Image names and file-name stems: "<stem>.elf" is a boot module's
/// command line, which the kernel keeps up to 47 bytes.
inline constexpr size_t max_image_stem_length = cos_limits::kMaxImageStemBytes;

/// `files` names: the blob "file.<name>" must fit CompInfo::Blob::name.
inline constexpr size_t max_file_name_length = cos_limits::kMaxBlobNameBytes - 5;  // "file."

/// Kinds of names, each with its own character rule.
enum class NameKind {
  system,     ///< [a-z][a-z0-9_-]*, <= 31 chars
  component,  ///< [a-z][a-z0-9_]*, <= 31 chars
  interface,  ///< [a-z][a-z0-9_]*, <= 31 chars
  param,      ///< [a-z][a-z0-9_]*, <= 31 chars
  image,      ///< bare image name: [a-z][a-z0-9_-]*, <= 43 chars
  channel,    ///< [[channel]] name: [a-z][a-z0-9_]*, <= 31 chars
  file,       ///< `files` entry name: [a-z][a-z0-9_]*, <= 26 chars (blob "file.<name>")
};

/// True if `name` satisfies the rule for `kind`.
bool valid_name(NameKind kind, std::string_view name);

/// Message for an invalid name, e.g. "invalid component name 'Foo' (must
/// match [a-z][a-z0-9_]* and be at most 31 characters)".
std::string invalid_name_message(NameKind kind, std::string_view name);

}  // namespace composer
