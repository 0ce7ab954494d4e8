// Protocol buffer adapters for sinks: ProtoSink delivers a value into a
// message, SetProto fills any sink from one. Part of the groupcache::proto
// target, the only public header that names protobuf types.
//
// Example (a getter that produces a message):
//   return groupcache::SetProto(dest, user_record);
// and a caller that wants it back:
//   UserRecord rec;
//   groupcache::ProtoSink sink(&rec);
//   Status s = group->Get(ctx, "user/42", sink);

#ifndef GROUPCACHE_PROTO_SINK_H_
#define GROUPCACHE_PROTO_SINK_H_

#include <google/protobuf/message_lite.h>

#include "groupcache/sink.h"

namespace groupcache {

// Parses the value into *dst (replacing its contents). A value that does not
// parse as the message type makes the fill fail with InvalidArgument.
class ProtoSink final : public Sink {
 public:
  explicit ProtoSink(google::protobuf::MessageLite* dst) : dst_(dst) {}

 private:
  Status Store(const ByteView& value) override;
  google::protobuf::MessageLite* dst_;
};

// Fills `dest` with the serialised `message`. Errors: Internal if the
// message cannot be serialised (missing required fields), else the sink's.
Status SetProto(Sink& dest, const google::protobuf::MessageLite& message, Time expire = kNoExpiry);

}  // namespace groupcache

#endif  // GROUPCACHE_PROTO_SINK_H_
