#include "groupcache/proto_sink.h"

#include <string>
#include <utility>

namespace groupcache {

Status ProtoSink::Store(const ByteView& value) {
  if (value.size() > static_cast<size_t>(INT32_MAX) ||
      !dst_->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return InvalidArgumentError("value does not parse as " + dst_->GetTypeName());
  }
  return {};
}

Status SetProto(Sink& dest, const google::protobuf::MessageLite& message, Time expire) {
  std::string bytes;
  if (!message.SerializeToString(&bytes)) {
    return InternalError("cannot serialise " + message.GetTypeName());
  }
  return dest.SetString(std::move(bytes), expire);
}

}  // namespace groupcache
