#include "lifecycle.h"

#include <string>

namespace groupcache::discovery::internal {
namespace {

std::string_view CallName(Call call) {
  switch (call) {
    case Call::kSetConfig: return "SetConfig";
    case Call::kInitialize: return "Initialize";
    case Call::kRegister: return "Register";
    case Call::kDeregister: return "Deregister";
    case Call::kDiscoverNodes: return "DiscoverNodes";
    case Call::kWatch: return "Watch";
  }
  return "?";
}

// What to do about a call made too early, or "" when the call is simply too
// late (after Initialize for SetConfig, after Close for anything).
std::string_view Hint(Call call, State state) {
  if (state == State::kClosed) return "the provider is closed";
  switch (state) {
    case State::kNew: return "call SetConfig first";
    case State::kConfigured: return "call Initialize first";
    case State::kInitialized:
      return call == Call::kDiscoverNodes ? "call Register first" : "already initialized";
    case State::kRegistered:
      return call == Call::kRegister ? "already registered" : "already initialized";
    case State::kClosed: break;
  }
  return "";
}

bool Valid(Call call, State state) {
  switch (call) {
    case Call::kSetConfig: return state == State::kNew || state == State::kConfigured;
    case Call::kInitialize: return state == State::kConfigured;
    case Call::kRegister: return state == State::kInitialized;
    case Call::kDeregister: return state != State::kNew && state != State::kConfigured;
    case Call::kDiscoverNodes: return state == State::kRegistered;
    case Call::kWatch: return state == State::kInitialized || state == State::kRegistered;
  }
  return false;
}

}  // namespace

std::string_view StateName(State state) {
  switch (state) {
    case State::kNew: return "new";
    case State::kConfigured: return "configured";
    case State::kInitialized: return "initialized";
    case State::kRegistered: return "registered";
    case State::kClosed: return "closed";
  }
  return "?";
}

Status CheckCall(std::string_view provider_id, Call call, State state) {
  if (Valid(call, state)) return Status::Ok();
  std::string m(provider_id);
  m += " discovery: ";
  m += CallName(call);
  m += " is not valid when ";
  m += StateName(state);
  m += " (";
  m += Hint(call, state);
  m += ")";
  return FailedPreconditionError(std::move(m));
}

}  // namespace groupcache::discovery::internal
