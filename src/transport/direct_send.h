// The I/O steps the server's answers and the client's requests share: a
// send tried at once, before (and usually instead of) Asio's composed
// write, whose completion is a trip through the scheduler and, on a Beast
// stream, an armed and cancelled timer per step; and a view of what a read
// buffer holds, for the short ways through HTTP heads (http_head.h).

#ifndef GROUPCACHE_SRC_TRANSPORT_DIRECT_SEND_H_
#define GROUPCACHE_SRC_TRANSPORT_DIRECT_SEND_H_

#include <boost/asio/error.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cstddef>
#include <string_view>

namespace groupcache::internal {

// One non-blocking send of `buffers` on `socket`, which must be in
// non-blocking mode (socket.non_blocking(true)): the bytes it took. A full
// send buffer is no error (0 sent, ec clear): the caller's composed write
// sends the rest. ec is set on a real failure.
template <class Socket, class Buffers>
size_t SendNow(Socket& socket, const Buffers& buffers, boost::beast::error_code& ec) {
  const size_t sent = socket.write_some(buffers, ec);
  if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) ec = {};
  return sent;
}

// What of `buffers` is left after the first `sent` bytes.
template <class Buffers>
boost::beast::buffers_suffix<Buffers> Unsent(const Buffers& buffers, size_t sent) {
  boost::beast::buffers_suffix<Buffers> rest(buffers);
  rest.consume(sent);
  return rest;
}

// The bytes a read buffer holds.
inline std::string_view Readable(const boost::beast::flat_buffer& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_TRANSPORT_DIRECT_SEND_H_
