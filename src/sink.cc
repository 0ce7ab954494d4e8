#include "groupcache/sink.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace groupcache {

Status Sink::SetString(std::string value, Time expire) {
  return Fill(ByteView(std::move(value), expire));
}

Status Sink::SetBytes(std::string_view bytes, Time expire) {
  return Fill(ByteView::Copy(bytes, expire));
}

Status Sink::AlreadyFilled() {
  return FailedPreconditionError("sink already filled: a getter must fill its sink once");
}

Status StringSink::Store(const ByteView& value) {
  dst_->assign(value.data(), value.size());
  if (expire_ != nullptr) *expire_ = value.expire();
  return {};
}

Status ByteViewSink::Store(const ByteView& value) {
  *dst_ = value;
  return {};
}

Status AllocatingBytesSink::Store(const ByteView& value) {
  const auto* p = reinterpret_cast<const uint8_t*>(value.data());
  *dst_ = std::vector<uint8_t>(p, p + value.size());
  return {};
}

Status TruncatingBytesSink::Store(const ByteView& value) {
  value_size_ = value.size();
  written_ = std::min(buffer_.size(), value.size());
  if (written_ > 0) std::memcpy(buffer_.data(), value.data(), written_);
  return {};
}

}  // namespace groupcache
